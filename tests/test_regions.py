"""Region codes in Python (schemas/regions.py) and their SQL twins (sql/functions/region_*.sql) agree."""

from __future__ import annotations

import duckdb

from schemas import regions
from warehouse import models

# Kaltim's Samarinda, down to one of its TPS, and codes of no level's length.
CODES = ["0", "64", "6472", "647201", "6472011001", "6472011001001", "647", "", "64720110010011"]


def test_a_regions_parent_in_python_is_the_sql_macros() -> None:
    assert [regions.parent(code) for code in CODES] == [None, "0", "64", "6472", "647201", "6472011001", None, None, None]
    con = duckdb.connect()
    models.create_macros(con, models.SQL_DIR, "functions")
    assert [con.execute("select region_parent(?)", [code]).fetchone()[0] for code in CODES] == [regions.parent(code) for code in CODES]


def test_a_codes_chain_runs_from_its_province_down_to_it() -> None:
    assert regions.chain("6472011001001") == ["64", "6472", "647201", "6472011001", "6472011001001"]
    assert regions.chain("64") == ["64"]
