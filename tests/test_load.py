"""Loading in batches (bounded memory at national scale) gives what loading at once gives."""

from __future__ import annotations

from pathlib import Path

from flows.pipeline import run_night
from flows.settings import Settings
from tests.shared import KALTIM_0100, KALTIM_1015
from warehouse.checksum import mart_checksum
from warehouse.db import connect

TABLES = ("raw_documents", "raw_observations", "raw_child_votes", "province_totals", "region_winners", "node_history")


def load(warehouse: Path, chunk_records: int | None) -> tuple[dict[str, str], tuple]:
    result = run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_0100, KALTIM_1015), chunk_records=chunk_records)).load
    with connect(warehouse, read_only=True) as con:
        sums = {table: mart_checksum(con, table) for table in TABLES}
        run = con.execute("select files_read, records_read, records_loaded, records_quarantined, versions_new from runs").fetchone()
    return sums, (result, run)


def test_small_batches_load_the_same_warehouse_as_one_batch(tmp_path: Path) -> None:
    whole, (whole_result, whole_run) = load(tmp_path / "whole.duckdb", None)
    batched, (batched_result, batched_run) = load(tmp_path / "batched.duckdb", 7)  # 47 files -> 7 batches
    assert batched == whole
    assert batched_result == whole_result
    files = sum(1 for _ in KALTIM_0100.rglob("*.json")) + sum(1 for _ in KALTIM_1015.rglob("*.json"))
    # Two files are byte-identical between the snapshots: 45 versions for 47 files.
    assert batched_run == whole_run == (files, files, files, 0, files - 2)
