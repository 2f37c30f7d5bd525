"""Analysts' SQL on the warehouse, in a sandbox: read the lake, nothing else, write nothing.

Three walls, each enough on its own for what it guards:
1. the statement itself: only queries (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, PRAGMA reads,
   EXPLAIN) run; COPY, EXPORT, ATTACH, SET, INSTALL, LOAD, CALL and every write are refused;
2. the lake is attached READ_ONLY: no statement can change it;
3. DuckDB's own file access is switched off but for the lake's data folder, and the
   configuration is locked so that no SQL can switch it back (warehouse/storage.py sandbox).
A statement timeout and a memory limit keep one query from taking the machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl

from warehouse import storage

ALLOWED = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


class QueryRefused(RuntimeError):
    """A query rekap will not run, or that failed: the message is one line for the user."""


def check_statements(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(_first_line(exc)) from exc
    if len(statements) != 1:
        raise QueryRefused(f"refused: rekap query runs one statement at a time, not {len(statements)}")
    kind = statements[0].type
    if kind not in ALLOWED:
        raise QueryRefused(f"refused: rekap query is read-only, and {kind.name} statements can write or reach outside "
                           "the warehouse (to export a result, use --output FILE)")  # fmt: skip


def resolve_at(location: storage.Location, at: str | None) -> int | str | None:
    """`--at`: a snapshot number, a run id (the snapshot that published it) or a timestamp."""
    if at is None:
        return None
    if at.isascii() and at.isdigit():
        return int(at)
    if RUN_ID.match(at):
        with storage.connect(location, read_only=True) as con:
            row = con.execute(
                f"select snapshot_id from {storage.LAKE}.snapshots() where commit_message = ?", ["rekap run " + at]
            ).fetchone()  # fmt: skip
        if row is None:
            raise QueryRefused(f"--at {at}: no published run with that id (see `select run_id, status from runs`)")
        return row[0]
    return at


def run(location: storage.Location, sql: str, at: str | None = None, timeout: float | None = 300.0,
        memory_limit: str = "4GB") -> pl.DataFrame:  # fmt: skip
    snapshot = resolve_at(location, at)
    try:
        con = storage.connect(location, read_only=True, at=snapshot)
    except storage.WarehouseError as exc:
        raise QueryRefused(str(exc)) from exc
    try:
        storage.sandbox(con, location, memory_limit)
        check_statements(con, sql)
        with storage.statement_timeout(con, timeout) as timed_out:
            try:
                return con.execute(sql).pl()
            except duckdb.Error as exc:
                if timed_out():
                    raise QueryRefused(f"stopped after {timeout:g} s (--timeout)") from exc
                raise QueryRefused(str(exc).strip()) from exc  # DuckDB's whole message: its hints matter
    except duckdb.Error as exc:  # e.g. an invalid --memory-limit
        raise QueryRefused(_first_line(exc)) from exc
    finally:
        con.close()


def check_output(output: Path, location: storage.Location) -> None:
    """An export goes anywhere but over or inside the warehouse's own storage."""
    target = Path(output).resolve()
    catalog = location.catalog_file
    inside = [p for p in (catalog, location.data_path) if p is not None and (target == p or p in target.parents)]
    if inside or (catalog is not None and target.name.startswith(catalog.name)):
        raise QueryRefused(f"--output {output}: that is the warehouse's own storage; write somewhere else")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
