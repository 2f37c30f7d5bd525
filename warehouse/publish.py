"""Build into a staging copy, publish with an atomic rename: readers never wait, never see half.

DuckDB lets one read-write process lock a file against every other process, readers included.
So a run never opens the published warehouse for writing: it copies it to a staging file next
to it, writes there, checkpoints, and `os.replace`s the staging file over the published one.
A reader that has the old file open keeps reading the old inode; a new reader opens the new
file. A run killed at any moment leaves the published file exactly as it was; its staging file
is swept by the next run.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.checkpoints import pause_point
from warehouse.db import ensure_schema
from warehouse.load import finish_run, start_run

STAGING_MARK = ".staging-"


def staging_path(warehouse: Path, run_id: str) -> Path:
    return warehouse.with_name(f"{warehouse.name}{STAGING_MARK}{run_id}")


def begin(warehouse: Path, run_id: str) -> Path:
    """A private, writable copy of the published warehouse (or a new file) for this run."""
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    sweep(warehouse)
    staging = staging_path(warehouse, run_id)
    if warehouse.exists():
        shutil.copyfile(warehouse, staging)
    return staging


def sweep(warehouse: Path) -> list[Path]:
    """Remove staging files that killed runs left behind (they were never published)."""
    leftovers = sorted(warehouse.parent.glob(f"{warehouse.name}{STAGING_MARK}*"))
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def publish(staging: Path, warehouse: Path) -> None:
    """Make the staging file the published warehouse, atomically."""
    # Fold the write-ahead log into the file first: only the file is renamed.
    with duckdb.connect(str(staging)) as con:
        con.execute("checkpoint")
    wal = staging.with_name(staging.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{wal} remains after checkpoint; refusing to publish a partial warehouse")
    _fsync(staging)
    pause_point("publish")  # the new warehouse is complete but not yet published
    os.replace(staging, warehouse)
    _fsync(warehouse.parent)


def discard(staging: Path) -> None:
    staging.unlink(missing_ok=True)
    staging.with_name(staging.name + ".wal").unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def writer_lock(warehouse: Path):
    """One run at a time per warehouse: a second one fails at once instead of racing the first."""
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another rekap run is writing {warehouse} (lock {lock_path})") from None
        yield


def record_failed_run(warehouse: Path, staging: Path, run_id: str, error: str) -> None:
    """Publish the last good warehouse plus the failed run's row, so `runs` says what failed."""
    row = None
    if staging.exists():
        try:
            with duckdb.connect(str(staging), read_only=True) as con:
                row = con.execute("select * from runs where run_id = ?", [run_id]).pl()
        except duckdb.Error:
            row = None  # a staging file broken mid-write tells nothing more than the error
    failure = begin(warehouse, f"{run_id}-failed")
    with duckdb.connect(str(failure)) as con:
        ensure_schema(con)
        if row is not None and row.height:
            con.execute("insert into runs by name select * from row")
        else:
            start_run(con, run_id, [])
        finish_run(con, run_id, "failed", error)
    publish(failure, warehouse)
