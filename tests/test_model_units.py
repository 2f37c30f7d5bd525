"""SQL models on given rows: each test feeds one model two to five hand-written rows of its direct
inputs and states the rows it must make (tests/model_rows.py runs it in milliseconds).

Golden style: the input rows and the expected rows sit side by side, and a comment says how each
expected number follows from the inputs by hand. Nothing here was read back from the pipeline.
The end-to-end tests on real data (tests/test_rules_kaltim.py, test_rules_seribu.py, ...) stay.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.model_rows import check_model, connection, model, run_model
from warehouse import models

PEMILU, PILKADA = "pemilu2024", "pilkada2024"
# int_contests as the model makes it (its own test below): the level each race is decided at.
CONTESTS = [
    {"contest": "ppwp", "race_level": "nasional", "race_code_length": 0},
    {"contest": "pkwkp", "race_level": "provinsi", "race_code_length": 2},
    {"contest": "pkwkk", "race_level": "kabkota", "race_code_length": 4},
]
KEL = "3101011001"  # a kelurahan in Kepulauan Seribu (DKI Jakarta, 31)
T1, T2, T3 = KEL + "001", KEL + "002", KEL + "003"
ANIES, PRABOWO, GANJAR = "100025", "100026", "100027"


def ppwp(**row) -> dict:
    return {"election": PEMILU, "contest": "ppwp", **row}


def pkwkp(**row) -> dict:
    return {"election": PILKADA, "contest": "pkwkp", **row}


# --- The harness keeps tests honest -----------------------------------------------------------

def test_the_harness_refuses_rows_for_a_table_the_model_does_not_read_directly() -> None:
    # region_winners reads int_regions, not the int_nodes below it.
    with pytest.raises(pytest.fail.Exception, match="does not read int_nodes directly"):
        run_model("region_winners", {"int_nodes": [ppwp(code=T1)]})


def test_rows_given_to_one_check_are_gone_for_the_next() -> None:
    run_model("int_node_votes", {"int_nodes": [ppwp(code=T1, version_id="v1")],
                                 "stg_node_votes": [{"version_id": "v1", "candidate_id": ANIES, "votes": 5}]})  # fmt: skip
    # The same model with only the votes: no node, so no row (the node above was rolled back).
    check_model("int_node_votes", {"stg_node_votes": [{"version_id": "v1", "candidate_id": ANIES, "votes": 5}]}, [])


# --- Staging: one raw table each, typed, nothing decided ------------------------------------------

STAGING = sorted(m.name for m in models.discover() if m.layer == "staging")


@pytest.mark.parametrize("name", STAGING)
def test_a_staging_model_passes_every_row_of_its_raw_table_with_its_columns_and_types(name: str) -> None:
    (raw,) = model(name).reads
    # Two versions, one of them twice: no row is dropped, merged or picked (that is intermediate/'s job).
    got = run_model(name, {raw: [{"version_id": "v1"}, {"version_id": "v1"}, {"version_id": "v2"}]})
    assert sorted(row["version_id"] for row in got) == ["v1", "v1", "v2"]
    con = connection()
    types = "select column_name, data_type from duckdb_columns() where table_name = ? and database_name = current_database() order by column_index"
    assert con.execute(types, [name]).fetchall() == con.execute(types, [raw]).fetchall()


# --- Versions in use: the latest observed version, its nodes, candidates and regions ----------

def test_int_contests_lists_the_three_modelled_races_typed() -> None:
    check_model("int_contests", {}, [
        {"contest": "ppwp", "race_level": "nasional", "race_code_length": 0, "contest_name": "Presiden dan Wakil Presiden"},
        {"contest": "pkwkp", "race_level": "provinsi", "race_code_length": 2, "contest_name": "Gubernur dan Wakil Gubernur"},
        {"contest": "pkwkk", "race_level": "kabkota", "race_code_length": 4, "contest_name": "Bupati/Wali Kota dan Wakil"},
    ])  # fmt: skip


def test_int_nodes_renames_the_publishers_ts_and_keeps_only_the_version_in_use() -> None:
    check_model("int_nodes", {
        "int_latest_documents": [
            ppwp(kind="node", code=T1, version_id="v2", source_ts="2024-02-15 10:00:00", source_file="m/t1.json", run_id="r1"),
            ppwp(kind="regions", code=KEL, version_id="w1"),  # a region list is not a node
        ],
        "stg_nodes": [
            {"version_id": "v1", "level": "tps", "node_type": "tps", "has_chart": False},  # superseded: not in use
            {"version_id": "v2", "level": "tps", "node_type": "tps", "has_chart": True, "progress_total": 1, "progress_reported": 1},
            {"version_id": "w1", "level": "kelurahan", "node_type": "aggregate", "has_chart": True},
        ],
    }, [
        {"code": T1, "version_id": "v2", "node_type": "tps", "has_chart": True, "progress_reported": 1,
         "source_ts": "2024-02-15 10:00:00", "source_file": "m/t1.json"},
    ])  # fmt: skip


def test_int_candidates_takes_the_last_observed_master_and_drops_a_dangling_separator() -> None:
    check_model("int_candidates", {
        "int_latest_documents": [
            {"kind": "candidates", "election": PILKADA, "contest": "pkwkk", "code": "0", "version_id": "m1", "observed_seq": 1},
            {"kind": "candidates", "election": PILKADA, "contest": "pkwkk", "code": "6472", "version_id": "m2", "observed_seq": 2},
        ],
        "stg_candidates": [
            {"version_id": "m1", "region_code": "6472", "candidate_id": "1001094", "name": "ANDI HARUN", "nomor_urut": 2},
            {"version_id": "m2", "region_code": "6472", "candidate_id": "1001094", "name": " ANDI HARUN - SAEFUDDIN ZUHRI ", "nomor_urut": 2},
            {"version_id": "m2", "region_code": "6472", "candidate_id": "1001095", "name": "KOLOM KOSONG - ", "nomor_urut": 1},
        ],
    }, [
        # 1001094 is in both masters: m2 is observed later (seq 2 > 1), so its name; trimmed, inner " - " kept.
        {"candidate_id": "1001094", "nomor_urut": 2, "candidate_name": "ANDI HARUN - SAEFUDDIN ZUHRI"},
        # The empty box's pair name is "KOLOM KOSONG - ": the trailing separator goes.
        {"candidate_id": "1001095", "nomor_urut": 1, "candidate_name": "KOLOM KOSONG"},
    ])  # fmt: skip


def observation(version_id: str, seq: int, source_file: str = "m/f.json") -> dict:
    return {"version_id": version_id, "observed_seq": seq, "source_file": source_file, "run_id": f"r{seq}"}


def test_int_latest_documents_picks_the_latest_observed_version_that_is_not_withheld() -> None:
    check_model("int_latest_documents", {
        "stg_documents": [
            ppwp(kind="node", code=T1, version_id="a", ts="2024-02-16 09:00:00"),
            ppwp(kind="node", code=T1, version_id="b", ts="2024-02-15 09:00:00"),  # an older ts than a's
            ppwp(kind="node", code=T1, version_id="c", ts="2024-02-17 09:00:00"),
            ppwp(kind="node", code=T2, version_id="d"),
            ppwp(kind="node", code=T3, version_id="e"),
        ],
        # c and d withhold their counts (every count 0 while progress rose).
        "int_node_versions": [{"version_id": "c", "withheld": True}, {"version_id": "d", "withheld": True}],
        "stg_observations": [
            observation("a", 1), observation("b", 2, "m/b.json"), observation("c", 3),
            observation("d", 4),
            observation("e", 5, "m/e-first.json"), observation("e", 7, "m/e-again.json"),
        ],
    }, [
        # T1: c (seq 3) is withheld, so b (seq 2) beats a (seq 1): observation order, never the publisher's ts.
        {"code": T1, "version_id": "b", "observed_seq": 2, "source_file": "m/b.json"},
        # T2 was only ever seen withheld: no row (no data). T3: e's last observation (seq 7) is where it was read.
        {"code": T3, "version_id": "e", "observed_seq": 7, "source_file": "m/e-again.json"},
    ])  # fmt: skip


NODE_VERSIONS = {
    "stg_documents": [
        ppwp(kind="node", code="3101", version_id="k1"), ppwp(kind="node", code="3101", version_id="k2"),
        ppwp(kind="node", code=T1, version_id="t1"),
        ppwp(kind="node", code=T2, version_id="u1"), ppwp(kind="node", code=T2, version_id="u2"),
    ],
    "int_node_observations": [
        observation("k1", 1), observation("k2", 2), observation("t1", 3), observation("u1", 4), observation("u2", 5),
    ],
    "stg_nodes": [
        {"version_id": "k1", "node_type": "aggregate", "has_chart": True, "progress_reported": 3, "progress_total": 10},
        {"version_id": "k2", "node_type": "aggregate", "has_chart": True, "progress_reported": 4, "progress_total": 10},
        {"version_id": "t1", "node_type": "tps", "has_chart": True},
        {"version_id": "u1", "node_type": "tps", "has_chart": True},
        {"version_id": "u2", "node_type": "tps", "has_chart": True},
    ],
    "stg_node_votes": [
        {"version_id": "k1", "candidate_id": ANIES, "votes": 10}, {"version_id": "k1", "candidate_id": PRABOWO, "votes": 5},
        {"version_id": "k2", "candidate_id": ANIES, "votes": 0}, {"version_id": "k2", "candidate_id": PRABOWO, "votes": 0},
        {"version_id": "t1", "candidate_id": ANIES, "votes": 0}, {"version_id": "t1", "candidate_id": PRABOWO, "votes": 0},
        {"version_id": "u1", "candidate_id": ANIES, "votes": 7}, {"version_id": "u1", "candidate_id": PRABOWO, "votes": 0},
        {"version_id": "u2", "candidate_id": ANIES, "votes": 0}, {"version_id": "u2", "candidate_id": PRABOWO, "votes": 0},
    ],
}  # fmt: skip


def test_int_node_versions_withholds_all_zero_counts_after_progress_or_earlier_votes() -> None:
    check_model("int_node_versions", NODE_VERSIONS, [
        {"version_id": "k1", "version_number": 1, "vote_sum": 15, "earlier_had_votes": False, "withheld": False},  # 10 + 5
        # k2: every count 0 while the kab/kota reports 4 TPS in: withheld.
        {"version_id": "k2", "version_number": 2, "vote_sum": 0, "earlier_had_votes": True, "withheld": True},
        # t1: a TPS whose first chart is all zeros is a real zero.
        {"version_id": "t1", "version_number": 1, "vote_sum": 0, "earlier_had_votes": False, "withheld": False},
        {"version_id": "u1", "version_number": 1, "vote_sum": 7, "earlier_had_votes": False, "withheld": False},
        # u2: zeros after u1 had 7 votes: withheld.
        {"version_id": "u2", "version_number": 2, "vote_sum": 0, "earlier_had_votes": True, "withheld": True},
    ])  # fmt: skip


def test_int_node_versions_withholds_nothing_when_the_rule_is_disabled() -> None:
    disabled = {"ref_rules": [{"rule_id": "withheld_counts", "category": "withheld", "severity": "warning", "enabled": False}]}
    check_model("int_node_versions", NODE_VERSIONS | disabled, [
        {"version_id": v, "withheld": False} for v in ("k1", "k2", "t1", "u1", "u2")
    ])  # fmt: skip


# --- Which source a region's numbers come from ---------------------------------------------------

def test_int_region_sources_lists_own_file_parent_row_and_tps_rollup() -> None:
    tps_a, tps_b = "6401012001001", "6401012001002"
    check_model("int_region_sources", {
        "int_nodes": [
            pkwkp(code="6401", node_type="aggregate", has_chart=True, progress_reported=10, progress_total=10),
            pkwkp(code=tps_a, node_type="tps", has_chart=True, progress_reported=1, progress_total=1),
            pkwkp(code=tps_b, node_type="tps", has_chart=False, progress_reported=0, progress_total=1),
        ],
        "int_child_rows": [pkwkp(parent_code="64", child_code="6401", has_votes=True, progress_reported=9, progress_total=10)],
        # Every region above the two TPS: 2 TPS files loaded, 1 of them with a chart.
        "int_tps_rollup_counts": [pkwkp(code=code, tps_loaded=2, tps_with_chart=1, any_chart=True)
                                  for code in ("0", "64", "6401", "640101", "6401012001")],
    }, [
        {"code": "6401", "source_kind": "node", "has_votes": True, "tps_reported": 10, "tps_total": 10},
        {"code": tps_a, "source_kind": "node", "has_votes": True, "tps_reported": 1, "tps_total": 1},
        # A TPS's own file is its only source: it counts as the source with numbers even without a chart.
        {"code": tps_b, "source_kind": "node", "has_votes": True, "tps_reported": 0, "tps_total": 1},
        {"code": "6401", "source_kind": "parent_table", "has_votes": True, "tps_reported": 9, "tps_total": 10},
        *({"code": code, "source_kind": "tps_rollup", "has_votes": True, "tps_reported": 1, "tps_total": 2}
          for code in ("0", "64", "6401", "640101", "6401012001")),
    ])  # fmt: skip


def test_int_kelurahan_tps_counts_counts_the_tps_files_in_each_kelurahan() -> None:
    tps_a, tps_b, tps_c = "6401012001001", "6401012001002", "6401012002001"
    check_model("int_kelurahan_tps_counts", {
        "int_nodes": [
            pkwkp(code=tps_a, node_type="tps", has_chart=True, source_ts="2024-11-28 01:00", run_id="r1"),
            pkwkp(code=tps_b, node_type="tps", has_chart=False, source_ts="2024-11-28 10:15", run_id="r2"),
            pkwkp(code=tps_c, node_type="tps", has_chart=False, source_ts="2024-11-28 02:00", run_id="r1"),
            pkwkp(code="6401012001", node_type="aggregate", has_chart=True, source_ts="2024-11-29 00:00", run_id="r3"),  # not a TPS
        ],
    }, [
        # tps_a and tps_b: 2 files, 1 with a chart; the later ts and run of the two. tps_c alone, without a chart.
        pkwkp(code="6401012001", tps_loaded=2, tps_with_chart=1, any_chart=True, source_ts="2024-11-28 10:15", run_id="r2"),
        pkwkp(code="6401012002", tps_loaded=1, tps_with_chart=0, any_chart=False, source_ts="2024-11-28 02:00", run_id="r1"),
    ])  # fmt: skip


def test_int_tps_rollup_counts_sums_the_kelurahan_under_each_region() -> None:
    def counts(code: str, loaded: int, with_chart: int, ts: str, run_id: str) -> dict:
        return pkwkp(code=code, tps_loaded=loaded, tps_with_chart=with_chart, any_chart=with_chart > 0, source_ts=ts, run_id=run_id)

    kelurahan = [counts("6401012001", 2, 1, "2024-11-28 10:15", "r2"), counts("6401012002", 1, 0, "2024-11-28 02:00", "r1"),
                 counts("6402011001", 3, 0, "2024-11-27 09:00", "r1")]  # fmt: skip
    check_model("int_tps_rollup_counts", {"int_kelurahan_tps_counts": kelurahan}, [
        *kelurahan,
        # 640101 and 6401: 2 + 1 TPS, 1 + 0 with a chart, the latest ts and run of the two kelurahan.
        *(counts(code, 3, 1, "2024-11-28 10:15", "r2") for code in ("640101", "6401")),
        *(counts(code, 3, 0, "2024-11-27 09:00", "r1") for code in ("640201", "6402")),
        # The province and the nation: 3 + 3 TPS, 1 with a chart.
        *(counts(code, 6, 1, "2024-11-28 10:15", "r2") for code in ("64", "0")),
    ])  # fmt: skip


def test_int_kelurahan_votes_sums_the_tps_counts_in_each_kelurahan() -> None:
    tps_a, tps_b, tps_c = "6401012001001", "6401012001002", "6401012002001"
    check_model("int_kelurahan_votes", {
        "int_nodes": [pkwkp(code=tps_a, node_type="tps"), pkwkp(code=tps_b, node_type="tps"), pkwkp(code=tps_c, node_type="tps"),
                      pkwkp(code="6401012001", node_type="aggregate")],
        "int_node_votes": [pkwkp(code=tps_a, candidate_id="c1", votes=3), pkwkp(code=tps_a, candidate_id="c2", votes=4),
                           pkwkp(code=tps_b, candidate_id="c1", votes=1), pkwkp(code=tps_c, candidate_id="c1", votes=10),
                           pkwkp(code="6401012001", candidate_id="c1", votes=100)],  # the kelurahan's own chart: not a TPS count
    }, [
        pkwkp(code="6401012001", candidate_id="c1", votes=4),  # 3 + 1
        pkwkp(code="6401012001", candidate_id="c2", votes=4),
        pkwkp(code="6401012002", candidate_id="c1", votes=10),
    ])  # fmt: skip


def test_int_tps_rollup_votes_sums_the_kelurahan_under_each_region() -> None:
    kelurahan = [pkwkp(code="6401012001", candidate_id="c1", votes=4), pkwkp(code="6401012001", candidate_id="c2", votes=4),
                 pkwkp(code="6401012002", candidate_id="c1", votes=10)]  # fmt: skip
    check_model("int_tps_rollup_votes", {"int_kelurahan_votes": kelurahan}, [
        *kelurahan,
        # Every region above both kelurahan: c1 4 + 10 = 14, c2 4.
        *(pkwkp(code=code, candidate_id="c1", votes=14) for code in ("640101", "6401", "64", "0")),
        *(pkwkp(code=code, candidate_id="c2", votes=4) for code in ("640101", "6401", "64", "0")),
    ])  # fmt: skip


def source(code: str, kind: str, has_votes: bool = True, **row) -> dict:
    return pkwkp(code=code, source_kind=kind, has_votes=has_votes, **row)


def test_int_regions_prefers_own_file_then_parent_row_then_tps_rollup() -> None:
    check_model("int_regions", {
        "int_region_sources": [
            source("6401", "tps_rollup"), source("6401", "parent_table"), source("6401", "node", tps_reported=10),
            source("640101", "tps_rollup"), source("640101", "parent_table"),
            source("6401012001", "tps_rollup"),
            # The province file has no candidate counts: a source with numbers beats it.
            source("64", "node", has_votes=False), source("64", "tps_rollup"),
            # Nobody has counts for 6402: it keeps its best source, so its progress still shows.
            source("6402", "parent_table", has_votes=False), source("6402", "node", has_votes=False, tps_reported=0),
            source("6401012001001", "node"),
            source("0", "tps_rollup"),
        ],
        "int_contests": CONTESTS,
        "int_region_names": [{"code": "64", "region_name": "KALIMANTAN TIMUR"}],
    }, [
        {"region_code": "6401", "source_kind": "node", "level": "kabkota", "parent_code": "64", "race_code": "64", "within_race": True, "region_name": None},
        {"region_code": "640101", "source_kind": "parent_table", "level": "kecamatan", "parent_code": "6401", "race_code": "64", "within_race": True, "region_name": None},
        {"region_code": "6401012001", "source_kind": "tps_rollup", "level": "kelurahan", "parent_code": "640101", "race_code": "64", "within_race": True, "region_name": None},
        {"region_code": "64", "source_kind": "tps_rollup", "level": "provinsi", "parent_code": "0", "race_code": "64", "within_race": True, "region_name": "KALIMANTAN TIMUR"},
        {"region_code": "6402", "source_kind": "node", "level": "kabkota", "parent_code": "64", "race_code": "64", "within_race": True, "region_name": None},
        # A TPS without a listed name is called by its number.
        {"region_code": "6401012001001", "source_kind": "node", "level": "tps", "parent_code": "6401012001", "race_code": "64", "within_race": True, "region_name": "TPS 001"},
        # The nation is above a governor's race (code length 0 < 2): no winner there.
        {"region_code": "0", "source_kind": "tps_rollup", "level": "nasional", "parent_code": None, "race_code": "0", "within_race": False, "region_name": None},
    ])  # fmt: skip


def region(code: str, source_kind: str = "node", election: str = PEMILU, contest: str = "ppwp", **row) -> dict:
    return {"election": election, "contest": contest, "region_code": code, "source_kind": source_kind, "within_race": True, **row}


MASTER = [ppwp(candidate_id=ANIES, nomor_urut=1, candidate_name="ANIES - MUHAIMIN"),
          ppwp(candidate_id=PRABOWO, nomor_urut=2, candidate_name="PRABOWO - GIBRAN"),
          ppwp(candidate_id=GANJAR, nomor_urut=3, candidate_name="GANJAR - MAHFUD")]  # fmt: skip


def test_int_region_votes_takes_the_chosen_source_and_leaves_a_missing_count_null() -> None:
    check_model("int_region_votes", {
        "int_regions": [region(KEL, "tps_rollup", race_code="0"), region(T3, "node", race_code="0"),
                        region("0", "tps_rollup", race_code="0", within_race=False)],
        "int_candidates": MASTER,
        # The kelurahan's own file is not its chosen source: its 999 must not show.
        "int_node_votes": [ppwp(code=KEL, candidate_id=ANIES, votes=999)],
        "int_tps_rollup_votes": [
            ppwp(code=KEL, candidate_id=ANIES, votes=15), ppwp(code=KEL, candidate_id=PRABOWO, votes=15),
            ppwp(code=KEL, candidate_id="100099", votes=2),  # an id the master does not know still counts
            ppwp(code="0", candidate_id=ANIES, votes=15),
        ],
    }, [
        {"region_code": KEL, "candidate_id": ANIES, "nomor_urut": 1, "candidate_name": "ANIES - MUHAIMIN", "votes": 15},
        {"region_code": KEL, "candidate_id": PRABOWO, "nomor_urut": 2, "candidate_name": "PRABOWO - GIBRAN", "votes": 15},
        # No TPS under the kelurahan counted Ganjar: unknown, not 0.
        {"region_code": KEL, "candidate_id": GANJAR, "nomor_urut": 3, "candidate_name": "GANJAR - MAHFUD", "votes": None},
        {"region_code": KEL, "candidate_id": "100099", "nomor_urut": None, "candidate_name": "candidate 100099", "votes": 2},
        # TPS 003 has no chart: every candidate of the race, every count null (missing is never zero).
        *({"region_code": T3, "candidate_id": c["candidate_id"], "nomor_urut": c["nomor_urut"], "candidate_name": c["candidate_name"], "votes": None}
          for c in MASTER),
        # The nation is outside the race in this fixture (within_race false): no rows.
    ])  # fmt: skip


def votes(code: str, nomor_urut: int, name: str, count: int | None, election: str = PEMILU, contest: str = "ppwp") -> dict:
    return {"election": election, "contest": contest, "region_code": code, "candidate_id": f"c{nomor_urut}",
            "nomor_urut": nomor_urut, "candidate_name": name, "votes": count}  # fmt: skip


def test_region_winners_flags_a_tie_instead_of_breaking_it_and_keeps_a_region_without_counts() -> None:
    check_model("region_winners", {
        "int_regions": [region(KEL, "tps_rollup", tps_reported=2, tps_total=3), region(T3, "node", tps_reported=0, tps_total=1)],
        "int_region_votes": [
            votes(KEL, 1, "ANIES", 15), votes(KEL, 2, "PRABOWO", 15), votes(KEL, 3, "GANJAR", 1),
            votes(T3, 1, "ANIES", None), votes(T3, 2, "PRABOWO", None), votes(T3, 3, "GANJAR", None),
        ],
        "int_region_flags": [ppwp(region_code=KEL, tps_loaded=3, tps_flagged=1, votes_flagged=18)],
    }, [
        # 15 : 15 : 1: 01 and 02 tie; no winner, no runner-up, margin 15 - 15 = 0 of 31 valid votes.
        {"region_code": KEL, "winner_nomor_urut": None, "winner_name": None, "tie": True, "tied_nomor_urut": [1, 2],
         "winner_votes": 15, "runner_up_nomor_urut": None, "margin_votes": 0, "margin_pct": 0.0, "valid_votes": 31,
         "progress_pct": 66.67, "tps_flagged": 1, "votes_flagged": 18},  # 100 x 2 / 3 = 66.67
        # No counts at TPS 003: its row stays, without a winner and without valid votes (not 0 : 0 : 0).
        {"region_code": T3, "winner_nomor_urut": None, "winner_name": None, "tie": None, "tied_nomor_urut": None,
         "winner_votes": None, "runner_up_nomor_urut": None, "margin_votes": None, "margin_pct": None, "valid_votes": None,
         "progress_pct": 0.0, "tps_flagged": None, "votes_flagged": None},
    ])  # fmt: skip


def test_region_winners_lets_the_empty_box_win() -> None:
    pkwkk = {"election": PILKADA, "contest": "pkwkk"}
    check_model("region_winners", {
        "int_regions": [region("6472", "node", tps_reported=4, tps_total=5, **pkwkk)],
        "int_region_votes": [votes("6472", 1, "KOLOM KOSONG", 60, **pkwkk), votes("6472", 2, "ANDI HARUN - SAEFUDDIN ZUHRI", 40, **pkwkk)],
    }, [
        # 60 - 40 = 20 votes = 20.0% of 100; 4 of 5 TPS = 80.0%.
        {"region_code": "6472", "winner_nomor_urut": 1, "winner_name": "KOLOM KOSONG", "runner_up_name": "ANDI HARUN - SAEFUDDIN ZUHRI",
         "tie": False, "margin_votes": 20, "margin_pct": 20.0, "valid_votes": 100, "progress_pct": 80.0},
    ])  # fmt: skip


def test_province_totals_shares_ranks_and_flagged_votes_per_candidate() -> None:
    check_model("province_totals", {
        "int_regions": [
            region("31", level="provinsi", race_level="nasional", region_name="DKI JAKARTA", tps_reported=2, tps_total=3),
            region("3101", level="kabkota", race_level="nasional"),  # not a province
            region("64", level="provinsi", race_level="kabkota", election=PILKADA, contest="pkwkk"),  # decided per kab/kota
        ],
        "int_region_votes": [
            votes("31", 1, "ANIES", 60), votes("31", 2, "PRABOWO", 30), votes("31", 3, "GANJAR", None),
            votes("3101", 1, "ANIES", 60),
            votes("64", 1, "KOLOM KOSONG", 5, election=PILKADA, contest="pkwkk"),
        ],
        "int_region_flags": [ppwp(region_code="31", tps_loaded=3, tps_flagged=1, votes_flagged=18)],
        "int_region_candidate_flags": [ppwp(region_code="31", candidate_id="c1", votes_flagged=18)],
    }, [
        # 60 + 30 = 90 known votes: 60/90 = 66.67%, 30/90 = 33.33%; Ganjar's count is unknown: no share, no rank.
        # votes_flagged: c1 has 18 in flagged TPS; c2 none (0, since TPS under 31 are loaded); c3 likewise 0.
        {"province_code": "31", "province_name": "DKI JAKARTA", "candidate_id": "c1", "votes": 60, "share_pct": 66.67, "rank": 1,
         "progress_pct": 66.67, "votes_flagged": 18, "tps_flagged": 1},
        {"province_code": "31", "province_name": "DKI JAKARTA", "candidate_id": "c2", "votes": 30, "share_pct": 33.33, "rank": 2,
         "progress_pct": 66.67, "votes_flagged": 0, "tps_flagged": 1},
        {"province_code": "31", "province_name": "DKI JAKARTA", "candidate_id": "c3", "votes": None, "share_pct": None, "rank": None,
         "progress_pct": 66.67, "votes_flagged": 0, "tps_flagged": 1},
    ])  # fmt: skip


def test_int_region_candidate_flags_sums_each_candidates_votes_in_error_flagged_tps_up_to_the_nation() -> None:
    other_kel_tps = "3101011002001"
    check_model("int_region_candidate_flags", {
        "int_tps_flags": [ppwp(code=T1, error_flagged=True), ppwp(code=T2, error_flagged=False), ppwp(code=other_kel_tps, error_flagged=True)],
        "int_node_votes": [
            ppwp(code=T1, candidate_id=ANIES, votes=10), ppwp(code=T1, candidate_id=PRABOWO, votes=20),
            ppwp(code=T2, candidate_id=ANIES, votes=99),  # T2 has no error-level finding: counted nowhere
            ppwp(code=other_kel_tps, candidate_id=ANIES, votes=5),
        ],
    }, [
        # Anies: 10 in T1 + 5 in the other kelurahan's TPS from the kecamatan up; Prabowo: T1's 20 only.
        *(ppwp(region_code=code, candidate_id=ANIES, votes_flagged=15) for code in ("0", "31", "3101", "310101")),
        *(ppwp(region_code=code, candidate_id=PRABOWO, votes_flagged=20) for code in ("0", "31", "3101", "310101", KEL, T1)),
        ppwp(region_code=KEL, candidate_id=ANIES, votes_flagged=10), ppwp(region_code=T1, candidate_id=ANIES, votes_flagged=10),
        ppwp(region_code="3101011002", candidate_id=ANIES, votes_flagged=5), ppwp(region_code=other_kel_tps, candidate_id=ANIES, votes_flagged=5),
    ])  # fmt: skip


def test_int_tps_facts_classifies_completeness_and_sums_the_chart() -> None:
    check_model("int_tps_facts", {
        "int_nodes": [
            ppwp(code=T1, node_type="tps", version_id="v1", has_chart=True, has_admin=True),
            ppwp(code=T2, node_type="tps", version_id="v2", has_chart=True, has_admin=False),
            ppwp(code=T3, node_type="tps", version_id="v3", has_chart=False, has_admin=True),
            ppwp(code=KEL + "004", node_type="tps", version_id="v4", has_chart=False, has_admin=False),
            ppwp(code=KEL, node_type="aggregate", version_id="k1", has_chart=True),  # not a TPS
        ],
        "int_node_votes": [
            ppwp(code=T1, candidate_id=ANIES, votes=50), ppwp(code=T1, candidate_id=PRABOWO, votes=30),
            ppwp(code=T2, candidate_id=ANIES, votes=7),
        ],
        "int_tps_admin": [ppwp(code=T1, suara_sah=80, version_id="v1"), ppwp(code=T3, suara_sah=12, version_id="v3")],
    }, [
        {"code": T1, "completeness": "complete", "candidate_sum": 80, "candidate_max": 50, "suara_sah": 80},  # 50 + 30
        {"code": T2, "completeness": "chart_only", "candidate_sum": 7, "candidate_max": 7, "suara_sah": None},
        {"code": T3, "completeness": "admin_only", "candidate_sum": None, "candidate_max": None, "suara_sah": 12},
        {"code": KEL + "004", "completeness": "empty", "candidate_sum": None, "candidate_max": None, "suara_sah": None},
    ])  # fmt: skip


# --- Data-quality rules: a passing and a failing case each ---------------------------------------

# A consistent C.HASIL form: 100 candidate votes = sah 100; 100 + 2 = 102 ballots = total; voters
# 98 + 3 + 1 = 102 = pengguna_total; each _j = _l + _p; 98 DPT voters of 200 registered.
CONSISTENT_FORM = {
    "candidate_sum": 100, "suara_sah": 100, "suara_tidak_sah": 2, "suara_total": 102,
    "pemilih_dpt_j": 200, "pemilih_dpt_l": 100, "pemilih_dpt_p": 100,
    "pengguna_dpt_j": 98, "pengguna_dpt_l": 50, "pengguna_dpt_p": 48,
    "pengguna_dptb_j": 3, "pengguna_dptb_l": 2, "pengguna_dptb_p": 1,
    "pengguna_non_dpt_j": 1, "pengguna_non_dpt_l": 1, "pengguna_non_dpt_p": 0,
    "pengguna_total_j": 102, "pengguna_total_l": 53, "pengguna_total_p": 49,
}
ARITHMETIC = ("c1_candidate_sum", "c1_valid_invalid_total", "c1_voters_total", "c1_male_female_total",
              "c1_ballots_over_voters", "c1_dpt_voters_over_registered")  # fmt: skip


def form(code: str, election: str = PEMILU, **changes) -> dict:
    return {"election": election, "contest": "ppwp", "code": code, "version_id": f"v{code[-3:]}", **CONSISTENT_FORM, **changes}


def checked(code: str, rules: tuple[str, ...], broken: set[str] = frozenset()) -> list[dict]:
    return [{"code": code, "rule_id": rule, "broken": rule in broken} for rule in rules]


def findings(model: str, given: dict) -> dict[tuple[str, str], tuple[str, str]]:
    """(code, rule) -> (observed, expected) for each rule the model finds broken."""
    return {(r["code"], r["rule_id"]): (r["observed"], r["expected"]) for r in run_model(model, given) if r["broken"]}


ARITHMETIC_FORMS = {"int_tps_facts": [
    form(T1),
    form(T2, suara_sah=99, suara_tidak_sah=3),  # 100 candidate votes vs sah 99 (99 + 3 = 102 still adds up)
    form(T3, suara_tidak_sah=3),  # 100 + 3 = 103 ballots vs total 102
    form(KEL + "004", pemilih_dpt_l=101),  # 200 registered vs 101 + 100
    form(KEL + "005", suara_sah=None, suara_tidak_sah=None),  # the checks reading them are skipped
    form(KEL + "006", **{field: None for field in CONSISTENT_FORM if field != "candidate_sum"}),  # chart only
]}


def test_int_rule_arithmetic_checks_the_c1_form_and_skips_what_is_missing() -> None:
    check_model("int_rule_arithmetic", ARITHMETIC_FORMS, [
        *checked(T1, ARITHMETIC),
        *checked(T2, ARITHMETIC, {"c1_candidate_sum"}),
        # suara_total is still 102 = voters: only the sum breaks, not ballots_over_voters.
        *checked(T3, ARITHMETIC, {"c1_valid_invalid_total"}),
        *checked(KEL + "004", ARITHMETIC, {"c1_male_female_total"}),
        # Without sah and tidak sah, candidate_sum and valid_invalid_total cannot run: 4 checks, not 6.
        *checked(KEL + "005", ARITHMETIC[2:]),
        # 006 has no administrasi block: no C1 check at all (missing is not zero).
    ])  # fmt: skip
    assert findings("int_rule_arithmetic", ARITHMETIC_FORMS) == {
        (T2, "c1_candidate_sum"): ("100", "99"),
        (T3, "c1_valid_invalid_total"): ("100 + 3 = 103", "102"),
        (KEL + "004", "c1_male_female_total"): ("pemilih_dpt_j = 200", "pemilih_dpt_l + _p = 101 + 100 = 201"),
    }


PLAUSIBILITY = ("candidate_over_cap", "votes_over_dpt", "counts_over_registered")


def chart(code: str, *counts: int, election: str = PEMILU) -> list[dict]:
    return [{"election": election, "contest": "ppwp", "code": code, "candidate_id": f"c{n}", "votes": v}
            for n, v in enumerate(counts, start=1)]  # fmt: skip


PLAUSIBILITY_FORMS = {
    "int_tps_facts": [
        # Thresholds of the shipped pack: cap 300 (pemilu) / 600 (pilkada), tolerance 0.02.
        form(T1, candidate_sum=301, candidate_max=301, suara_total=303, pemilih_dpt_j=400, pengguna_dptb_j=2, pengguna_non_dpt_j=1),
        form(T2, candidate_sum=300, candidate_max=300, suara_total=303, pemilih_dpt_j=400, pengguna_dptb_j=2, pengguna_non_dpt_j=1),
        form(T3, candidate_sum=100, candidate_max=60, suara_total=102, pemilih_dpt_j=97, pengguna_dptb_j=5, pengguna_non_dpt_j=1),
        form(KEL + "004", election=PILKADA, candidate_sum=500, candidate_max=500, pemilih_dpt_j=None),
        form(KEL + "005", candidate_sum=None, candidate_max=None, suara_total=110, pemilih_dpt_j=100, pengguna_dptb_j=3, pengguna_non_dpt_j=2),
    ],
    "int_node_votes": [*chart(T1, 301, 0), *chart(T2, 300, 0), *chart(T3, 60, 40), *chart(KEL + "004", 500, 0, election=PILKADA)],
}


def test_int_rule_plausibility_uses_the_rule_packs_caps_and_tolerance() -> None:
    check_model("int_rule_plausibility", PLAUSIBILITY_FORMS, [
        # 301 > 300; 301 <= 400 x 1.02 = 408; max(301, 303) = 303 <= 400 + 2 + 1 = 403.
        *checked(T1, PLAUSIBILITY, {"candidate_over_cap"}),
        # 300 is at the cap, not above it.
        *checked(T2, PLAUSIBILITY),
        # 100 > 97 x 1.02 = 98.94; max(100, 102) = 102 <= 97 + 5 + 1 = 103.
        *checked(T3, PLAUSIBILITY, {"votes_over_dpt"}),
        # Pilkada's cap is 600: 500 passes. No DPT: the two DPT checks cannot run.
        *checked(KEL + "004", PLAUSIBILITY[:1]),
        # No chart: only suara_total can be checked, 110 > 100 + 3 + 2 = 105.
        *checked(KEL + "005", PLAUSIBILITY[2:], {"counts_over_registered"}),
    ])  # fmt: skip
    assert findings("int_rule_plausibility", PLAUSIBILITY_FORMS) == {
        (T1, "candidate_over_cap"): ("c1: 301", "300"),
        (T3, "votes_over_dpt"): ("100", "97 x 1.02 = 98.94"),
        (KEL + "005", "counts_over_registered"): ("suara_total 110", "100 + 3 + 2 = 105"),
    }


def test_int_rule_plausibility_reads_its_thresholds_from_ref_rule_params() -> None:
    looser = [
        {"rule_id": "candidate_over_cap", "param": "pemilu", "value": 301.0},
        {"rule_id": "candidate_over_cap", "param": "pilkada", "value": 600.0},
        {"rule_id": "votes_over_dpt", "param": "tolerance", "value": 0.05},
    ]
    got = findings("int_rule_plausibility", PLAUSIBILITY_FORMS | {"ref_rule_params": looser})
    # 301 is at a cap of 301; 100 <= 97 x 1.05 = 101.85: only the suara_total finding is left.
    assert set(got) == {(KEL + "005", "counts_over_registered")}


def node(code: str, version_id: str, node_type: str = "aggregate", **row) -> dict:
    return pkwkp(code=code, version_id=version_id, node_type=node_type, **row)


def counts(code: str, *votes_per_candidate: int, column: str = "code") -> list[dict]:
    return [pkwkp(**{column: code}, candidate_id=str(n), votes=v) for n, v in enumerate(votes_per_candidate, start=1)]


KEL_64, TPS_64A, TPS_64B = "6401012001", "6401012001001", "6401012001002"


def rollup_inputs(kelurahan_chart: tuple[int, int], max_difference: float = 0.0) -> dict:
    return {
        "int_nodes": [
            node("6401", "k6401", has_chart=True, progress_reported=10),  # 10 TPS in, 2 loaded: no TPS-sum check
            node("6402", "k6402", has_chart=True, progress_reported=5),
            node(KEL_64, "kel", has_chart=True, progress_reported=2),  # both its TPS loaded with a chart
            node(TPS_64A, "ta", "tps", has_chart=True), node(TPS_64B, "tb", "tps", has_chart=True),
        ],
        "int_node_votes": [*counts("6401", 101, 52), *counts("6402", 30, 20), *counts(KEL_64, *kelurahan_chart),
                           *counts(TPS_64A, 3, 1), *counts(TPS_64B, 4, 1)],
        "int_child_rows": [pkwkp(parent_code="64", child_code=c, has_votes=True, progress_reported=9, parent_version_id="p64")
                           for c in ("6401", "6402")],
        "int_child_votes": [*counts("6401", 100, 50, column="child_code"), *counts("6402", 30, 20, column="child_code")],
        # Both TPS are loaded with a chart, under the kelurahan and every region above it.
        "int_tps_rollup_counts": [pkwkp(code=c, tps_loaded=2, tps_with_chart=2, any_chart=True) for c in ("0", "64", "6401", "640101", KEL_64)],
        "int_tps_rollup_votes": counts(KEL_64, 7, 2),  # 3 + 4 and 1 + 1
        "ref_rule_params": [{"rule_id": "rollup_parent_row", "param": "max_difference", "value": max_difference},
                            {"rule_id": "rollup_tps_sum", "param": "max_difference", "value": max_difference}],
    }  # fmt: skip


def test_int_rule_rollup_compares_a_node_with_its_parent_row_and_its_tps_files() -> None:
    check_model("int_rule_rollup", rollup_inputs((7, 2)), [
        # 6401's own 101 : 52 vs the province's row 100 : 50.
        {"code": "6401", "rule_id": "rollup_parent_row", "broken": True, "observed": "1: 101, 2: 52", "expected": "1: 100, 2: 50"},
        # A check that holds shows no figures (int_rule_checks shows none of them).
        {"code": "6402", "rule_id": "rollup_parent_row", "broken": False, "observed": None, "expected": None},
        # The kelurahan's 7 : 2 = its two TPS, 3 + 4 : 1 + 1 (the next test breaks it, with its figures).
        {"code": KEL_64, "rule_id": "rollup_tps_sum", "broken": False, "observed": None, "expected": None},
    ])  # fmt: skip


def test_int_rule_rollup_counts_a_candidate_missing_on_one_side_as_0_and_shows_it_as_a_dash() -> None:
    inputs = rollup_inputs((7, 2))
    # 6402's chart holds candidates 1 and 2 (30, 20); its row in the province's table holds 1 and a
    # candidate 3 its chart lacks.
    inputs["int_child_votes"] = [*counts("6401", 101, 52, column="child_code"),
                                 pkwkp(child_code="6402", candidate_id="1", votes=30), pkwkp(child_code="6402", candidate_id="3", votes=5)]
    # The kelurahan's TPS files add up to candidate 1 only.
    inputs["int_tps_rollup_votes"] = counts(KEL_64, 7)
    got = findings("int_rule_rollup", inputs)
    assert got == {
        ("6402", "rollup_parent_row"): ("1: 30, 2: 20, 3: -", "1: 30, 2: -, 3: 5"),
        (KEL_64, "rollup_tps_sum"): ("1: 7, 2: -", "file 1: 7, 2: 2"),
    }  # fmt: skip


def test_int_rule_rollup_breaks_only_beyond_max_difference() -> None:
    # The kelurahan says 7 : 3, its TPS add up to 7 : 2: one vote apart.
    strict = rollup_inputs((7, 3))
    assert findings("int_rule_rollup", strict)[KEL_64, "rollup_tps_sum"] == ("1: 7, 2: 2", "file 1: 7, 2: 3")
    # With max_difference 1, a 1-vote gap passes; 6401's 101 - 100 = 1 and 52 - 50 = 2 still breaks.
    assert set(findings("int_rule_rollup", rollup_inputs((7, 3), max_difference=1))) == {("6401", "rollup_parent_row")}


def version(code: str, version_id: str, seq: int, **row) -> dict:
    return pkwkp(code=code, version_id=version_id, observed_seq=seq, **row)


def test_int_rule_withheld_reports_the_latest_withheld_version_and_what_is_reported_instead() -> None:
    check_model("int_rule_withheld", {
        "int_node_versions": [
            version("6401", "k1", 1, withheld=False, chart_votes=15, progress_reported=3, progress_total=10, source_ts="t1"),
            version("6401", "k2", 2, withheld=True, candidate_counts=2, progress_reported=4, progress_total=10, source_ts="t2"),
            version("6402", "m1", 3, withheld=False, chart_votes=8),
            version("6403", "w1", 4, withheld=True, candidate_counts=2, progress_reported=1, progress_total=5, source_ts="t4"),
        ],
        # The versions in use (int_latest_documents skips withheld ones): 6403 was only seen withheld.
        "int_nodes": [node("6401", "k1"), node("6402", "m1")],
    }, [
        {"code": "6401", "version_id": "k2", "broken": True, "observed": "all 2 counts 0 at progress 4/10 (ts t2)",
         "expected": "the earlier version with 15 votes at progress 3/10 (ts t1)"},
        {"code": "6402", "version_id": "m1", "broken": False, "observed": None, "expected": None},
        {"code": "6403", "version_id": "w1", "broken": True, "observed": "all 2 counts 0 at progress 1/5 (ts t4)",
         "expected": "nothing: no earlier counts (no data)"},
    ])  # fmt: skip


def test_int_rule_psu_flags_a_revote_marker_in_the_file_or_the_parents_row() -> None:
    check_model("int_rule_psu", {
        "int_nodes": [node("6401", "k1", psu="PSU"), node("6402", "k2", psu="Reguler"), node("6403", "k3"), node("6404", "k4")],
        "int_child_rows": [
            pkwkp(parent_code="64", child_code="6403", psu="PSL", parent_version_id="p64"),
            pkwkp(parent_code="64", child_code="6404", psu=" ", parent_version_id="p64"),  # blank is not a marker
        ],
    }, [
        {"code": "6401", "version_id": "k1", "broken": True, "observed": "PSU"},
        {"code": "6402", "version_id": "k2", "broken": False, "observed": None},
        # The file says nothing; the province's row for it says PSL: the finding points at the province's version.
        {"code": "6403", "version_id": "p64", "broken": True, "observed": "PSL"},
        {"code": "6404", "version_id": "k4", "broken": False, "observed": None},
    ])  # fmt: skip


REFERENCE_BASE = {
    "int_contests": CONTESTS,
    "int_nodes": [ppwp(code=T1, version_id="v1"), ppwp(code=T2, version_id="v2")],
}


def test_int_rule_reference_unknown_candidate() -> None:
    check_model("int_rule_reference", REFERENCE_BASE | {
        "int_node_votes": [ppwp(code=T1, candidate_id=ANIES, votes=1), ppwp(code=T1, candidate_id="100099", votes=5),
                           ppwp(code=T2, candidate_id=PRABOWO, votes=3)],
        "int_candidates": [ppwp(candidate_id=ANIES), ppwp(candidate_id=PRABOWO)],  # a national master
    }, [
        {"code": T1, "rule_id": "unknown_candidate", "broken": True, "observed": "100099", "expected": f"{ANIES}, {PRABOWO}"},
        {"code": T2, "rule_id": "unknown_candidate", "broken": False, "observed": None, "expected": None},
    ])  # fmt: skip


def test_int_rule_reference_region_outside_tree() -> None:
    check_model("int_rule_reference", REFERENCE_BASE | {
        "int_region_tree": [{"election": PEMILU, "parent_code": KEL, "code": T1}],  # the kelurahan's list omits T2
    }, [
        {"code": T1, "rule_id": "region_outside_tree", "broken": False, "observed": T1, "expected": KEL},
        {"code": T2, "rule_id": "region_outside_tree", "broken": True, "observed": T2, "expected": KEL},
    ])  # fmt: skip


def test_int_rule_reference_duplicate_node() -> None:
    def seen(code, version_id, seq, **row):
        return ppwp(code=code, version_id=version_id, observed_seq=seq, run_id="r1", snapshot="snap", **row)

    given = REFERENCE_BASE | {
        "int_node_versions": [seen(T1, "v0", 1), seen(T1, "v1", 2), seen(T2, "v2", 3)],
        # One snapshot holds T1 twice with different content (two paths), T2 once.
        "int_node_observations": [seen(T1, "v0", 1, source_path="a/t1.json"), seen(T1, "v1", 2, source_path="b/t1.json"),
                                  seen(T2, "v2", 3, source_path="a/t2.json")],
    }  # fmt: skip
    check_model("int_rule_reference", given, [
        # The finding points at T1's latest version, v1 (seq 2 > 1).
        {"code": T1, "rule_id": "duplicate_node", "broken": True, "version_id": "v1"},
        {"code": T2, "rule_id": "duplicate_node", "broken": False, "version_id": "v2"},
    ])  # fmt: skip
    assert findings("int_rule_reference", given) == {
        (T1, "duplicate_node"): ("2 different versions in snap (a/t1.json, b/t1.json)", "1 version"),
    }


# --- Marts: reconciliation, outcome risk, corrections, data quality -----------------------------

def source_number(code: str, source: str, nomor_urut: int, count: int, complete: bool = True, **row) -> dict:
    return pkwkp(region_code=code, level={2: "provinsi", 4: "kabkota"}[len(code)], race_code="64", source=source,
                 nomor_urut=nomor_urut, candidate_id=f"c{nomor_urut}", candidate_key=f"{nomor_urut:02d}",
                 votes=count, complete=complete, **row)  # fmt: skip


def test_reconciliation_matches_mismatches_missing_and_partial_sources() -> None:
    check_model("reconciliation", {
        "int_source_votes": [
            source_number("64", "internal", 1, 100), source_number("64", "internal", 2, 50),
            source_number("64", "sirekap", 1, 100), source_number("64", "sirekap", 2, 48),
            # The internal count has no number for 02 in 6401 (an empty cell).
            source_number("6401", "internal", 1, 60), source_number("6401", "sirekap", 1, 60), source_number("6401", "sirekap", 2, 30),
            source_number("6402", "internal", 1, 40, tps_covered=10, tps_total=10),
            source_number("6402", "internal", 2, 20, tps_covered=10, tps_total=10),
            source_number("6402", "sirekap", 1, 20, complete=False, tps_covered=5, tps_total=10),
            source_number("6402", "sirekap", 2, 10, complete=False, tps_covered=5, tps_total=10),
            source_number("6403", "sirekap", 1, 70),  # one source only: nothing to reconcile
        ],
        "int_region_names": [{"code": "64", "region_name": "KALIMANTAN TIMUR"}],
    }, [
        {"region_code": "64", "region_name": "KALIMANTAN TIMUR", "candidate_name": "candidate 01", "internal_votes": 100, "sirekap_votes": 100,
         "internal_minus_sirekap": 0, "status": "match", "internal_vs_sirekap": "match", "coverage": None},
        {"region_code": "64", "region_name": "KALIMANTAN TIMUR", "candidate_name": "candidate 02", "internal_votes": 50, "sirekap_votes": 48,
         "internal_minus_sirekap": 2, "status": "mismatch", "internal_vs_sirekap": "mismatch", "coverage": None},  # 50 - 48
        {"region_code": "6401", "region_name": None, "candidate_name": "candidate 01", "internal_votes": 60, "sirekap_votes": 60,
         "internal_minus_sirekap": 0, "status": "match", "internal_vs_sirekap": "match", "coverage": None},
        # The internal count has kab/kota numbers in this race, so its missing 02 is missing, not 0.
        {"region_code": "6401", "region_name": None, "candidate_name": "candidate 02", "internal_votes": None, "sirekap_votes": 30,
         "internal_minus_sirekap": None, "status": "missing_internal", "internal_vs_sirekap": None, "coverage": None},
        # SIREKAP covers 5 of 10 TPS: 40 vs 20 is not a mismatch yet.
        {"region_code": "6402", "region_name": None, "candidate_name": "candidate 01", "internal_votes": 40, "sirekap_votes": 20,
         "internal_minus_sirekap": 20, "status": "partial", "internal_vs_sirekap": "partial", "coverage": "SIREKAP 5 of 10 TPS"},
        {"region_code": "6402", "region_name": None, "candidate_name": "candidate 02", "internal_votes": 20, "sirekap_votes": 10,
         "internal_minus_sirekap": 10, "status": "partial", "internal_vs_sirekap": "partial", "coverage": "SIREKAP 5 of 10 TPS"},
    ])  # fmt: skip


def test_tps_reconciliation_compares_internal_and_sirekap_at_each_tps_of_the_race() -> None:
    tps_a, tps_b, tps_d, other_race = "6401012001001", "6401012001002", "6401012001004", "6501012001001"
    check_model("tps_reconciliation", {
        "int_count_regions": [
            pkwkp(source_kind="internal", level="tps", code=tps_a, version_id="f1", row_number=2, submissions=2, submissions_disagree=True),
            pkwkp(source_kind="internal", level="tps", code=tps_d, version_id="f1", row_number=3, submissions=1, submissions_disagree=False),
        ],
        "int_count_votes": [
            pkwkp(source_kind="internal", version_id="f1", row_number=2, nomor_urut=1, candidate_id="c1", votes=10),
            pkwkp(source_kind="internal", version_id="f1", row_number=2, nomor_urut=2, candidate_id="c2", votes=5),
            pkwkp(source_kind="internal", version_id="f1", row_number=3, nomor_urut=1, candidate_id="c1", votes=8),
        ],
        "int_nodes": [
            pkwkp(code=tps_a, node_type="tps", has_chart=True, images=["https://img/a1.jpg", None]),
            pkwkp(code=tps_b, node_type="tps", has_chart=True),
            pkwkp(code=other_race, node_type="tps", has_chart=True),  # province 65: no internal count there
        ],
        "int_node_votes": [pkwkp(code=tps_a, candidate_id="c1", votes=10), pkwkp(code=tps_a, candidate_id="c2", votes=7),
                           pkwkp(code=tps_b, candidate_id="c1", votes=3), pkwkp(code=tps_b, candidate_id="c2", votes=4),
                           pkwkp(code=other_race, candidate_id="c1", votes=9)],
        "int_candidates": [pkwkp(region_code="64", candidate_id="c1", nomor_urut=1), pkwkp(region_code="64", candidate_id="c2", nomor_urut=2)],
        "int_contests": CONTESTS,
        "tps_status": [pkwkp(tps_code=tps_a, status="flagged")],
    }, [
        {"tps_code": tps_a, "nomor_urut": 1, "internal_votes": 10, "sirekap_votes": 10, "delta": 0, "status": "match",
         "internal_submissions_disagree": True, "sirekap_published": True, "image_urls": ["https://img/a1.jpg"], "anomaly_status": "flagged"},
        {"tps_code": tps_a, "nomor_urut": 2, "internal_votes": 5, "sirekap_votes": 7, "delta": -2, "status": "mismatch",  # 5 - 7
         "internal_submissions_disagree": True, "sirekap_published": True, "image_urls": ["https://img/a1.jpg"], "anomaly_status": "flagged"},
        {"tps_code": tps_b, "nomor_urut": 1, "internal_votes": None, "sirekap_votes": 3, "delta": None, "status": "missing_internal",
         "internal_submissions_disagree": None, "sirekap_published": True, "image_urls": None, "anomaly_status": None},
        {"tps_code": tps_b, "nomor_urut": 2, "internal_votes": None, "sirekap_votes": 4, "delta": None, "status": "missing_internal",
         "internal_submissions_disagree": None, "sirekap_published": True, "image_urls": None, "anomaly_status": None},
        # Not published by SIREKAP: missing there, never a 0.
        {"tps_code": tps_d, "nomor_urut": 1, "internal_votes": 8, "sirekap_votes": None, "delta": None, "status": "missing_sirekap",
         "internal_submissions_disagree": False, "sirekap_published": False, "image_urls": None, "anomaly_status": None},
    ])  # fmt: skip


def leader(race: str, source: str, key: str | None, margin: int, valid: int, region: str | None = None, **row) -> dict:
    return pkwkp(region_code=region or race, race_code=race, source=source, leader_key=key,
                 leader_nomor_urut=int(key) if key else None, leader_candidate_id=f"{race}-{key}" if key else None,
                 margin_votes=margin, valid_votes=valid, **row)  # fmt: skip


def test_outcome_risk_weighs_the_votes_at_stake_against_the_smallest_margin() -> None:
    check_model("outcome_risk", {
        "int_source_leaders": [
            leader("64", "internal", "01", 1200, 10000), leader("64", "sirekap", "01", 1000, 10000, tps_covered=90, tps_total=100),
            leader("64", "internal", "02", 10, 100, region="6401"),  # a kab/kota inside the race: not the race's leader
            leader("65", "internal", "02", 300, 5000), leader("65", "sirekap", "01", 200, 5000, tps_covered=100, tps_total=100),
            leader("63", "sirekap", "01", 5000, 20000, tps_covered=100, tps_total=100),
            leader("62", "sirekap", None, 0, 1000, tps_covered=50, tps_total=50),  # a tie: no leader
        ],
        "reconciliation": [
            pkwkp(region_code="64", race_code="64", internal_vs_sirekap="mismatch", internal_minus_sirekap=200),
            pkwkp(region_code="64", race_code="64", internal_vs_sirekap="match", internal_minus_sirekap=0),
            pkwkp(region_code="6401", race_code="64", internal_vs_sirekap="mismatch", internal_minus_sirekap=999),  # below the race
        ],
        "tps_reconciliation": [
            pkwkp(race_code="64", tps_code="6401012001001", status="mismatch", delta=-30),
            pkwkp(race_code="64", tps_code="6401012001002", status="mismatch", delta=20),
            pkwkp(race_code="64", tps_code="6401012001003", status="match", delta=0),
        ],
        "int_contests": CONTESTS,
        # SIREKAP's candidate ids are per race: 63's leader is another pair, without a name here.
        "int_candidates": [pkwkp(region_code="64", candidate_id="64-01", nomor_urut=1, candidate_name="RUDY - SENO")],
        "tps_status": [pkwkp(tps_code="6401012001001", error_flagged=True, votes=50),
                       pkwkp(tps_code="6401012001002", error_flagged=False, votes=70),
                       pkwkp(tps_code="6501012001001", error_flagged=False, votes=10)],
    }, [
        # 64: discrepancy = max(200 at the race level, 30 + 20 over its TPS) = 200; unreported = 10000 x (100 - 90) / 90
        # = 1111.1 -> 1111; flagged = 50; at stake 200 + 1111 + 50 = 1361 > the smallest margin, SIREKAP's 1000.
        {"race_code": "64", "leader_nomor_urut": 1, "leader_name": "RUDY - SENO", "margin_votes": 1000, "margin_source": "sirekap",
         "discrepancy_votes": 200, "tps_mismatched": 2, "unreported_votes": 1111, "flagged_votes": 50, "votes_at_stake": 1361, "verdict": "at_risk"},
        # 65: the internal count says 02 leads, SIREKAP 01. Nothing unreported (100 of 100), no flagged votes (0).
        {"race_code": "65", "leader_nomor_urut": None, "leader_name": None, "margin_votes": 200, "margin_source": "sirekap",
         "discrepancy_votes": 0, "tps_mismatched": 0, "unreported_votes": 0, "flagged_votes": 0, "votes_at_stake": 0, "verdict": "flips"},
        # 63: nothing at stake, 0 < 5000 (no TPS of the race loaded: flagged_votes unknown, not 0).
        {"race_code": "63", "leader_nomor_urut": 1, "leader_name": "candidate 01", "margin_votes": 5000, "margin_source": "sirekap",
         "discrepancy_votes": 0, "tps_mismatched": 0, "unreported_votes": 0, "flagged_votes": None, "votes_at_stake": 0, "verdict": "safe"},
        # 62: SIREKAP is tied, so it names no leader: at risk whatever the stake.
        {"race_code": "62", "leader_nomor_urut": None, "leader_name": None, "margin_votes": 0, "margin_source": "sirekap",
         "discrepancy_votes": 0, "tps_mismatched": 0, "unreported_votes": 0, "flagged_votes": None, "votes_at_stake": 0, "verdict": "at_risk"},
    ])  # fmt: skip


def test_corrections_lists_what_the_latest_run_changed() -> None:
    tps_a, tps_b, tps_c, tps_e, tps_f, tps_g = (KEL_64 + n for n in ("001", "002", "003", "005", "006", "007"))

    def seen(code: str, version_id: str, run_id: str, seq: int) -> dict:
        return pkwkp(code=code, version_id=version_id, run_id=run_id, observed_seq=seq)

    def counted(version_id: str, count: int, candidate_id: str = "x") -> dict:
        return {"version_id": version_id, "candidate_id": candidate_id, "votes": count}

    check_model("corrections", {
        "runs": [{"run_id": "r1", "started_at": datetime(2024, 11, 27, 1)}, {"run_id": "r2", "started_at": datetime(2024, 11, 28, 1)}],
        "int_node_observations": [
            seen(tps_a, "a1", "r1", 1), seen(tps_c, "c1", "r1", 2), seen(tps_e, "e1", "r1", 3), seen(KEL_64, "k1", "r1", 4), seen(tps_g, "g1", "r1", 5),
            seen(tps_a, "a2", "r2", 11), seen(tps_b, "b1", "r2", 12), seen(tps_c, "c2", "r2", 13), seen(tps_e, "e2", "r2", 14),
            seen(KEL_64, "k2", "r2", 15), seen(tps_g, "g2", "r2", 16),
        ],
        "int_node_versions": [
            {"version_id": v, "withheld": v == "e2", "vote_sum": s}
            for v, s in {"a1": 15, "a2": 17, "b1": 7, "c1": 3, "c2": 3, "e1": 9, "e2": 0, "k1": None, "k2": None, "g1": None, "g2": 6}.items()
        ],
        "stg_node_votes": [counted("a1", 10), counted("a1", 5, "y"), counted("a2", 12), counted("a2", 5, "y"), counted("b1", 7),
                           counted("c1", 3), counted("c2", 3), counted("e1", 9), counted("e2", 0), counted("g2", 6)],
        # The kelurahan's table listed TPS a and f before the run, only a after it.
        "stg_child_rows": [{"version_id": "k1", "child_code": tps_a}, {"version_id": "k1", "child_code": tps_f},
                           {"version_id": "k2", "child_code": tps_a}],
        "stg_child_votes": [{"version_id": "k1", "child_code": tps_f, "candidate_id": "x", "votes": 4}],
    }, [
        {"code": tps_a, "change_kind": "changed", "candidate_id": "x", "votes_before": 10, "votes_after": 12, "delta": 2, "run_id": "r2"},
        # y did not move, but the node's counts did: the whole node is shown.
        {"code": tps_a, "change_kind": "changed", "candidate_id": "y", "votes_before": 5, "votes_after": 5, "delta": 0, "run_id": "r2"},
        {"code": tps_b, "change_kind": "new", "candidate_id": "x", "votes_before": None, "votes_after": 7, "delta": None, "run_id": "r2"},
        # tps_c: a new version with the same 3 votes (a new ts or photo) is not a correction; nor is the kelurahan's new table.
        {"code": tps_e, "change_kind": "withheld", "candidate_id": "x", "votes_before": 9, "votes_after": 0, "delta": -9, "run_id": "r2"},
        {"code": tps_f, "change_kind": "vanished", "candidate_id": "x", "votes_before": 4, "votes_after": None, "delta": None, "run_id": "r2"},
        {"code": tps_g, "change_kind": "reported", "candidate_id": "x", "votes_before": None, "votes_after": 6, "delta": None, "run_id": "r2"},
    ])  # fmt: skip


def test_int_kelurahan_rule_counts_counts_each_tps_once_per_rule_in_its_kelurahan() -> None:
    other_kel_tps = "3101011002001"

    def check(code: str, rule_id: str, broken: bool, enabled: bool = True, level: str = "tps") -> dict:
        return ppwp(code=code, level=level, rule_id=rule_id, category="arithmetic", severity="error", enabled=enabled, broken=broken)

    check_model("int_kelurahan_rule_counts", {
        "int_rule_checks": [
            check(T1, "c1_candidate_sum", True), check(other_kel_tps, "c1_candidate_sum", False),
            check(T2, "c1_candidate_sum", False), check(T2, "c1_candidate_sum", True),  # two rows for one TPS: it counts once, flagged
            check(T1, "votes_over_dpt", True, enabled=False),  # a disabled rule counts nowhere
            check(KEL, "rollup_tps_sum", True, level="kelurahan"),  # a region's own finding: in anomalies, not here
        ],
        "int_tps_flags": [ppwp(code=T1, votes=100), ppwp(code=T2, votes=30), ppwp(code=other_kel_tps, votes=80)],
    }, [
        # T1 and T2 in KEL, both flagged: 100 + 30 votes. The other kelurahan's TPS passed: no votes flagged (0, not missing).
        ppwp(region_code=KEL, rule_id="c1_candidate_sum", severity="error", tps_checked=2, tps_flagged=2, votes_in_flagged_tps=130),
        ppwp(region_code="3101011002", rule_id="c1_candidate_sum", severity="error", tps_checked=1, tps_flagged=0, votes_in_flagged_tps=0),
    ])  # fmt: skip


def test_data_quality_sums_its_kelurahan_at_every_level_above_them() -> None:
    def kelurahan(code: str, checked: int, flagged: int, votes: int) -> dict:
        return ppwp(region_code=code, rule_id="c1_candidate_sum", category="arithmetic", severity="error",
                    tps_checked=checked, tps_flagged=flagged, votes_in_flagged_tps=votes)  # fmt: skip

    check_model("data_quality", {
        "int_kelurahan_rule_counts": [kelurahan(KEL, 2, 1, 100), kelurahan("3101011002", 1, 0, 0), kelurahan("6401011001", 3, 2, 50)],
        "int_region_names": [{"code": "31", "region_name": "DKI JAKARTA"}],
    }, [
        # The nation: 2 + 1 + 3 TPS checked, 1 + 0 + 2 flagged, 100 + 0 + 50 votes.
        {"level": "nasional", "region_code": "0", "region_name": None, "tps_checked": 6, "tps_flagged": 3, "votes_in_flagged_tps": 150},
        # Jakarta's two kelurahan lie in one kecamatan: 2 + 1 checked, 1 flagged, 100 votes at each level above them.
        *({"level": level, "region_code": code, "region_name": name, "tps_checked": 3, "tps_flagged": 1, "votes_in_flagged_tps": 100}
          for level, code, name in (("provinsi", "31", "DKI JAKARTA"), ("kabkota", "3101", None), ("kecamatan", "310101", None))),
        *({"level": level, "region_code": code, "region_name": None, "tps_checked": 3, "tps_flagged": 2, "votes_in_flagged_tps": 50}
          for level, code in (("provinsi", "64"), ("kabkota", "6401"), ("kecamatan", "640101"), ("kelurahan", "6401011001"))),
        {"level": "kelurahan", "region_code": KEL, "region_name": None, "tps_checked": 2, "tps_flagged": 1, "votes_in_flagged_tps": 100},
        {"level": "kelurahan", "region_code": "3101011002", "region_name": None, "tps_checked": 1, "tps_flagged": 0, "votes_in_flagged_tps": 0},
    ])  # fmt: skip


def test_anomalies_fills_the_rule_packs_messages_for_each_enabled_broken_rule() -> None:
    def check(rule_id: str, broken: bool, enabled: bool = True) -> dict:
        return ppwp(code=T1, level="tps", rule_id=rule_id, severity="error", enabled=enabled, broken=broken,
                    observed="100" if broken else None, expected="99" if broken else None, version_id="v1")  # fmt: skip

    check_model("anomalies", {
        "int_rule_checks": [check("c1_candidate_sum", True), check("c1_voters_total", False), check("votes_over_dpt", True, enabled=False)],
        "int_node_versions": [{"version_id": "v1", "source_ts": "2024-02-15 10:00:00", "images": ["https://img/t1.jpg"]}],
    }, [
        # The shipped pack's templates, {observed} = 100 and {expected} = 99.
        {"code": T1, "region_name": "TPS 001", "rule_id": "c1_candidate_sum",
         "message_en": "Candidate votes add up to 100, not to the valid votes 99.",
         "message_id": "Jumlah suara paslon 100 tidak sama dengan suara sah 99.",
         "source_ts": "2024-02-15 10:00:00", "images": ["https://img/t1.jpg"]},
    ])  # fmt: skip


def test_int_source_leaders_flags_ties_and_names_no_leader_without_every_candidates_number() -> None:
    check_model("int_source_leaders", {
        "int_source_votes": [
            source_number("64", "sirekap", 1, 100), source_number("64", "sirekap", 2, 100),
            source_number("64", "internal", 1, 120), source_number("64", "internal", 2, 80),
            source_number("64", "official", 1, 90),  # the recap has no number for 02
        ],
    }, [
        # 100 : 100 is a tie: no leader, margin 0.
        {"source": "sirekap", "has_all_candidates": True, "tie": True, "leader_key": None, "runner_up_key": None, "margin_votes": 0, "valid_votes": 200},
        {"source": "internal", "has_all_candidates": True, "tie": False, "leader_key": "01", "runner_up_key": "02", "margin_votes": 40, "valid_votes": 200},
        # 02's count is unknown, so 90 for 01 says nothing about who leads.
        {"source": "official", "has_all_candidates": False, "tie": False, "leader_key": None, "runner_up_key": None, "margin_votes": None, "valid_votes": 90},
    ])  # fmt: skip


def test_corrections_summary_nets_tps_votes_per_kabkota_and_change_kind() -> None:
    tps_a, tps_b = KEL_64 + "001", KEL_64 + "002"

    def change(code: str, level: str, kind: str, delta: int | None) -> dict:
        return pkwkp(code=code, level=level, change_kind=kind, candidate_id="x", delta=delta, run_id="r2")

    check_model("corrections_summary", {
        "corrections": [
            change(tps_a, "tps", "changed", 2), change(tps_a, "tps", "changed", 0), change(KEL_64, "kelurahan", "changed", 2),
            change(tps_b, "tps", "new", None),
            change("64", "provinsi", "changed", 2),  # above kab/kota: in no kab/kota's row
        ],
    }, [
        # 2 nodes (TPS a, the kelurahan), 1 TPS; only TPS deltas add up: 2 + 0 = 2 (the kelurahan's 2 is the same votes).
        {"kabkota_code": "6401", "change_kind": "changed", "nodes": 2, "tps": 1, "tps_votes_delta": 2, "run_id": "r2"},
        {"kabkota_code": "6401", "change_kind": "new", "nodes": 1, "tps": 1, "tps_votes_delta": None, "run_id": "r2"},
    ])  # fmt: skip


def test_node_history_starts_a_new_spell_whenever_the_version_changes() -> None:
    def seen(version_id: str, seq: int, day: int) -> dict:
        return ppwp(code=T1, version_id=version_id, observed_seq=seq, observed_at=datetime(2024, 2, day), run_id=f"r{seq}")

    check_model("node_history", {
        # v1, v1 again, v2, then v1 once more: three spells.
        "int_node_observations": [seen("v1", 1, 15), seen("v1", 2, 16), seen("v2", 3, 17), seen("v1", 4, 18)],
        "int_node_versions": [{"version_id": "v1", "level": "tps"}, {"version_id": "v2", "level": "tps"}],
    }, [
        {"spell": 1, "version_id": "v1", "valid_from": datetime(2024, 2, 15), "valid_to": datetime(2024, 2, 17), "is_current": False, "observations": 2, "source_run_id": "r1"},
        {"spell": 2, "version_id": "v2", "valid_from": datetime(2024, 2, 17), "valid_to": datetime(2024, 2, 18), "is_current": False, "observations": 1, "source_run_id": "r3"},
        {"spell": 3, "version_id": "v1", "valid_from": datetime(2024, 2, 18), "valid_to": None, "is_current": True, "observations": 1, "source_run_id": "r4"},
    ])  # fmt: skip


def test_int_count_region_votes_rolls_rows_up_only_to_regions_without_a_row_of_their_own() -> None:
    tps_a, tps_b, tps_c = "6401012001001", "6401012001002", "6401022001001"
    rows = {tps_a: 2, tps_b: 3, "640102": 4, tps_c: 5}  # code -> row number in one internal-count file
    cells = {tps_a: {1: 10, 2: 5}, tps_b: {1: 4}, "640102": {1: 100, 2: 50}, tps_c: {1: 1}}  # TPS b's 02 cell is empty

    def out(code: str, nomor_urut: int, count: int, basis: str, covered: int, total: int) -> dict:
        return {"region_code": code, "nomor_urut": nomor_urut, "votes": count, "basis": basis, "tps_covered": covered, "tps_total": total}

    check_model("int_count_region_votes", {
        "int_count_regions": [pkwkp(source_kind="internal", code=code, version_id="f1", row_number=n, submissions=1) for code, n in rows.items()],
        "int_count_votes": [pkwkp(source_kind="internal", version_id="f1", row_number=rows[code], nomor_urut=nomor, candidate_id=f"c{nomor}", votes=v)
                            for code, numbers in cells.items() for nomor, v in numbers.items()],
        "int_contests": CONTESTS,
        # SIREKAP's TPS per region: how many TPS a region's own row speaks for.
        "int_regions": [pkwkp(region_code=code, tps_total=total) for code, total in
                        {"64": 100, "6401": 20, "640101": 2, "6401012001": 2, "640102": 10, "6401022001": 5}.items()],
    }, [
        # Each row as it stands: a TPS covers 1 TPS, the kecamatan's row its 10.
        out(tps_a, 1, 10, "row", 1, 1), out(tps_a, 2, 5, "row", 1, 1), out(tps_b, 1, 4, "row", 1, 1),
        out("640102", 1, 100, "row", 10, 10), out("640102", 2, 50, "row", 10, 10), out(tps_c, 1, 1, "row", 1, 1),
        # TPS a + b under their kelurahan and kecamatan: 01 10 + 4 over 2 TPS; 02 only a's 5, over 1 TPS.
        out("6401012001", 1, 14, "rollup", 2, 2), out("6401012001", 2, 5, "rollup", 1, 2),
        out("640101", 1, 14, "rollup", 2, 2), out("640101", 2, 5, "rollup", 1, 2),
        # The kab/kota and province add the kecamatan's own row, not TPS c below it: 01 10 + 4 + 100 = 114 over
        # 1 + 1 + 10 = 12 TPS; 02 5 + 50 = 55 over 1 + 10 = 11.
        out("6401", 1, 114, "rollup", 12, 20), out("6401", 2, 55, "rollup", 11, 20),
        out("64", 1, 114, "rollup", 12, 100), out("64", 2, 55, "rollup", 11, 100),
        # TPS c sums only into its kelurahan, the one region between it and the kecamatan's row.
        out("6401022001", 1, 1, "rollup", 1, 5),
    ])  # fmt: skip


def test_int_count_files_keeps_the_last_version_of_each_file_and_counts_shared_bytes_once() -> None:
    check_model("int_count_files", {
        "stg_count_files": [pkwkp(version_id=v, source_kind="internal") for v in ("v1", "v2", "v3")],
        "stg_observations": [
            observation("v1", 1, "counts/claim.csv"), observation("v2", 2, "counts/claim.csv"),  # the file edited and loaded again
            observation("v3", 3, "counts/a.csv"), observation("v3", 4, "counts/copy-of-a.csv"),  # the same bytes under two paths
        ],
    }, [
        {"version_id": "v2", "source_file": "counts/claim.csv", "observed_seq": 2},
        {"version_id": "v3", "source_file": "counts/copy-of-a.csv", "observed_seq": 4},
    ])  # fmt: skip


def test_int_official_total_checks_compares_the_recaps_total_row_with_its_other_rows() -> None:
    rows = {"64": 2, "6401": 3, "6402": 4}
    cells = {"64": {1: 150, 2: 80}, "6401": {1: 100, 2: 50}, "6402": {1: 50}}  # 6402's 02 cell is empty
    check_model("int_official_total_checks", {
        "int_count_submissions": [pkwkp(source_kind="official", code=code, is_total=code == "64", version_id="d1", row_number=n,
                                        source_file="kpu/dhasil.csv") for code, n in rows.items()],
        "int_count_votes": [pkwkp(source_kind="official", version_id="d1", row_number=rows[code], nomor_urut=nomor, votes=v)
                            for code, numbers in cells.items() for nomor, v in numbers.items()],
    }, [
        {"total_code": "64", "nomor_urut": 1, "total_votes": 150, "rows_votes": 150, "difference": 0, "matches": True},  # 100 + 50
        {"total_code": "64", "nomor_urut": 2, "total_votes": 80, "rows_votes": 50, "difference": 30, "matches": False},  # 80 - 50
    ])  # fmt: skip
