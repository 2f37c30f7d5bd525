"""Issue 3, done-when 1 and 4, on the 88 real Kepulauan Seribu TPS (Pemilu 2024, presidential).

Every expectation is computed here, in plain Python, straight from the raw JSON files, and
checked against the literal figures the issue states; neither comes from the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.shared import SERIBU
from tests.test_rules_fixtures import copy_pack, load_runs, rows

BLOCKS = ("pemilih_dpt", "pengguna_dpt", "pengguna_dptb", "pengguna_non_dpt", "pengguna_total")


def raw_tps() -> dict[str, dict]:
    files = sorted((SERIBU / "pemilu" / "hhcw" / "ppwp").rglob("*.json"))
    return {f.stem: orjson.loads(f.read_bytes()) for f in files if len(f.stem) == 13}


RAW = raw_tps()


def votes(doc: dict) -> dict[str, int]:
    return {k: v for k, v in (doc.get("chart") or {}).items() if k.isdigit() and v is not None}


def where(predicate) -> set[str]:
    """TPS codes whose chart and administrasi (both present where the predicate needs them) match."""
    found = set()
    for code, doc in RAW.items():
        chart, adm = doc.get("chart"), doc.get("administrasi")
        try:
            if predicate(votes(doc) if chart is not None else None, adm):
                found.add(code)
        except TypeError:  # a block or field the check needs is missing: not checked
            pass
    return found


@pytest.fixture(scope="module")
def seribu(tmp_path_factory):
    con = load_runs(tmp_path_factory.mktemp("seribu") / "w.duckdb", [[SERIBU]])
    yield con
    con.close()


def flagged(con, rule_id: str) -> set[str]:
    return {code for (code,) in rows(con, "select code from anomalies where rule_id = ?", rule_id)}


def test_the_raw_files_are_the_88_tps_the_issue_describes() -> None:
    assert len(RAW) == 88
    # where() skips a TPS whose block is missing; no field inside a present block is null here,
    # so `!=` against a missing field never sneaks in.
    assert all(v is not None for doc in RAW.values() for v in (doc.get("administrasi") or {}).values())


def test_completeness_59_complete_22_chart_only_1_admin_only_6_empty(seribu) -> None:
    def completeness(doc: dict) -> str:
        chart, adm = doc.get("chart") is not None, doc.get("administrasi") is not None
        return {(True, True): "complete", (True, False): "chart_only", (False, True): "admin_only", (False, False): "empty"}[(chart, adm)]

    expected = {code: completeness(doc) for code, doc in RAW.items()}
    counts = {k: sum(v == k for v in expected.values()) for k in ("complete", "chart_only", "admin_only", "empty")}
    assert counts == {"complete": 59, "chart_only": 22, "admin_only": 1, "empty": 6}  # the issue's figures
    assert dict(rows(seribu, "select tps_code, completeness from tps_status")) == expected


def test_candidate_sum_differs_from_suara_sah_at_exactly_the_five_tps(seribu) -> None:
    expected = where(lambda v, a: v is not None and sum(v.values()) != a["suara_sah"])
    assert expected == {"3101011001003", "3101011003001", "3101011003008", "3101021002004", "3101021003001"}
    assert flagged(seribu, "c1_candidate_sum") == expected


def test_a_candidate_above_300_only_at_3101011003008(seribu) -> None:
    expected = where(lambda v, a: v is not None and max(v.values()) > 300)
    assert expected == {"3101011003008"}
    doc = RAW["3101011003008"]
    over = sorted(n for n in votes(doc).values() if n > 300)
    assert over == [511, 641] and doc["administrasi"]["suara_sah"] == 185
    assert rows(seribu, "select observed, expected from anomalies where rule_id = 'candidate_over_cap'") == [
        ("100026: 641, 100027: 511", "300")
    ]


def test_pengguna_total_mismatch_only_at_3101011001001(seribu) -> None:
    expected = where(lambda v, a: a["pengguna_total_j"] != a["pengguna_dpt_j"] + a["pengguna_dptb_j"] + a["pengguna_non_dpt_j"])
    assert expected == {"3101011001001"}
    assert flagged(seribu, "c1_voters_total") == expected


def test_j_differs_from_l_plus_p_in_some_block_at_four_tps(seribu) -> None:
    expected = where(lambda v, a: any(a[f"{b}_j"] != a[f"{b}_l"] + a[f"{b}_p"] for b in BLOCKS))
    assert len(expected) == 4
    assert flagged(seribu, "c1_male_female_total") == expected


def test_ballots_above_voters_at_two_and_dpt_voters_above_registered_at_one(seribu) -> None:
    over_voters = where(lambda v, a: a["suara_total"] > a["pengguna_total_j"])
    over_registered = where(lambda v, a: a["pengguna_dpt_j"] > a["pemilih_dpt_j"])
    assert len(over_voters) == 2 and len(over_registered) == 1
    assert flagged(seribu, "c1_ballots_over_voters") == over_voters
    assert flagged(seribu, "c1_dpt_voters_over_registered") == over_registered


def test_valid_plus_invalid_equals_total_everywhere(seribu) -> None:
    assert where(lambda v, a: a["suara_sah"] + a["suara_tidak_sah"] != a["suara_total"]) == set()
    assert flagged(seribu, "c1_valid_invalid_total") == set()


def test_published_totals_are_unchanged_and_flagged_votes_are_counted_apart(seribu) -> None:
    totals = rows(seribu, "select candidate_id, votes from province_totals order by candidate_id")
    assert totals == [("100025", 6_418), ("100026", 8_613), ("100027", 2_635)]  # the issue's figures
    # TPS breaking an error-level rule of the default pack, recomputed from the raw files.
    errors = (
        where(lambda v, a: v is not None and sum(v.values()) != a["suara_sah"])
        | where(lambda v, a: a["suara_sah"] + a["suara_tidak_sah"] != a["suara_total"])
        | where(lambda v, a: a["pengguna_total_j"] != a["pengguna_dpt_j"] + a["pengguna_dptb_j"] + a["pengguna_non_dpt_j"])
        | where(lambda v, a: a["suara_total"] > a["pengguna_total_j"])
        | where(lambda v, a: v is not None and max(v.values()) > 300)
        | where(lambda v, a: v is not None and sum(v.values()) > a["pemilih_dpt_j"] * 1.02)
        | where(lambda v, a: max(sum(v.values()) if v is not None else 0, a["suara_total"])
                > a["pemilih_dpt_j"] + a["pengguna_dptb_j"] + a["pengguna_non_dpt_j"])
    )  # fmt: skip
    flagged_votes = {cid: sum(votes(RAW[code]).get(cid, 0) for code in errors) for cid in ("100025", "100026", "100027")}
    got = rows(seribu, "select candidate_id, votes_flagged, tps_flagged from province_totals order by candidate_id")
    assert got == [(cid, flagged_votes[cid], len(errors)) for cid in sorted(flagged_votes)]
    assert rows(seribu, "select count(*) from tps_status where error_flagged") == [(len(errors),)]


def test_no_withheld_duplicate_psu_or_unknown_candidate_in_the_real_files(seribu) -> None:
    assert where(lambda v, a: v is not None and v and not any(v.values())) == set()
    assert {doc.get("psu") for doc in RAW.values()} <= {None, "Reguler"}
    for rule in ("withheld_counts", "duplicate_node", "psu_revote", "unknown_candidate"):
        assert flagged(seribu, rule) == set(), rule


def test_a_lower_cap_in_a_copied_pack_flags_more_tps_without_code_changes(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path, lambda t: t.replace("pemilu = 300", "pemilu = 150"))
    con = load_runs(tmp_path / "w.duckdb", [[SERIBU]], rules=pack)
    expected = where(lambda v, a: v is not None and max(v.values()) > 150)
    assert len(expected) > 1 and "3101011003008" in expected
    assert flagged(con, "candidate_over_cap") == expected
    assert rows(con, "select distinct expected from anomalies where rule_id = 'candidate_over_cap'") == [("150",)]
    con.close()


def test_a_wider_dpt_tolerance_in_a_copied_pack_flags_fewer_tps(tmp_path: Path) -> None:
    # KawalPemilu's first bound: 1.1 x DPT.
    pack = copy_pack(tmp_path, lambda t: t.replace("tolerance = 0.02", "tolerance = 0.10"))
    con = load_runs(tmp_path / "w.duckdb", [[SERIBU]], rules=pack)
    at_2 = where(lambda v, a: v is not None and sum(v.values()) > a["pemilih_dpt_j"] * 1.02)
    at_10 = where(lambda v, a: v is not None and sum(v.values()) > a["pemilih_dpt_j"] * 1.10)
    assert at_10 < at_2  # the real data has a TPS between the two bounds
    assert flagged(con, "votes_over_dpt") == at_10
    con.close()
