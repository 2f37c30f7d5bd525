"""Order-independent checksums of tables, for "same inputs, same marts" comparisons.

Columns that name a run or a moment of observation (run ids, load times) differ between two
runs of the same inputs by design; they are left out so the checksum speaks of the data.
"""

from __future__ import annotations

import duckdb

RUN_COLUMNS = frozenset({"run_id", "source_run_id", "observed_at", "quarantined_at", "started_at", "ended_at"})


def table_checksum(con: duckdb.DuckDBPyConnection, table: str, exclude: frozenset[str] = RUN_COLUMNS) -> str:
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where table_name = ? order by column_index", [table]
        ).fetchall()
        if name not in exclude
    ]
    if not columns:
        raise ValueError(f"no table {table!r} (or no columns left to compare)")
    row = ", ".join(f'"{c}" := "{c}"' for c in columns)
    (digest,) = con.execute(
        f"select md5(coalesce(string_agg(row_text, chr(10) order by row_text), '')) "
        f"from (select cast(struct_pack({row}) as varchar) as row_text from {table})"
    ).fetchone()
    return digest
