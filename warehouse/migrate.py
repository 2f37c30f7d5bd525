"""`rekap migrate`: copy a single-file DuckDB warehouse from before DuckLake into a lake.

Only what cannot be rebuilt is copied: every raw version and observation, the runs and the
quarantine. The models are rebuilt from them in the same transaction, so the new lake's first
snapshot holds the same marts the old file published.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from schemas.counts import COUNT_TABLES
from schemas.raw import RAW_TABLES
from warehouse import models, publish, storage
from warehouse.db import BOOKKEEPING, ensure_schema, fill_current_files

COPIED = (*RAW_TABLES, *COUNT_TABLES, *(t for t in BOOKKEEPING if t != "raw_files_current"))


class MigrationError(RuntimeError):
    """An old warehouse that cannot be migrated, or a target that already holds data."""


def migrate_file(old: Path, target: storage.Location) -> dict[str, int]:
    old = Path(old).resolve()
    with open(old, "rb") as handle:
        if handle.read(12)[8:12] != storage.DUCKDB_MAGIC:
            raise MigrationError(f"{old} is not a DuckDB database file")
    if target.exists() and target.catalog_file is not None and target.catalog_file.stat().st_size:
        raise MigrationError(f"{target} exists: migrate into a new warehouse")
    with storage.connect(target) as con:
        try:
            # ATTACH takes no parameters: the path is quoted as a literal.
            con.execute("attach '" + str(old).replace("'", "''") + "' as old_warehouse (read_only)")
        except duckdb.Error as exc:
            raise MigrationError(f"cannot open {old}: {str(exc).splitlines()[0]}") from exc
        present = {name for (name,) in con.execute("select table_name from duckdb_tables() where database_name = 'old_warehouse'").fetchall()}
        missing = [t for t in ("raw_documents", "raw_observations", "runs") if t not in present]
        if missing:
            raise MigrationError(f"{old} is not a rekap warehouse: no {', '.join(missing)} table")
        copied = {}
        con.begin()
        ensure_schema(con)
        for table in COPIED:
            if table in present:
                con.execute(f"insert into {table} by name select * from old_warehouse.main.{table}")
                copied[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
        fill_current_files(con)  # each file's latest raw_files row (none before raw_files existed)
        models.build(con)
        con.execute(f"call {storage.LAKE}.set_commit_message(?, ?)", [publish.COMMIT_AUTHOR, f"rekap migrate {old}"])
        con.commit()
        con.execute("detach old_warehouse")
    return copied
