"""The count-file readers the loader reads through: warehouse/counts.py checks and loads what
they read, and never imports them (the pipeline hands them over)."""

from __future__ import annotations

from pathlib import Path

from flows.sources.counts import ColumnConfig
from flows.sources.internal import read_internal
from flows.sources.official import read_official, total_mismatches
from schemas.rows import CountTable

READERS = {"internal": read_internal, "official": read_official}


class CountFiles:
    """Internal counts and official recaps, read through one column configuration."""

    def __init__(self, columns: Path | None = None):
        self.config = ColumnConfig.load(columns)

    def read(self, kind: str, path: Path) -> CountTable:
        return READERS[kind](path, self.config)

    def total_mismatches(self, table: CountTable) -> list[tuple[int, int, int]]:
        return total_mismatches(table)
