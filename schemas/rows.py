"""The row shapes the readers and the parser fill, which the contracts in this package check.

They live here, at the boundary, so that `flows/` (which fills them) and `warehouse/` (which
loads them) both depend on `schemas/`, and `schemas/` on neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

# A SIREKAP TPS node's `administrasi` block: _j/_l/_p = total/male/female.
ADMIN_FIELDS = (
    "suara_sah", "suara_tidak_sah", "suara_total",
    "pemilih_dpt_j", "pemilih_dpt_l", "pemilih_dpt_p",
    "pengguna_dpt_j", "pengguna_dpt_l", "pengguna_dpt_p",
    "pengguna_dptb_j", "pengguna_dptb_l", "pengguna_dptb_p",
    "pengguna_non_dpt_j", "pengguna_non_dpt_l", "pengguna_non_dpt_p",
    "pengguna_total_j", "pengguna_total_l", "pengguna_total_p",
)  # fmt: skip


@dataclass
class Rows:
    """Column-wise rows for each raw table, appended to by `parse_document`."""

    documents: list[dict] = field(default_factory=list)
    nodes: list[dict] = field(default_factory=list)
    node_votes: list[dict] = field(default_factory=list)
    child_rows: list[dict] = field(default_factory=list)
    child_votes: list[dict] = field(default_factory=list)
    tps_admin: list[dict] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)
    regions: list[dict] = field(default_factory=list)
    # Versions already parsed into these rows: a document seen twice yields its rows once.
    versions: set[str] = field(default_factory=set)


# A count file (internal count, official recap) as a reader types it.
ROW_SCHEMA = {
    "row_number": pl.Int64, "code": pl.Utf8, "level": pl.Utf8, "name": pl.Utf8, "is_total": pl.Boolean,
    "submitted_at": pl.Datetime("us"), "witness_id": pl.Utf8, "suara_sah": pl.Int64, "suara_tidak_sah": pl.Int64,
    "dpt": pl.Int64, "source_note": pl.Utf8,
}  # fmt: skip
VOTE_SCHEMA = {"row_number": pl.Int64, "nomor_urut": pl.Int64, "votes": pl.Int64, "column_name": pl.Utf8}
# What the warehouse remembers of a mirror file it loaded (a `raw_files` row, less its run): what
# warehouse/load.py record_files writes and a night's listing (flows/sources/mirror.py) compares.
FILE_SCHEMA = {"source_file": pl.Utf8, "size_bytes": pl.Int64, "mtime_ns": pl.Int64, "bytes_hash": pl.Utf8, "version_id": pl.Utf8}


@dataclass
class CountTable:
    """A count file, read and typed: one row per data row, one vote per row x ballot number with a number."""

    kind: str  # internal | official
    source_file: str
    content_hash: str
    file_format: str
    columns: dict[str, str]  # original header -> what it was read as
    rows: pl.DataFrame  # ROW_SCHEMA
    votes: pl.DataFrame  # VOTE_SCHEMA; an unknown cell has no row here (never a 0)
    ballot_labels: dict[int, str] = field(default_factory=dict)  # ballot number -> header it came from


class CountFileError(ValueError):
    """A count file that cannot be loaded at all: it goes to quarantine whole, with this message."""

    def __init__(self, path: Path | str, rule: str, reason: str, locator: str = "", code: str | None = None):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.rule = rule
        self.reason = reason
        self.locator = locator
        self.code = code
