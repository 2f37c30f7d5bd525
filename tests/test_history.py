"""Issue 5, history: every version kept with valid_from/valid_to by observation, the
`corrections` of the latest run, and `tps_history(code)`."""

from __future__ import annotations

from pathlib import Path

from warehouse.db import connect
from tests.shared import KALTIM_0100, KALTIM_1015, load_and_build

TPS_DIR = "pilkada/hhcw/pkwkp/64/6401/640101/6401012001"


def tps(votes: dict | None, ts: str = "2024-11-28 10:00:00") -> dict:
    return {"tungsura": {"chart": votes, "administrasi": None}, "psu": "Reguler", "ts": ts}


def kelurahan(rows: dict[str, dict]) -> dict:
    table = {code: {"psu": "Reguler", **votes, "status_progress": True} for code, votes in rows.items()}
    chart = {cid: sum(v[cid] for v in rows.values()) for cid in ("1", "2")}
    return {"tungsura": {"chart": chart, "table": table}, "psu": "Reguler", "ts": "2024-11-28 10:00:00"}


def run(warehouse: Path, *sources: Path) -> None:
    load_and_build(warehouse, *sources).close()


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    import duckdb

    with connect(warehouse, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_kaltim_snapshots_corrections_are_the_published_change(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    run(warehouse, KALTIM_0100)
    run(warehouse, KALTIM_1015)
    got = query(warehouse, """select change_kind, candidate_id, votes_before, votes_after, delta from corrections
                              where contest = 'pkwkp' and code = '64' order by candidate_id""")
    # ../shared/data/README.md: 758,326 -> 766,850 and 952,185 -> 962,804.
    assert got == [("changed", "1000054", 758_326, 766_850, 8_524), ("changed", "1000055", 952_185, 962_804, 10_619)]
    spells = query(warehouse, """select spell, is_current, valid_to is null, source_ts from node_history
                                 where contest = 'pkwkp' and code = '64' order by spell""")
    assert spells == [(1, False, False, "2024-11-28 01:00:00"), (2, True, True, "2024-11-28 10:15:04")]
    run(warehouse, KALTIM_1015)  # a quiet night: nothing new, nothing corrected
    assert query(warehouse, "select count(*) from corrections") == [(0,)]


def test_a_version_seen_again_starts_a_new_spell_and_history_answers_by_date(make_mirror, tmp_path: Path) -> None:
    code = "6401012001001"
    snapshots = [
        make_mirror({f"{TPS_DIR}/{code}.json": tps({"1": 10, "2": 5})}, "a1"),
        make_mirror({f"{TPS_DIR}/{code}.json": tps({"1": 12, "2": 5})}, "b"),
        make_mirror({f"{TPS_DIR}/{code}.json": tps({"1": 10, "2": 5})}, "a2"),
    ]
    warehouse = tmp_path / "w.duckdb"
    for snapshot in snapshots:
        run(warehouse, snapshot)
    spells = query(warehouse, "select spell, votes from tps_history(?) where candidate_id = '1' order by spell", [code])
    assert spells == [(1, 10), (2, 12), (3, 10)]
    first, second, third = query(warehouse, "select valid_from, valid_to from node_history where code = ? order by spell", [code])
    assert first[1] == second[0] and second[1] == third[0] and third[1] is None
    # "What did this TPS say at the moment the second run loaded?"
    at = second[0]
    said = query(warehouse, """select candidate_id, votes from tps_history(?)
                               where valid_from <= ? and (valid_to is null or valid_to > ?) order by candidate_id""",
                 [code, at, at])  # fmt: skip
    assert said == [("1", 12), ("2", 5)]
    assert query(warehouse, "select code, change_kind, delta from corrections where candidate_id = '1'") == [(code, "changed", -2)]


def test_new_vanished_and_withheld_nodes(make_mirror, tmp_path: Path) -> None:
    kel = TPS_DIR.rsplit("/", 1)[0] + "/6401012001.json"
    before = make_mirror({
        kel: kelurahan({"6401012001001": {"1": 7, "2": 3}, "6401012001002": {"1": 4, "2": 6}}),
        f"{TPS_DIR}/6401012001001.json": tps({"1": 7, "2": 3}),
    }, "before")  # fmt: skip
    after = make_mirror({
        kel: kelurahan({"6401012001001": {"1": 7, "2": 3}}),  # TPS 002 is gone from the table
        f"{TPS_DIR}/6401012001001.json": tps({"1": 0, "2": 0}),  # counts withheld
        f"{TPS_DIR}/6401012001003.json": tps({"1": 1, "2": 2}),  # a TPS seen for the first time
    }, "after")  # fmt: skip
    warehouse = tmp_path / "w.duckdb"
    run(warehouse, before)
    run(warehouse, after)
    got = query(warehouse, """select code, change_kind, candidate_id, votes_before, votes_after from corrections
                              where level = 'tps' order by code, candidate_id""")
    assert got == [
        ("6401012001001", "withheld", "1", 7, 0),
        ("6401012001001", "withheld", "2", 3, 0),
        ("6401012001002", "vanished", "1", 4, None),
        ("6401012001002", "vanished", "2", 6, None),
        ("6401012001003", "new", "1", None, 1),
        ("6401012001003", "new", "2", None, 2),
    ]
    summary = query(warehouse, "select change_kind, tps from corrections_summary where kabkota_code = '6401' order by change_kind")
    assert ("vanished", 1) in summary and ("withheld", 1) in summary and ("new", 1) in summary
