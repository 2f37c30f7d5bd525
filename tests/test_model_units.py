"""SQL models on given rows: each test feeds one model two to five hand-written rows of its direct
inputs and states the rows it must make (tests/model_rows.py runs it in milliseconds).

Golden style: the input rows and the expected rows sit side by side, and a comment says how each
expected number follows from the inputs by hand. Nothing here was read back from the pipeline.
The end-to-end tests on real data (tests/test_rules_kaltim.py, test_rules_seribu.py, ...) stay.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.model_rows import check_model, run_model

PEMILU, PILKADA = "pemilu2024", "pilkada2024"
# stg_contests as the model makes it (its own test below): the level each race is decided at.
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


def ancestors(election: str, contest: str, *tps_codes: str) -> list[dict]:
    """int_tps_ancestors for the TPS: the nation and the four regions above each one."""
    return [
        {"election": election, "contest": contest, "tps_code": code, "ancestor_code": ancestor}
        for code in tps_codes
        for ancestor in ("0", code[:2], code[:4], code[:6], code[:10])
    ]


# --- The harness keeps tests honest -----------------------------------------------------------

def test_the_harness_refuses_rows_for_a_table_the_model_does_not_read_directly() -> None:
    # region_winners reads int_regions, not the stg_nodes below it.
    with pytest.raises(pytest.fail.Exception, match="does not read stg_nodes directly"):
        run_model("region_winners", {"stg_nodes": [ppwp(code=T1)]})


def test_rows_given_to_one_check_are_gone_for_the_next() -> None:
    run_model("stg_node_votes", {"stg_nodes": [ppwp(code=T1, version_id="v1")],
                                 "raw_node_votes": [{"version_id": "v1", "candidate_id": ANIES, "votes": 5}]})  # fmt: skip
    # The same model with only the votes: no node, so no row (the node above was rolled back).
    check_model("stg_node_votes", {"raw_node_votes": [{"version_id": "v1", "candidate_id": ANIES, "votes": 5}]}, [])


# --- Staging: rename, cast, pick the version in use --------------------------------------------

def test_stg_contests_lists_the_three_modelled_races_typed() -> None:
    check_model("stg_contests", {}, [
        {"contest": "ppwp", "race_level": "nasional", "race_code_length": 0, "contest_name": "Presiden dan Wakil Presiden"},
        {"contest": "pkwkp", "race_level": "provinsi", "race_code_length": 2, "contest_name": "Gubernur dan Wakil Gubernur"},
        {"contest": "pkwkk", "race_level": "kabkota", "race_code_length": 4, "contest_name": "Bupati/Wali Kota dan Wakil"},
    ])  # fmt: skip


def test_stg_nodes_renames_the_publishers_ts_and_keeps_only_the_version_in_use() -> None:
    check_model("stg_nodes", {
        "stg_latest_documents": [
            ppwp(kind="node", code=T1, version_id="v2", source_ts="2024-02-15 10:00:00", source_file="m/t1.json", run_id="r1"),
            ppwp(kind="regions", code=KEL, version_id="w1"),  # a region list is not a node
        ],
        "raw_nodes": [
            {"version_id": "v1", "level": "tps", "node_type": "tps", "has_chart": False},  # superseded: not in use
            {"version_id": "v2", "level": "tps", "node_type": "tps", "has_chart": True, "progress_total": 1, "progress_reported": 1},
            {"version_id": "w1", "level": "kelurahan", "node_type": "aggregate", "has_chart": True},
        ],
    }, [
        {"code": T1, "version_id": "v2", "node_type": "tps", "has_chart": True, "progress_reported": 1,
         "source_ts": "2024-02-15 10:00:00", "source_file": "m/t1.json"},
    ])  # fmt: skip


def test_stg_candidates_takes_the_last_observed_master_and_drops_a_dangling_separator() -> None:
    check_model("stg_candidates", {
        "stg_latest_documents": [
            {"kind": "candidates", "election": PILKADA, "contest": "pkwkk", "code": "0", "version_id": "m1", "observed_seq": 1},
            {"kind": "candidates", "election": PILKADA, "contest": "pkwkk", "code": "6472", "version_id": "m2", "observed_seq": 2},
        ],
        "raw_candidates": [
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


def test_stg_latest_documents_picks_the_latest_observed_version_that_is_not_withheld() -> None:
    check_model("stg_latest_documents", {
        "raw_documents": [
            ppwp(kind="node", code=T1, version_id="a", ts="2024-02-16 09:00:00"),
            ppwp(kind="node", code=T1, version_id="b", ts="2024-02-15 09:00:00"),  # an older ts than a's
            ppwp(kind="node", code=T1, version_id="c", ts="2024-02-17 09:00:00"),
            ppwp(kind="node", code=T2, version_id="d"),
            ppwp(kind="node", code=T3, version_id="e"),
        ],
        # c and d withhold their counts (every count 0 while progress rose).
        "stg_node_versions": [{"version_id": "c", "withheld": True}, {"version_id": "d", "withheld": True}],
        "raw_observations": [
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
    "raw_documents": [
        ppwp(kind="node", code="3101", version_id="k1"), ppwp(kind="node", code="3101", version_id="k2"),
        ppwp(kind="node", code=T1, version_id="t1"),
        ppwp(kind="node", code=T2, version_id="u1"), ppwp(kind="node", code=T2, version_id="u2"),
    ],
    "stg_node_observations": [
        observation("k1", 1), observation("k2", 2), observation("t1", 3), observation("u1", 4), observation("u2", 5),
    ],
    "raw_nodes": [
        {"version_id": "k1", "node_type": "aggregate", "has_chart": True, "progress_reported": 3, "progress_total": 10},
        {"version_id": "k2", "node_type": "aggregate", "has_chart": True, "progress_reported": 4, "progress_total": 10},
        {"version_id": "t1", "node_type": "tps", "has_chart": True},
        {"version_id": "u1", "node_type": "tps", "has_chart": True},
        {"version_id": "u2", "node_type": "tps", "has_chart": True},
    ],
    "raw_node_votes": [
        {"version_id": "k1", "candidate_id": ANIES, "votes": 10}, {"version_id": "k1", "candidate_id": PRABOWO, "votes": 5},
        {"version_id": "k2", "candidate_id": ANIES, "votes": 0}, {"version_id": "k2", "candidate_id": PRABOWO, "votes": 0},
        {"version_id": "t1", "candidate_id": ANIES, "votes": 0}, {"version_id": "t1", "candidate_id": PRABOWO, "votes": 0},
        {"version_id": "u1", "candidate_id": ANIES, "votes": 7}, {"version_id": "u1", "candidate_id": PRABOWO, "votes": 0},
        {"version_id": "u2", "candidate_id": ANIES, "votes": 0}, {"version_id": "u2", "candidate_id": PRABOWO, "votes": 0},
    ],
}  # fmt: skip


def test_stg_node_versions_withholds_all_zero_counts_after_progress_or_earlier_votes() -> None:
    check_model("stg_node_versions", NODE_VERSIONS, [
        {"version_id": "k1", "version_number": 1, "vote_sum": 15, "earlier_had_votes": False, "withheld": False},  # 10 + 5
        # k2: every count 0 while the kab/kota reports 4 TPS in: withheld.
        {"version_id": "k2", "version_number": 2, "vote_sum": 0, "earlier_had_votes": True, "withheld": True},
        # t1: a TPS whose first chart is all zeros is a real zero.
        {"version_id": "t1", "version_number": 1, "vote_sum": 0, "earlier_had_votes": False, "withheld": False},
        {"version_id": "u1", "version_number": 1, "vote_sum": 7, "earlier_had_votes": False, "withheld": False},
        # u2: zeros after u1 had 7 votes: withheld.
        {"version_id": "u2", "version_number": 2, "vote_sum": 0, "earlier_had_votes": True, "withheld": True},
    ])  # fmt: skip


def test_stg_node_versions_withholds_nothing_when_the_rule_is_disabled() -> None:
    disabled = {"ref_rules": [{"rule_id": "withheld_counts", "category": "withheld", "severity": "warning", "enabled": False}]}
    check_model("stg_node_versions", NODE_VERSIONS | disabled, [
        {"version_id": v, "withheld": False} for v in ("k1", "k2", "t1", "u1", "u2")
    ])  # fmt: skip


# --- Which source a region's numbers come from ---------------------------------------------------

def test_int_region_sources_lists_own_file_parent_row_and_tps_rollup() -> None:
    tps_a, tps_b = "6401012001001", "6401012001002"
    check_model("int_region_sources", {
        "stg_nodes": [
            pkwkp(code="6401", node_type="aggregate", has_chart=True, progress_reported=10, progress_total=10),
            pkwkp(code=tps_a, node_type="tps", has_chart=True, progress_reported=1, progress_total=1),
            pkwkp(code=tps_b, node_type="tps", has_chart=False, progress_reported=0, progress_total=1),
        ],
        "stg_child_rows": [pkwkp(parent_code="64", child_code="6401", has_votes=True, progress_reported=9, progress_total=10)],
        "int_tps_ancestors": ancestors(PILKADA, "pkwkp", tps_a, tps_b),
    }, [
        {"code": "6401", "source_kind": "node", "has_votes": True, "tps_reported": 10, "tps_total": 10},
        {"code": tps_a, "source_kind": "node", "has_votes": True, "tps_reported": 1, "tps_total": 1},
        # A TPS's own file is its only source: it counts as the source with numbers even without a chart.
        {"code": tps_b, "source_kind": "node", "has_votes": True, "tps_reported": 0, "tps_total": 1},
        {"code": "6401", "source_kind": "parent_table", "has_votes": True, "tps_reported": 9, "tps_total": 10},
        # Every region above the two TPS: 2 TPS files loaded, 1 of them with a chart.
        *({"code": code, "source_kind": "tps_rollup", "has_votes": True, "tps_reported": 1, "tps_total": 2}
          for code in ("0", "64", "6401", "640101", "6401012001")),
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
        "stg_contests": CONTESTS,
        "stg_regions": [{"code": "64", "region_name": "KALIMANTAN TIMUR"}],
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
        "stg_candidates": MASTER,
        # The kelurahan's own file is not its chosen source: its 999 must not show.
        "stg_node_votes": [ppwp(code=KEL, candidate_id=ANIES, votes=999)],
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


def test_int_tps_facts_classifies_completeness_and_sums_the_chart() -> None:
    check_model("int_tps_facts", {
        "stg_nodes": [
            ppwp(code=T1, node_type="tps", version_id="v1", has_chart=True, has_admin=True),
            ppwp(code=T2, node_type="tps", version_id="v2", has_chart=True, has_admin=False),
            ppwp(code=T3, node_type="tps", version_id="v3", has_chart=False, has_admin=True),
            ppwp(code=KEL + "004", node_type="tps", version_id="v4", has_chart=False, has_admin=False),
            ppwp(code=KEL, node_type="aggregate", version_id="k1", has_chart=True),  # not a TPS
        ],
        "stg_node_votes": [
            ppwp(code=T1, candidate_id=ANIES, votes=50), ppwp(code=T1, candidate_id=PRABOWO, votes=30),
            ppwp(code=T2, candidate_id=ANIES, votes=7),
        ],
        "stg_tps_admin": [ppwp(code=T1, suara_sah=80, version_id="v1"), ppwp(code=T3, suara_sah=12, version_id="v3")],
    }, [
        {"code": T1, "completeness": "complete", "candidate_sum": 80, "candidate_max": 50, "suara_sah": 80},  # 50 + 30
        {"code": T2, "completeness": "chart_only", "candidate_sum": 7, "candidate_max": 7, "suara_sah": None},
        {"code": T3, "completeness": "admin_only", "candidate_sum": None, "candidate_max": None, "suara_sah": 12},
        {"code": KEL + "004", "completeness": "empty", "candidate_sum": None, "candidate_max": None, "suara_sah": None},
    ])  # fmt: skip
