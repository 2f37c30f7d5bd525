"""Unit tests of one SQL model on given rows: the model's direct inputs in, its rows out.

Once per session, a plain in-memory DuckDB (not the lake: the tests say nothing about storage)
gets every raw and bookkeeping table (warehouse/db.py ensure_schema), the rule pack
(ref_rules, ref_rule_params), the seeds, the SQL functions, and every model as an EMPTY table
with the column types its SQL gives, made in dependency order. A test then names a model, gives
rows for some of the tables it reads, and says which rows come out:

    check_model("int_regions", given={"int_region_sources": [...], "int_contests": [...]},
                expected=[{"region_code": "64", "source_kind": "node"}])

- Only tables the model reads directly (`Model.reads`) may be given: a model is tested on its own
  inputs, never through the models below it.
- A table not given is empty; a column not given is NULL. The rule tables and seeds are the
  exception: they hold the shipped rule pack and seed files unless the test gives rows for them,
  which then replace them (a test of a threshold states the threshold).
- Rows out are compared on the columns the expected rows name, as sorted lists, so row order
  and unnamed columns do not matter; every row out must be expected.
- Each check runs in a transaction that is rolled back: tests never see each other's rows.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import duckdb
import pytest

from warehouse import models
from warehouse.db import ensure_schema

Rows = list[dict[str, Any]]
# Filled once per session from the rule pack and sql/seeds/: replaced, not added to, when given.
PRELOADED = frozenset({*models.RULE_TABLES, *(path.stem for path in (models.SQL_DIR / "seeds").glob("*.csv"))})


@cache
def _warehouse() -> tuple[duckdb.DuckDBPyConnection, dict[str, models.Model]]:
    con = duckdb.connect()
    ensure_schema(con)
    models.load_rule_pack(con, models.load_rules(None))
    models.load_seeds(con)
    models.create_macros(con, folder="functions")
    found = {}
    for model in models.discover():
        con.execute(f"create table {model.name} as select * from (\n{model.sql}\n) limit 0")
        found[model.name] = model
    return con, found


def connection() -> duckdb.DuckDBPyConnection:
    """The session's warehouse: every model as an empty table, typed as its SQL makes it."""
    return _warehouse()[0]


def model(name: str) -> models.Model:
    _, found = _warehouse()
    if name not in found:
        pytest.fail(f"no model {name!r} in sql/ (models: {', '.join(sorted(found))})")
    return found[name]


def run_model(name: str, given: dict[str, Rows]) -> Rows:
    """The rows model `name` makes from the given rows of its direct inputs (every column)."""
    con, _ = _warehouse()
    tested = model(name)
    not_read = sorted(set(given) - tested.reads)
    if not_read:
        pytest.fail(
            f"{name} does not read {', '.join(not_read)} directly; give rows only for its direct inputs: "
            f"{', '.join(sorted(tested.reads))}"
        )
    con.begin()
    try:
        for table, rows in given.items():
            _insert(con, table, rows)
        result = con.execute(tested.sql)
        columns = [column[0] for column in result.description]
        return [dict(zip(columns, row)) for row in result.fetchall()]
    finally:
        con.rollback()


def check_model(name: str, given: dict[str, Rows], expected: Rows) -> None:
    """Assert that model `name`, on the given input rows, makes exactly the expected rows
    (compared on the columns the expected rows name; order does not matter)."""
    got = run_model(name, given)
    if not expected:
        assert got == [], f"{name}: expected no rows"
        return
    columns = list(expected[0])
    for row in expected:
        assert list(row) == columns, f"every expected row must name the same columns, in order: {columns} vs {list(row)}"
    if got:
        missing = [c for c in columns if c not in got[0]]
        assert not missing, f"{name} has no column(s) {missing}; it has {list(got[0])}"
    projected = _sorted([{c: row[c] for c in columns} for row in got])
    expected = _sorted(expected)
    if projected != expected:
        # Plain asserts in this module are not rewritten by pytest: say what differs ourselves.
        missing = [row for row in expected if row not in projected]
        unexpected = [row for row in projected if row not in expected]
        pytest.fail(
            f"{name} made other rows than expected (on columns {columns}).\n"
            + "".join(f"  expected, not made: {row}\n" for row in missing)
            + "".join(f"  made, not expected: {row}\n" for row in unexpected)
            + ("" if missing or unexpected else f"  same rows, other multiplicities: made {projected}\n"),
            pytrace=False,
        )


def _sorted(rows: Rows) -> Rows:
    # None sorts first within a column, without comparing None to a value.
    return sorted(rows, key=lambda row: [(value is not None, value) for value in row.values()])


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Rows) -> None:
    known = [name for (name,) in con.execute(
        "select column_name from duckdb_columns() where table_name = ? and database_name = current_database() order by column_index",
        [table],
    ).fetchall()]  # fmt: skip
    if not known:
        pytest.fail(f"no table {table!r}")
    columns = list(dict.fromkeys(column for row in rows for column in row))
    unknown = [c for c in columns if c not in known]
    if unknown:
        pytest.fail(f"{table} has no column(s) {unknown}; it has {known}")
    if table in PRELOADED:
        con.execute(f"delete from {table}")
    if not rows:
        return
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(
        f"insert into {table} ({', '.join(columns)}) values ({placeholders})",
        [[row.get(c) for c in columns] for row in rows],
    )
