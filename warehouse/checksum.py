"""A checksum of a table over its business columns: equal content, equal checksum, whichever run,
file or moment produced it. Tests compare warehouses with it (a rebuild against the crawl that
filled the archive, a rerun against an uninterrupted run)."""

from __future__ import annotations

import hashlib

import duckdb

# Columns that say which run or file produced a row, not what the row says.
PROVENANCE_COLUMNS = frozenset({"run_id", "source_run_id", "source_file", "source_path", "locator"})
# Column types that record when something was loaded: a rebuild loads at another time.
TIME_TYPES = ("TIMESTAMP", "DATE", "TIME")


def business_columns(con: duckdb.DuckDBPyConnection, table: str, exclude: frozenset[str] = PROVENANCE_COLUMNS) -> list[str]:
    """The table's columns minus provenance and load-time columns, in table order."""
    rows = con.execute(
        "select column_name, data_type from duckdb_columns() where table_name = ? and schema_name = current_schema() order by column_index",
        [table],
    ).fetchall()
    if not rows:
        raise ValueError(f"no table named {table!r}")
    return [name for name, dtype in rows if name not in exclude and not dtype.upper().startswith(TIME_TYPES)]


def mart_checksum(con: duckdb.DuckDBPyConnection, table: str, exclude: frozenset[str] = PROVENANCE_COLUMNS) -> str:
    """MD5 over the table's rows (business columns only), independent of row order.

    Each row becomes its JSON (column names and values, so a null and an empty string differ),
    the rows' hashes are sorted and hashed together with the row count.
    """
    columns = business_columns(con, table, exclude)
    # Identifiers come from the catalogue (checked above), not from input: quote and interpolate.
    fields = ", ".join(f'"{c}" := "{c}"' for c in columns)
    (count, digest), = con.execute(
        f"""select count(*), coalesce(string_agg(row_hash, '' order by row_hash), '')
            from (select md5(to_json(struct_pack({fields}))::varchar) as row_hash from "{table}")"""
    ).fetchall()  # fmt: skip
    return hashlib.md5(f"{count}:{digest}".encode()).hexdigest()
