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
