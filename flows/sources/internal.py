"""Read an internal count: the campaign's or watchdog's own tally from its witnesses' C.HASIL copies.

CSV, XLSX or Parquet; one row per TPS or per region (any level, mixed levels allowed), found by
its code; wide (`suara_paslon_01`, `suara_paslon_02`, ...) or long (code, candidate, votes);
optional suara_sah, suara_tidak_sah, DPT, witness id and submitted time. Column names map through
count_columns.toml. An empty cell is unknown, never zero. Several submissions for one code are
all kept (the models use the latest and flag disagreement between them).

    read_internal(Path("claim.csv")) -> CountTable, or raises CountFileError
"""

from __future__ import annotations

from pathlib import Path

from flows.sources.counts import ColumnConfig, CountTable, read_count_file

FIELDS = ("code", "name", "suara_sah", "suara_tidak_sah", "dpt", "witness_id", "submitted_at", "source_note", "candidate", "votes")


def read_internal(path: Path, config: ColumnConfig | None = None) -> CountTable:
    return read_count_file(Path(path), "internal", config or ColumnConfig.load(), FIELDS, long_form_ok=True)
