"""mart_checksum: equal business content, equal checksum; any business change, another one."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.checksum import business_columns, mart_checksum


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute(
            """create table totals (region_code varchar, votes bigint, share_pct double, tied integer[],
                                    source_file varchar, source_run_id varchar, loaded_at timestamp)"""
        )
        con.execute(
            """insert into totals values
               ('6401', 10, 55.5, null, '/a/64.json', 'run-1', '2024-11-28 02:00:00'),
               ('6402', null, null, [1, 2], '/a/6402.json', 'run-1', '2024-11-28 02:00:00')"""
        )
        yield con


def test_only_business_columns_count(con) -> None:
    assert business_columns(con, "totals") == ["region_code", "votes", "share_pct", "tied"]
    before = mart_checksum(con, "totals")
    con.execute("update totals set source_file = '/b/x.json', source_run_id = 'run-2', loaded_at = now()")
    assert mart_checksum(con, "totals") == before


def test_row_order_does_not_matter_but_every_value_does(con) -> None:
    before = mart_checksum(con, "totals")
    con.execute("create table shuffled as select * from totals order by region_code desc")
    assert mart_checksum(con, "shuffled") == before
    for change in ("votes = 11 where region_code = '6401'", "votes = 0 where region_code = '6402'",
                   "tied = [2, 1] where region_code = '6402'", "region_code = '6403' where region_code = '6402'"):  # fmt: skip
        con.execute("create or replace table changed as select * from totals")
        con.execute(f"update changed set {change}")
        assert mart_checksum(con, "changed") != before, change
    con.execute("insert into shuffled select * from totals limit 1")  # a duplicated row
    assert mart_checksum(con, "shuffled") != before


def test_an_unknown_table_is_an_error(con) -> None:
    with pytest.raises(ValueError, match="no table"):
        mart_checksum(con, "nope")
