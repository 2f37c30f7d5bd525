"""SQL models on hand-made mirrors of a few nodes: precedence of sources, ties, the empty box,
missing-not-zero, and the model runner's own promises."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from schemas.counts import COUNT_TABLES
from schemas.raw import RAW_TABLES
from tests.shared import load_and_build
from warehouse import models
from warehouse.db import connect

TPS = "pemilu/hhcw/ppwp/31/3101/310101/3101011001/{}.json"
MASTER = {"pemilu/ppwp.json": {
    "100025": {"nama": "ANIES - MUHAIMIN", "nomor_urut": 1},
    "100026": {"nama": "PRABOWO - GIBRAN", "nomor_urut": 2},
    "100027": {"nama": "GANJAR - MAHFUD", "nomor_urut": 3},
}}  # fmt: skip


def tps(chart, ts="2024-02-15 10:00:00"):
    return {"chart": chart, "administrasi": None, "psu": None, "ts": ts}


def query(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_tps_only_mirror_rolls_up_and_a_tie_is_flagged_not_broken(make_mirror, tmp_path: Path) -> None:
    mirror = make_mirror(MASTER | {
        TPS.format("3101011001001"): tps({"null": None, "100025": 10, "100026": 7, "100027": 1}),
        TPS.format("3101011001002"): tps({"100025": 5, "100026": 8, "100027": 0}),
        TPS.format("3101011001003"): tps(None),
    })  # fmt: skip
    con = load_and_build(tmp_path / "w.duckdb", mirror)
    # 001 + 002 = 15 : 15 : 1 -> a tie between 01 and 02 at every level above the TPS.
    kelurahan = query(con, """select winner_nomor_urut, tie, tied_nomor_urut, winner_votes, margin_votes, valid_votes,
                                     tps_reported, tps_total, source_kind
                              from region_winners where region_code = '3101011001'""")
    assert kelurahan == [(None, True, [1, 2], 15, 0, 31, 2, 3, "tps_rollup")]
    assert query(con, "select votes, rank from province_totals order by nomor_urut") == [(15, 1), (15, 1), (1, 3)]
    # TPS 003 has no chart: a row without numbers, not a 0 : 0 : 0 tie.
    assert query(con, "select valid_votes, tie, tps_reported from region_winners where region_code = '3101011001003'") == [(None, None, 0)]
    con.close()


def test_a_regions_own_file_wins_over_its_parent_row_and_tps_rollup(make_mirror, tmp_path: Path) -> None:
    mirror = make_mirror({
        "pilkada/hhcw/pkwkp/64.json": {"tungsura": {
            "chart": {"1": 100, "2": 50, "progres": {"total": 10, "progres": 9}},
            "table": {"6401": {"1": 100, "2": 50, "progres": {"total": 10, "progres": 9}, "status_progress": True}}},
            "progres": {"total": 10, "progres": 9}, "ts": "t1"},
        # A later kab/kota file says more than the province's row for it (different moment of publication).
        "pilkada/hhcw/pkwkp/64/6401.json": {"tungsura": {
            "chart": {"1": 101, "2": 52, "progres": {"total": 10, "progres": 10}},
            "table": {"640101": {"1": 101, "2": 52, "progres": {"total": 10, "progres": 10}, "status_progress": True}}},
            "progres": {"total": 10, "progres": 10}, "ts": "t2"},
        "pilkada/hhcw/pkwkp/64/6401/640101/6401012001/6401012001001.json": {"tungsura": {"chart": {"1": 3, "2": 1}, "administrasi": None}, "ts": "t3"},
    })  # fmt: skip
    con = load_and_build(tmp_path / "w.duckdb", mirror)
    got = query(con, """select region_code, source_kind, valid_votes, tps_reported, tps_total from region_winners
                        where level in ('provinsi', 'kabkota', 'kecamatan', 'kelurahan') order by region_code""")
    assert got == [
        ("64", "node", 150, 9, 10),
        ("6401", "node", 153, 10, 10),
        ("640101", "parent_table", 153, 10, 10),
        ("6401012001", "tps_rollup", 4, 1, 1),
    ]
    # Without a candidate master, ids still work and names say so.
    assert query(con, "select candidate_id, nomor_urut, candidate_name from province_totals order by candidate_id") == [
        ("1", None, "candidate 1"), ("2", None, "candidate 2")
    ]
    con.close()


def test_the_empty_box_can_win_and_a_row_without_progress_is_no_data(make_mirror, tmp_path: Path) -> None:
    mirror = make_mirror({
        "pilkada/paslon/pkwkk.json": {"6472": {
            "1001094": {"nama": "ANDI HARUN - SAEFUDDIN ZUHRI", "nomor_urut": 2},
            "1001095": {"nama": "KOLOM KOSONG - ", "nomor_urut": 1}}},
        "pilkada/hhcw/pkwkk/64/6472.json": {"tungsura": {
            "chart": {"1001094": 40, "1001095": 60, "progres": {"total": 5, "progres": 4}},
            "table": {
                "647201": {"1001094": 40, "1001095": 60, "progres": {"total": 4, "progres": 4}, "status_progress": True},
                "647202": {"progres": {"total": 1, "progres": 0}, "status_progress": False}}},
            "progres": {"total": 5, "progres": 4}, "ts": "t"},
    })  # fmt: skip
    con = load_and_build(tmp_path / "w.duckdb", mirror)
    got = query(con, """select region_code, winner_nomor_urut, winner_name, runner_up_name, margin_votes, margin_pct, valid_votes
                        from region_winners order by region_code""")
    assert got == [
        ("6472", 1, "KOLOM KOSONG", "ANDI HARUN - SAEFUDDIN ZUHRI", 20, 20.0, 100),
        ("647201", 1, "KOLOM KOSONG", "ANDI HARUN - SAEFUDDIN ZUHRI", 20, 20.0, 100),
        ("647202", None, None, None, None, None, None),
    ]
    con.close()


def test_models_are_ordered_by_the_tables_their_sql_reads() -> None:
    order = [m.name for m in models.discover()]
    for model in models.discover():
        for dependency in model.reads:
            if dependency in order:
                assert order.index(dependency) < order.index(model.name), (model.name, dependency)
    assert {"province_totals", "region_winners"} <= set(order)


# Tables the pipeline writes, not models: each is read by exactly one staging model.
SOURCE_TABLES = frozenset({*RAW_TABLES, *COUNT_TABLES, "raw_observations"})
# runs is rekap's own log of its nights (warehouse/db.py BOOKKEEPING), not an export: it is written
# in the shape the models want, and a staging copy of it would be rebuilt every night, quiet ones
# included (test_incremental: a quiet night rebuilds corrections and corrections_summary only).
READ_OUTSIDE_STAGING = frozenset({"runs"})
# corrections compares the counts of two arbitrary versions of a node (before and after the
# latest run): no intermediate model keeps every version's votes and table rows, and one that
# only passed stg_node_votes, stg_child_rows and stg_child_votes through would be a copy.
MART_READS_STAGING = {"corrections": frozenset({"stg_node_votes", "stg_child_rows", "stg_child_votes"})}


def test_staging_models_each_read_one_raw_table_and_only_staging_reads_raw_tables() -> None:
    found = models.discover()
    layer = {model.name: model.layer for model in found}
    for model in found:
        if model.layer == "staging":
            assert model.name.startswith("stg_"), model.path
            assert len(model.reads) == 1 and model.reads <= SOURCE_TABLES, (
                f"{model.path}: a staging model reads exactly one raw table, this one reads {sorted(model.reads)}"
            )
        else:
            raw = {name for name in model.reads if name in SOURCE_TABLES or name.startswith("raw_") or name in ("runs", "quarantine")}
            assert raw <= READ_OUTSIDE_STAGING, f"{model.path} reads {sorted(raw)}: read the stg_ model instead"
            assert model.layer != "intermediate" or model.name.startswith("int_"), model.path
        if model.layer == "marts":
            staging = {name for name in model.reads if layer.get(name) == "staging"}
            assert staging <= MART_READS_STAGING.get(model.name, frozenset()), (
                f"{model.path} reads staging models {sorted(staging)}: marts read intermediate models"
            )
    # Every raw table the models use has its staging model, and only one.
    staged = [name for model in found if model.layer == "staging" for name in model.reads]
    assert len(staged) == len(set(staged)), sorted(staged)


def test_every_model_states_its_grain(tmp_path: Path) -> None:
    for model in models.discover():
        assert model.description.startswith("one row per"), model.path


def test_a_model_without_a_grain_header_is_refused(tmp_path: Path) -> None:
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "oops.sql").write_text("select 1 as x\n")
    with pytest.raises(models.ModelError, match="first line"):
        models.discover(tmp_path)


def test_a_cycle_between_models_is_refused(tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "a.sql").write_text("-- a: one row per x.\nselect * from b\n")
    (tmp_path / "staging" / "b.sql").write_text("-- b: one row per x.\nselect * from a\n")
    with pytest.raises(models.ModelError, match="cycle"):
        models.discover(tmp_path)


def test_the_tables_a_model_reads_are_kept_by_its_text_and_a_changed_file_is_parsed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "share" / "reads.json"
    monkeypatch.setattr(models, "READS_CACHE", cache)
    monkeypatch.setattr(models, "_reads_cache", functools.cache(models._reads_cache.__wrapped__))
    (tmp_path / "marts").mkdir()
    model = tmp_path / "marts" / "m.sql"
    model.write_text("-- m: one row per x.\nwith t as (select * from a) select * from t join b using (x)\n")
    assert models.parse_model(model, "marts").reads == {"a", "b"}
    kept = json.loads(cache.read_text())
    assert sorted(kept.values()) == [["a", "b"]]

    # Another text (the same file edited, so its size differs): parsed, not read from the cache.
    model.write_text("-- m: one row per x.\nselect * from c\n")
    assert models.parse_model(model, "marts").reads == {"c"}
    assert sorted(json.loads(cache.read_text()).values()) == [["a", "b"], ["c"]]

    # A cache that is not JSON is not used: the SQL is parsed.
    cache.write_text("{not json")
    monkeypatch.setattr(models, "_reads_cache", functools.cache(models._reads_cache.__wrapped__))
    model.write_text("-- m: one row per x.\nselect * from dd\n")
    assert models.parse_model(model, "marts").reads == {"dd"}


def test_audits_report_the_rows_that_break_a_promise(make_mirror, tmp_path: Path) -> None:
    mirror = make_mirror({
        "pilkada/hhcw/pkwkp/64.json": {"tungsura": {
            "chart": {"1": 100, "2": 50},
            "table": {"6401": {"1": 100, "2": 50, "status_progress": True}}}, "ts": "t"},
    })  # fmt: skip
    con = load_and_build(tmp_path / "w.duckdb", mirror)
    assert models.audit_failures(models.run_audits(con)) is None
    con.close()
    # A document whose chart contradicts its table never loads (chart_table_mismatch): the audit
    # guards rekap's own work, so break it as a bug in the loader would.
    with connect(tmp_path / "w.duckdb") as con:
        con.begin()  # one lake transaction, as a night's (in autocommit every statement is a commit)
        con.execute("update raw_child_votes set votes = 90 where candidate_id = '1'")
        models.build(con)
        failure = models.audit_failures(models.run_audits(con))
    assert failure is not None and "assert_chart_matches_table found 1 row" in failure


def test_mart_columns_are_documented_in_the_warehouse(make_mirror, tmp_path: Path) -> None:
    con = load_and_build(tmp_path / "w.duckdb", make_mirror(MASTER))
    undocumented = query(con, """select table_name, column_name from duckdb_columns()
                                 where table_name in ('province_totals', 'region_winners', 'runs', 'quarantine')
                                   and comment is null""")
    assert undocumented == []
    grains = query(con, "select table_name, comment from duckdb_tables() where table_name in ('province_totals', 'region_winners')")
    assert all("one row per" in comment for _, comment in grains)
    con.close()


def test_a_rebuilt_model_gets_its_difference_and_ends_equal_to_its_sql() -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("create table source (k varchar, v bigint, l bigint[])")
    con.execute("insert into source values ('a', 1, [1]), ('b', null, null), ('c', 3, [3, 3])")
    con.execute("insert into source select 'z' || i, i, [i] from range(7) as r(i)")
    model = models.Model("m", "marts", Path("m.sql"), "select k, v, l from source", "test", frozenset({"source"}))
    assert models.write_model(con, model) == "created"
    # b's NULL must match NULL (kept, not deleted and inserted again); c changes; d is new.
    con.execute("update source set v = 4 where k = 'c'")
    con.execute("insert into source values ('d', 5, [])")
    assert models.write_model(con, model) == "updated"
    assert sorted(query(con, "select * from m")) == sorted(query(con, "select k, v, l from source"))
    assert query(con, "select count(*) from m where k = 'b'") == [(1,)]
    # Most rows moved: written anew. A row twice: no set difference says which copy went.
    con.execute("update source set v = v + 100")
    assert models.write_model(con, model) == "replaced"
    con.execute("insert into source values ('a', 101, [1])")
    assert models.write_model(con, model) == "replaced"
    assert sorted(query(con, "select * from m")) == sorted(query(con, "select k, v, l from source"))
    con.execute("delete from source where k = 'd'")
    assert models.write_model(con, model) == "replaced"  # the SQL returns ('a', 101) twice
    assert sorted(query(con, "select * from m")) == sorted(query(con, "select k, v, l from source"))
    con.execute("delete from source where k = 'a'; insert into source values ('a', 101, [1])")
    assert models.write_model(con, model) == "replaced"  # the table holds it twice, the SQL once
    assert sorted(query(con, "select * from m")) == sorted(query(con, "select k, v, l from source"))
    # 10 rows, of which the SQL now returns 4: 6 went whatever they hold, so the table is written
    # anew without all its old rows read to be compared. Over 30% of n rows went once n - 4 > 0.3 n,
    # n >= 6: no more than 6 are read, which is enough to know. Then emptied the same way.
    con.execute("delete from source where k like 'z%' and k <> 'z0'")
    assert models.write_model(con, model) == "replaced"
    assert sorted(query(con, "select * from m")) == sorted(query(con, "select k, v, l from source"))
    assert query(con, "select count(*) from temp.main.rekap_model_old") == [(6,)]
    con.execute("delete from source")
    assert models.write_model(con, model) == "replaced"
    assert query(con, "select count(*) from m") == [(0,)]
    assert models.write_model(con, model) == "unchanged"


def test_a_model_is_written_whole_in_the_order_of_its_last_line_and_compared_without_it(tmp_path: Path) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("create table source (k varchar, v bigint)")
    con.execute("insert into source select 'k' || i, i from range(10) as r(i)")
    (tmp_path / "m.sql").write_text("-- m: one row per k.\nselect k, v from source\norder by v desc\n")
    model = models.parse_model(tmp_path / "m.sql", "marts")
    assert model.order == "v desc" and model.rows_sql.rstrip().endswith("select k, v from source")
    assert models.write_model(con, model) == "created"
    assert query(con, "select v from m") == [(v,) for v in range(9, -1, -1)]
    # One row moves: its difference is applied (the new row is the last one written).
    con.execute("update source set v = 100 where k = 'k0'")
    assert models.write_model(con, model) == "updated"
    assert query(con, "select v from m")[-1] == (100,)
    # Every row moves: written anew from the rows it compared, in its order again.
    con.execute("update source set v = v + 1000")
    assert models.write_model(con, model) == "replaced"
    assert query(con, "select v from m") == [(1100,), *((v,) for v in range(1009, 1000, -1))]


def test_a_diff_written_mart_is_checked_on_its_new_rows_and_its_whole_key() -> None:
    import duckdb
    import pandera.polars as pa

    class Contract(pa.DataFrameModel):
        code: str
        votes: int = pa.Field(ge=0)

        class Config:
            unique = ["code"]

    con = duckdb.connect()
    con.execute("create table mart (code varchar, votes bigint); insert into mart values ('a', 1), ('b', 2)")
    con.execute("create temp table added (code varchar, votes bigint); insert into added values ('c', -1)")
    with pytest.raises(models.ModelError, match="breaks its contract"):
        models.check_contract(con, "mart", Contract, "temp.main.added")
    con.execute("delete from added; insert into added values ('a', 5); insert into mart values ('a', 5)")
    with pytest.raises(models.ModelError, match="code repeated"):
        models.check_contract(con, "mart", Contract, "temp.main.added")


def test_a_whole_mart_is_checked_a_slice_at_a_time_and_its_key_across_the_slices(monkeypatch) -> None:
    import duckdb
    import pandera.polars as pa

    class Contract(pa.DataFrameModel):
        code: str
        votes: int = pa.Field(ge=0)

        class Config:
            strict = True
            unique = ["code"]

    monkeypatch.setattr(models, "CONTRACT_ROWS", 2)
    con = duckdb.connect()
    con.execute("create table mart (code varchar, votes bigint); insert into mart values ('a', 1), ('b', 2), ('c', 3), ('d', 4)")
    models.check_contract(con, "mart", Contract)
    con.execute("insert into mart values ('e', -1)")  # in the third slice
    with pytest.raises(models.ModelError, match="breaks its contract"):
        models.check_contract(con, "mart", Contract)
    con.execute("update mart set votes = 5 where code = 'e'; insert into mart values ('a', 6)")  # 'a' in the first slice and the last
    with pytest.raises(models.ModelError, match="code repeated"):
        models.check_contract(con, "mart", Contract)
    # An empty mart is checked for its columns.
    con.execute("create table empty_mart (code varchar, votes bigint, extra bigint)")
    with pytest.raises(models.ModelError, match="breaks its contract"):
        models.check_contract(con, "empty_mart", Contract)


def test_a_model_rebuilt_to_the_same_rows_rebuilds_nothing_downstream(tmp_path: Path) -> None:
    import duckdb

    for layer in models.LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "intermediate" / "int_a.sql").write_text("-- int_a: one row per k.\nselect k from raw_t group by k\n")
    (tmp_path / "marts" / "mart_b.sql").write_text("-- mart_b: one row per k.\nselect k, 1 as one from int_a\n")
    (tmp_path / "marts" / "mart_c.sql").write_text("-- mart_c: one row per k.\nselect k from raw_u\n")
    con = duckdb.connect()
    con.execute("create table raw_t (k varchar); create table raw_u (k varchar); insert into raw_t values ('x'); insert into raw_u values ('y')")
    assert {m.name for m in models.build(con, tmp_path)} == {"int_a", "mart_b", "mart_c"}
    # raw_t gains a row that int_a folds away: int_a is rebuilt, to the same rows; mart_b is not.
    con.execute("insert into raw_t values ('x')")
    assert [m.name for m in models.build(con, tmp_path, changed={"raw_t"})] == ["int_a"]
    con.execute("insert into raw_t values ('z')")
    assert [m.name for m in models.build(con, tmp_path, changed={"raw_t"})] == ["int_a", "mart_b"]
    assert query(con, "select k from mart_b order by k") == [("x",), ("z",)]


def test_the_code_fingerprints_tell_each_model_apart_and_what_every_model_reads_as_one(tmp_path: Path) -> None:
    for layer in (*models.LAYERS, "audits", "functions"):
        (tmp_path / layer).mkdir()
    (tmp_path / "intermediate" / "int_a.sql").write_text("-- int_a: one row per k.\nselect k from raw_t\n")
    (tmp_path / "marts" / "mart_b.sql").write_text("-- mart_b: one row per k.\nselect k from int_a\n")
    (tmp_path / "audits" / "assert_b.sql").write_text("-- assert_b: rows of mart_b without k.\nselect * from mart_b where k is null\n")
    (tmp_path / "functions" / "f.sql").write_text("create or replace macro f(x) as x;\n")
    before = models.code_fingerprints(tmp_path)
    assert set(before) == {models.SHARED, "int_a", "mart_b", "assert_b"}
    (tmp_path / "marts" / "mart_b.sql").write_text("-- mart_b: one row per k.\nselect distinct k from int_a\n")
    after = models.code_fingerprints(tmp_path)
    assert {name for name in before if before[name] != after[name]} == {"mart_b"}
    (tmp_path / "functions" / "f.sql").write_text("create or replace macro f(x) as x + 0;\n")
    assert {name for name in after if after[name] != models.code_fingerprints(tmp_path)[name]} == {models.SHARED}


def test_a_whole_build_drops_the_intermediate_table_of_a_model_sql_no_longer_holds(tmp_path: Path) -> None:
    import duckdb

    for layer in models.LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "intermediate" / "int_a.sql").write_text("-- int_a: one row per k.\nselect k from raw_t group by k\n")
    (tmp_path / "marts" / "mart_b.sql").write_text("-- mart_b: one row per k.\nselect k from int_a\n")
    con = duckdb.connect()
    con.execute("create table raw_t (k varchar); insert into raw_t values ('x'); create table int_mine (k varchar)")
    models.build(con, tmp_path)
    # int_a is renamed int_b: the next whole build leaves no int_a for a reader to take for tonight's.
    (tmp_path / "intermediate" / "int_a.sql").unlink()
    (tmp_path / "intermediate" / "int_b.sql").write_text("-- int_b: one row per k.\nselect k from raw_t group by k\n")
    (tmp_path / "marts" / "mart_b.sql").write_text("-- mart_b: one row per k.\nselect k from int_b\n")
    models.build(con, tmp_path, changed={"raw_t"})  # a night: nothing dropped
    assert "int_a" in {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    models.build(con, tmp_path)
    tables = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    assert "int_a" not in tables and {"int_b", "mart_b", "raw_t"} <= tables
    assert "int_mine" not in tables  # every int_* table is rekap's: the README says so


def keyed_project(tmp_path: Path) -> Path:
    """int_a sums raw_t per code; mart_b, keyed by code, joins it with a reference table read whole."""
    for layer in models.LAYERS:
        (tmp_path / layer).mkdir()
    (tmp_path / "intermediate" / "int_a.sql").write_text("-- int_a: one row per code.\nselect code, sum(v) as v from raw_t group by code\n")
    (tmp_path / "marts" / "mart_b.sql").write_text(
        "-- mart_b: one row per code.\n-- keyed by code: int_a.code; whole: raw_ref\n"
        "select int_a.code, int_a.v * raw_ref.factor as scaled from int_a cross join raw_ref\n"
    )
    return tmp_path


def record_scopes(monkeypatch) -> list[set[str]]:
    """The codes in SCOPE each time a keyed model is cut to them, in build order."""
    scopes: list[set[str]] = []
    scoped_sql = models.scoped_sql

    def spy(con, model, *held):
        scopes.append({key for (key,) in con.execute(f"select key from {models.SCOPE}").fetchall()})
        return scoped_sql(con, model, *held)

    monkeypatch.setattr(models, "scoped_sql", spy)
    return scopes


def test_a_model_whose_sql_changed_is_rebuilt_whole_and_what_reads_it_only_if_its_rows_moved(tmp_path: Path, monkeypatch) -> None:
    import duckdb

    project = keyed_project(tmp_path)
    (project / "marts" / "mart_c.sql").write_text("-- mart_c: one row per k.\nselect k from raw_u\n")
    monkeypatch.setattr(models, "KEYED_ABOVE", -1)  # mart_b would be cut to codes, were int_a not edited
    con = duckdb.connect()
    con.execute("create table raw_t (code varchar, v int); create table raw_ref (factor int); create table raw_u (k varchar)")
    con.execute("insert into raw_t select chr(97 + i::int), i + 1 from range(10) as t(i); insert into raw_ref values (10); insert into raw_u values ('x')")
    models.build(con, project)
    scopes = record_scopes(monkeypatch)
    # A comment added to int_a: rebuilt, to the same rows; nothing downstream.
    int_a = project / "intermediate" / "int_a.sql"
    int_a.write_text(int_a.read_text() + "-- summed per code\n")
    assert [m.name for m in models.build(con, project, changed={"int_a"})] == ["int_a"]
    # int_a now doubles every sum: rebuilt whole, and mart_b after it (a=1 -> 2 -> 20; j=10 -> 20 -> 200).
    int_a.write_text("-- int_a: one row per code.\nselect code, 2 * sum(v) as v from raw_t group by code\n")
    assert [m.name for m in models.build(con, project, changed={"int_a"})] == ["int_a", "mart_b"]
    assert query(con, "select code, scaled from mart_b where code in ('a', 'j') order by code") == [("a", 20), ("j", 200)]
    assert scopes == []  # every code moved: nothing was cut to codes
    # An edited mart that gains a column is written anew; the others are left as they are.
    (project / "marts" / "mart_c.sql").write_text("-- mart_c: one row per k, with its length.\nselect k, length(k) as n from raw_u\n")
    assert [m.name for m in models.build(con, project, changed={"mart_c"})] == ["mart_c"]
    assert query(con, "select k, n from mart_c") == [("x", 1)]
    assert query(con, "select comment from duckdb_tables() where table_name = 'mart_c'") == [("mart_c: one row per k, with its length.",)]
    # A new model is built; an input row and an edit on the same night both count.
    (project / "marts" / "mart_d.sql").write_text("-- mart_d: one row.\nselect count(*) as codes from int_a\n")
    con.execute("insert into raw_t values ('k', 1)")
    assert [m.name for m in models.build(con, project, changed={"raw_t", "mart_d"})] == ["int_a", "mart_b", "mart_d"]
    assert query(con, "select codes from mart_d") == [(11,)]


def test_a_keyed_model_is_recomputed_only_for_the_codes_whose_input_rows_changed(tmp_path: Path, monkeypatch) -> None:
    import duckdb

    project = keyed_project(tmp_path)
    monkeypatch.setattr(models, "KEYED_ABOVE", -1)  # every warehouse large enough to cut models to codes
    con = duckdb.connect()
    con.execute("create table raw_t (code varchar, v int); create table raw_ref (factor int)")
    # Ten codes, so that one or two moving is a difference, not most of the table.
    con.execute("insert into raw_t select chr(97 + i::int), i + 1 from range(10) as t(i); insert into raw_ref values (10)")
    models.build(con, project)
    scopes = record_scopes(monkeypatch)
    # 'b' and 'd' change (2 + 5 = 7, 4 + 4 = 8): int_a is diffed, mart_b computed for those two only.
    con.execute("insert into raw_t values ('b', 5), ('d', 4)")
    assert [m.name for m in models.build(con, project, changed={"raw_t"})] == ["int_a", "mart_b"]
    assert scopes == [{"b", "d"}]
    assert query(con, "select code, scaled from mart_b where code < 'e' order by code") == [("a", 10), ("b", 70), ("c", 30), ("d", 80)]
    assert query(con, "select count(*) from mart_b") == [(10,)]
    # A code that leaves int_a leaves mart_b.
    con.execute("delete from raw_t where code = 'c'")
    models.build(con, project, changed={"raw_t"})
    assert scopes[-1] == {"c"} and query(con, "select code from mart_b where code < 'e' order by code") == [("a",), ("b",), ("d",)]
    # A table read whole changed: mart_b is computed whole (every code moves).
    con.execute("update raw_ref set factor = 2")
    models.build(con, project, changed={"raw_ref"})
    assert len(scopes) == 2 and query(con, "select code, scaled from mart_b where code < 'e' order by code") == [("a", 2), ("b", 14), ("d", 16)]
    # No delta tables are left behind.
    assert query(con, "select table_name from duckdb_tables() where temporary") == []
    # A warehouse of up to KEYED_ABOVE documents computes mart_b whole: no scope, the same rows.
    monkeypatch.setattr(models, "KEYED_ABOVE", 100)
    con.execute("create table raw_documents as select range as n from range(100)")
    con.execute("insert into raw_t values ('a', 1)")  # a: 1 + 1 = 2, scaled 4
    assert [m.name for m in models.build(con, project, changed={"raw_t"})] == ["int_a", "mart_b"]
    assert len(scopes) == 2 and query(con, "select code, scaled from mart_b where code < 'e' order by code") == [("a", 4), ("b", 14), ("d", 16)]


def test_a_model_keyed_by_a_prefix_of_its_inputs_codes_recounts_only_the_groups_whose_members_changed(tmp_path: Path, monkeypatch) -> None:
    import duckdb

    # int_a holds TPS-like codes 'kkt' (group 'kk', member 't'); mart_g sums each group's members.
    project = keyed_project(tmp_path)
    (project / "marts" / "mart_b.sql").unlink()
    (project / "marts" / "mart_g.sql").write_text(
        "-- mart_g: one row per group (a code's first 2 characters).\n-- keyed by grp: int_a.code[:2]\n"
        "select left(code, 2) as grp, count(*) as members, sum(v) as v from int_a group by grp\n"
    )
    monkeypatch.setattr(models, "KEYED_ABOVE", -1)
    con = duckdb.connect()
    con.execute("create table raw_t (code varchar, v int)")
    con.execute("insert into raw_t values ('aa1', 1), ('aa2', 2), ('bb1', 10), ('cc1', 100), ('cc2', 200), ('dd1', 1000)")
    models.build(con, project)
    scopes = record_scopes(monkeypatch)
    # aa2 gains 5 and a member joins group cc: only aa and cc are recounted, each whole (both members).
    con.execute("insert into raw_t values ('aa2', 5), ('cc3', 300)")
    assert [m.name for m in models.build(con, project, changed={"raw_t"})] == ["int_a", "mart_g"]
    assert scopes == [{"aa", "cc"}]
    assert query(con, "select grp, members, v from mart_g order by grp") == [("aa", 2, 8), ("bb", 1, 10), ("cc", 3, 600), ("dd", 1, 1000)]
    # The last member of a group leaves: the group leaves.
    con.execute("delete from raw_t where code = 'bb1'")
    models.build(con, project, changed={"raw_t"})
    assert scopes[-1] == {"bb"} and query(con, "select grp from mart_g order by grp") == [("aa",), ("cc",), ("dd",)]
    (project / "marts" / "mart_g.sql").write_text("-- mart_g: one row.\n-- keyed by grp: int_a.code[:0]\nselect 1 as grp from int_a\n")
    with pytest.raises(models.ModelError, match=r"'int_a.code\[:0\]' in its keyed-by line is not"):
        models.discover(project)


def test_a_model_keyed_by_its_inputs_codes_and_the_regions_above_them_recounts_only_those_regions(tmp_path: Path, monkeypatch) -> None:
    import duckdb

    # int_a holds kelurahan codes; mart_r sums them for each kelurahan and every region above it.
    project = keyed_project(tmp_path)
    (project / "marts" / "mart_b.sql").unlink()
    (project / "functions").mkdir()
    (project / "functions" / "region_ancestor.sql").write_text((models.SQL_DIR / "functions" / "region_ancestor.sql").read_text())
    (project / "marts" / "mart_r.sql").write_text(
        "-- mart_r: one row per kelurahan and per region above one.\n-- keyed by region: int_a.code[ancestors]\n"
        "select region_ancestor(code, n) as region, sum(v) as v from int_a cross join (values (0), (2), (4), (6), (10)) as l(n) group by all\n"
    )
    monkeypatch.setattr(models, "KEYED_ABOVE", -1)
    con = duckdb.connect()
    con.execute("create table raw_t (code varchar, v int)")
    con.execute("insert into raw_t values ('1101011001', 1), ('1101011002', 2), ('1101021001', 10), ('1201011001', 100)")
    models.build(con, project)
    scopes = record_scopes(monkeypatch)
    # 1101011002 gains 5: it and the four regions above it are recounted, nothing else.
    con.execute("insert into raw_t values ('1101011002', 5)")
    assert [m.name for m in models.build(con, project, changed={"raw_t"})] == ["int_a", "mart_r"]
    assert scopes == [{"0", "11", "1101", "110101", "1101011002"}]
    assert query(con, "select region, v from mart_r order by region") == [
        ("0", 118), ("11", 18), ("1101", 18), ("110101", 8), ("1101011001", 1), ("1101011002", 7), ("110102", 10),
        ("1101021001", 10), ("12", 100), ("1201", 100), ("120101", 100), ("1201011001", 100),
    ]  # fmt: skip
    # The only kelurahan of province 12 leaves: the province and what is below it leave, the nation is 18.
    con.execute("delete from raw_t where code = '1201011001'")
    models.build(con, project, changed={"raw_t"})
    assert scopes[-1] == {"0", "12", "1201", "120101", "1201011001"}
    assert query(con, "select region, v from mart_r where region = '0' or region like '12%' order by region") == [("0", 18)]
    assert query(con, "select count(*) from mart_r") == [(8,)]
    (project / "marts" / "mart_r.sql").write_text("-- mart_r: one row.\n-- keyed by region: int_a.code[ancestor]\nselect 1 as region from int_a\n")
    with pytest.raises(models.ModelError, match=r"'int_a.code\[ancestor\]' in its keyed-by line is not"):
        models.discover(project)


def test_a_small_model_is_read_from_memory_by_the_later_models_and_equals_its_lake_table(tmp_path: Path, monkeypatch) -> None:
    import duckdb

    project = keyed_project(tmp_path)
    monkeypatch.setattr(models, "KEYED_ABOVE", -1)
    (project / "marts" / "mart_c.sql").write_text("-- mart_c: one row.\nselect sum(scaled) as total from mart_b\n")
    con = duckdb.connect()
    con.execute("create table raw_t (code varchar, v int); create table raw_ref (factor int)")
    con.execute("insert into raw_t select chr(97 + i::int), i + 1 from range(10) as t(i); insert into raw_ref values (10)")
    seen: list[tuple[list, list]] = []
    write_model = models.write_model

    def spy(con, model, *args, **kwargs):
        if model.name == "mart_c":  # mart_b (keyed, computed for the changed codes) is written and held by now
            seen.append((query(con, "select * from temp.main.mart_b order by code"), query(con, "select * from memory.main.mart_b order by code")))
        return write_model(con, model, *args, **kwargs)

    monkeypatch.setattr(models, "write_model", spy)
    models.build(con, project)
    con.execute("insert into raw_t values ('b', 5)")  # b: 2 + 5 = 7, scaled 70; the total 550 + 50 = 600
    models.build(con, project, changed={"raw_t"})
    assert [held == lake for held, lake in seen] == [True, True] and ("b", 70) in seen[-1][0]
    assert query(con, "select total from mart_c") == [(600,)]
    assert query(con, "select table_name from duckdb_tables() where temporary") == []
    # Nothing held (every table counted as large): the same rows, read from the tables themselves.
    monkeypatch.setattr(models, "SMALL_TABLE", -1)
    monkeypatch.setattr(models, "write_model", write_model)
    con.execute("insert into raw_t values ('c', 1)")  # c: 3 + 1 = 4, the total 600 + 10 = 610
    models.build(con, project, changed={"raw_t"})
    assert query(con, "select total from mart_c") == [(610,)]
    assert not query(con, "select table_name from duckdb_tables() where temporary and table_name = 'mart_b'")


def test_a_keyed_model_stored_as_a_view_passes_its_inputs_changes_on_to_its_readers(tmp_path: Path, monkeypatch) -> None:
    import duckdb

    # int_v, a view, is int_a's and int_b's rows scaled by raw_ref; mart_m, keyed by code, sums int_v per code.
    project = keyed_project(tmp_path)
    (project / "marts" / "mart_b.sql").unlink()
    (project / "intermediate" / "int_b.sql").write_text("-- int_b: one row per code.\nselect code, sum(v) as v from raw_u group by code\n")
    view = (
        "-- int_v: one row per code x source.\n-- keyed by code: int_a.code, int_b.code; whole: raw_ref\n"
        "-- stored as a view: each row is one of int_a's or int_b's.\n"
        "select code, 'a' as source, v * factor as v from int_a cross join raw_ref\n"
        "union all select code, 'b' as source, v * factor as v from int_b cross join raw_ref\n"
    )
    (project / "intermediate" / "int_v.sql").write_text(view)
    (project / "marts" / "mart_m.sql").write_text(
        "-- mart_m: one row per code.\n-- keyed by code: int_v.code\nselect code, sum(v) as total from int_v group by code\n"
    )
    monkeypatch.setattr(models, "KEYED_ABOVE", -1)
    monkeypatch.setattr(models, "REPLACE_SHARE", 1.0)  # three codes: one moving is a difference, not a rewrite
    con = duckdb.connect()
    con.execute("create table raw_t (code varchar, v int); create table raw_u (code varchar, v int); create table raw_ref (factor int)")
    con.execute("insert into raw_t values ('a', 1), ('b', 2), ('c', 3); insert into raw_u values ('a', 10), ('c', 30); insert into raw_ref values (2)")
    models.build(con, project)
    assert query(con, "select view_name from duckdb_views() where not internal and view_name like 'int_%'") == [("int_v",)]
    assert query(con, "select table_name from duckdb_tables() where table_name = 'int_v'") == []
    totals = "select code, total from mart_m order by code"
    assert query(con, totals) == [("a", 22), ("b", 4), ("c", 66)]
    scopes = record_scopes(monkeypatch)
    # b changes in int_a, then c in int_b: mart_m is recomputed for that code only.
    con.execute("insert into raw_t values ('b', 5)")
    assert [m.name for m in models.build(con, project, changed={"raw_t"})] == ["int_a", "int_v", "mart_m"]
    assert scopes == [{"b"}] and query(con, totals) == [("a", 22), ("b", 14), ("c", 66)]
    con.execute("insert into raw_u values ('c', 5)")
    models.build(con, project, changed={"raw_u"})
    assert scopes == [{"b"}, {"c"}] and query(con, totals) == [("a", 22), ("b", 14), ("c", 76)]
    # A code that leaves int_b but not int_a stays in mart_m with int_a's rows alone.
    con.execute("delete from raw_u where code = 'a'")
    models.build(con, project, changed={"raw_u"})
    assert scopes[-1] == {"a"} and query(con, totals) == [("a", 2), ("b", 14), ("c", 76)]
    # The table the view reads whole changed: mart_m is computed whole.
    con.execute("update raw_ref set factor = 3")
    models.build(con, project, changed={"raw_ref"})
    assert len(scopes) == 3 and query(con, totals) == [("a", 3), ("b", 21), ("c", 114)]
    assert query(con, "select table_name from duckdb_tables() where temporary") == []
    # A view's readers learn its changes through its keyed-by line: a view without one is refused.
    (project / "intermediate" / "int_v.sql").write_text(view.replace("-- keyed by code: int_a.code, int_b.code; whole: raw_ref\n", ""))
    with pytest.raises(models.ModelError, match="a model stored as a view must be keyed"):
        models.discover(project)


def test_a_keyed_line_must_name_every_table_the_model_reads(tmp_path: Path) -> None:
    project = keyed_project(tmp_path)
    (project / "marts" / "mart_b.sql").write_text("-- mart_b: one row per code.\n-- keyed by code: int_a.code\nselect * from int_a cross join raw_ref\n")
    with pytest.raises(models.ModelError, match=r"must name every table it reads: missing \['raw_ref'\]"):
        models.discover(project)
    (project / "marts" / "mart_b.sql").write_text("-- mart_b: one row per code.\n-- keyed by code: int_a; whole: raw_ref\nselect * from int_a cross join raw_ref\n")
    with pytest.raises(models.ModelError, match="'int_a' in its keyed-by line is not <table>.<column>"):
        models.discover(project)
