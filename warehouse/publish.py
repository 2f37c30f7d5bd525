"""Publish a run by committing it; record a failed run; keep the lake's storage bounded.

A run writes everything inside one lake transaction, so publishing is the commit: the marts it
rebuilt appear in one snapshot, all or nothing, and a reader attached to the lake sees either
the previous snapshot or this one. No file is copied or renamed. A killed run never commits;
the Parquet files it had begun are orphans that the next upkeep deletes.

Retention: raw tables are append-only, so every raw version stays in the current snapshot
forever. The marts are rebuilt each night; the snapshots of the last `keep_nights` published
runs stay readable (`rekap query --at`), older ones are expired and their files deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from warehouse import storage
from warehouse.db import ensure_schema
from warehouse.load import finish_run, start_run

log = logging.getLogger("rekap")
COMMIT_AUTHOR = "rekap"
RUN_MESSAGE = "rekap run "  # + run id: how a published run's snapshot is found again
COMPACT_FILES_PER_TABLE = 4  # merge once a table holds more files than this that merging can join
# Only files smaller than this are merged, into each other: a table's big files are never
# rewritten to take in a night's few appended rows, so a merge costs what the nights appended
# (merging into them rewrote the whole raw layer every other night: 1.2-1.6 s at 100,000 TPS).
MERGE_BELOW_BYTES = 2**20


def commit_run(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Commit the run's transaction with its id as the snapshot's message; the snapshot id."""
    con.execute(f"call {storage.LAKE}.set_commit_message(?, ?)", [COMMIT_AUTHOR, RUN_MESSAGE + run_id])
    con.commit()
    return storage.snapshot_id(con)


def record_failed_run(location: storage.Location, run_id: str, error: str) -> None:
    """Add the failed run's row to the last published state, so `runs` says what failed."""
    with storage.connect(location) as con:
        con.begin()
        ensure_schema(con)
        con.execute("delete from runs where run_id = ?", [run_id])
        start_run(con, run_id, [])
        finish_run(con, run_id, "failed", error)
        con.execute(f"call {storage.LAKE}.set_commit_message(?, ?)", [COMMIT_AUTHOR, f"rekap run {run_id} failed"])
        con.commit()


def mergeable_files(con: duckdb.DuckDBPyConnection) -> int:
    """The most live data files of one table that merging could join: those smaller than
    MERGE_BELOW_BYTES without deletes (DuckLake merges no file with deletes, and a model table's
    files gain deletes night after night). Counting every file instead started a merge that
    found nothing, every night of a season (1.7 s a night at 100,000 TPS). A few rows deleted at
    once are kept in the catalog (inlined), not in a delete file: a file with only those counts
    here, and a merge may be tried for nothing."""
    meta = f"__ducklake_metadata_{storage.LAKE}"
    (most,) = con.execute(
        f"""select coalesce(max(files), 0) from (
                select count(*) as files from {meta}.ducklake_data_file as f
                where f.end_snapshot is null and f.file_size_bytes < {MERGE_BELOW_BYTES} and not exists (
                    select 1 from {meta}.ducklake_delete_file as d where d.data_file_id = f.data_file_id and d.end_snapshot is null)
                group by f.table_id)"""
    ).fetchone()  # fmt: skip
    return most


@dataclass(frozen=True)
class Upkeep:
    files_merged: int
    snapshots_expired: int
    files_deleted: int


def maintain(con: duckdb.DuckDBPyConnection, keep_nights: int) -> Upkeep:
    """Compact small files, expire snapshots older than the last `keep_nights` published runs,
    delete the files no snapshot reads any more (and a killed run's orphans)."""
    lake = storage.LAKE
    merged = 0
    # Compacting reads every table's file list: worth it only once small files have piled up
    # (each night appends a few per raw table), not every night.
    if mergeable_files(con) > COMPACT_FILES_PER_TABLE:
        merged = len(con.execute(f"call ducklake_merge_adjacent_files('{lake}', max_file_size => {MERGE_BELOW_BYTES})").fetchall())
    published = con.execute(
        f"select snapshot_id from {lake}.snapshots() where commit_message like ? order by snapshot_id desc",
        [RUN_MESSAGE + "%"],
    ).fetchall()  # fmt: skip
    expired = 0
    if keep_nights > 0 and len(published) > keep_nights:
        oldest_kept = published[keep_nights - 1][0]
        versions = [s for (s,) in con.execute(f"select snapshot_id from {lake}.snapshots() where snapshot_id < ?", [oldest_kept]).fetchall()]
        # These functions act only when their rows are read: `select count(*) from ...` over them
        # is a dry run. Call and fetch.
        expired = len(con.execute(f"call ducklake_expire_snapshots('{lake}', versions => ?)", [versions]).fetchall())
    deleted = len(con.execute(f"call ducklake_cleanup_old_files('{lake}', cleanup_all => true)").fetchall())
    # Files no snapshot knows: a killed run's. A day's grace, because on a shared catalog another
    # machine's run in progress has files the catalog does not know yet either.
    deleted += len(con.execute(f"call ducklake_delete_orphaned_files('{lake}', older_than => now() - interval 1 day)").fetchall())
    return Upkeep(merged, expired, deleted)
