"""Issue 4, "Done when" 1-5: internal count vs SIREKAP vs the official recap.

Expected numbers come from the issue, ../shared/data/README.md, the shared files themselves (read
here with the csv/json modules) or tiny fixtures computed by hand in the comments, never from a run.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import orjson
import pytest

from flows.sources.demo import Candidate, KabKota, Kecamatan, RaceSpec, generate_mirror
from tests.shared import CLAIM, KALTIM_1015, OFFICIAL_RECAP, load_and_build, write_json


def query(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="module")
def kaltim(tmp_path_factory):
    """SIREKAP 10:15 + the campaign's claim + the official recap, loaded without Prefect."""
    con = load_and_build(tmp_path_factory.mktemp("all") / "w.duckdb", KALTIM_1015, internal=[CLAIM], official=[OFFICIAL_RECAP])
    yield con
    con.close()


# --- Done when 1: the claim against the official recap -------------------------------------------


def test_claim_vs_official_province_and_kutai_kartanegara(kaltim) -> None:
    got = query(kaltim, """select region_code, nomor_urut, internal_votes, official_votes, internal_minus_official, status
                           from reconciliation where contest = 'pkwkp' and region_code in ('64', '6402') order by region_code, nomor_urut""")
    assert got == [
        ("64", 1, 793_332, 793_793, -461, "mismatch"),
        ("64", 2, 997_344, 996_399, 945, "mismatch"),
        # 01 was not reported for 6402: unknown, not a delta of -156,428.
        ("6402", 1, None, 156_428, None, "missing_internal"),
        ("6402", 2, 214_374, 214_112, 262, "mismatch"),
    ]


# --- Done when 2: SIREKAP 10:15 against the official recap, per kab/kota ---------------------------


def sirekap_kabkota() -> dict[str, tuple[int, int, int, int]]:
    """(01, 02, TPS in, TPS total) per kab/kota, straight from the 10:15 province file's table."""
    table = orjson.loads((KALTIM_1015 / "pilkada/hhcw/pkwkp/64.json").read_bytes())["tungsura"]["table"]
    return {code: (row["1000054"], row["1000055"], row["progres"]["progres"], row["progres"]["total"]) for code, row in table.items()}


def official_kabkota() -> dict[str, tuple[int, int]]:
    with OFFICIAL_RECAP.open() as f:
        return {row["kode_kab"]: (int(row["isran_hadi_01"]), int(row["rudy_seno_02"])) for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def sirekap_and_official(tmp_path_factory):
    con = load_and_build(tmp_path_factory.mktemp("two") / "w.duckdb", KALTIM_1015, official=[OFFICIAL_RECAP])
    yield con
    con.close()


def test_sirekap_vs_official_all_ten_kabkota(sirekap_and_official, kaltim) -> None:
    sirekap, official = sirekap_kabkota(), official_kabkota()
    expected = []
    for code in sorted(sirekap):
        s01, s02, tps_in, tps_total = sirekap[code]
        o01, o02 = official[code]
        coverage = f"SIREKAP {tps_in:,} of {tps_total:,} TPS"
        expected += [(code, 1, s01, o01, s01 - o01, "partial", tps_in, tps_total, coverage),
                     (code, 2, s02, o02, s02 - o02, "partial", tps_in, tps_total, coverage)]  # fmt: skip
    sql = """select region_code, nomor_urut, sirekap_votes, official_votes, sirekap_minus_official, {status},
                    sirekap_tps, tps_total, coverage
             from reconciliation where contest = 'pkwkp' and level = 'kabkota' order by region_code, nomor_urut"""
    assert query(sirekap_and_official, sql.format(status="status")) == expected
    # With the claim loaded too, the pair's own status says the same (the row's status is about all three).
    assert query(kaltim, sql.format(status="sirekap_vs_official")).__len__() == 20
    assert [r[:6] for r in query(kaltim, sql.format(status="sirekap_vs_official"))] == [r[:6] for r in expected]
    kutai = [r for r in expected if r[0] == "6402"]
    assert [r[2:5] for r in kutai] == [(146_487, 156_428, -9_941), (199_131, 214_112, -14_981)]
    assert kutai[0][6:8] == (1_342, 1_447)


def test_the_leader_agrees_in_all_ten_kabkota_and_the_province(sirekap_and_official) -> None:
    rows = query(sirekap_and_official, """select region_code, nomor_urut, sirekap_votes, official_votes from reconciliation
                                          where contest = 'pkwkp' and level in ('provinsi', 'kabkota')""")
    leaders: dict[str, dict[str, tuple[int, int]]] = {}
    for code, ballot, s, o in rows:
        for source, votes in (("sirekap", s), ("official", o)):
            best = leaders.setdefault(code, {}).get(source)
            if best is None or votes > best[1]:
                leaders[code][source] = (ballot, votes)
    assert len(leaders) == 11
    assert {code: (v["sirekap"][0], v["official"][0]) for code, v in leaders.items()} == {
        code: (1, 1) if code in ("6411", "6472") else (2, 2) for code in leaders
    }


# --- Done when 3: outcome_risk -------------------------------------------------------------------


def test_outcome_risk_kaltim_governor_is_safe(kaltim) -> None:
    (row,) = query(kaltim, """select leader_nomor_urut, internal_leader, sirekap_leader, official_leader,
                                     internal_margin_votes, sirekap_margin_votes, official_margin_votes,
                                     discrepancy_votes, unreported_votes, votes_at_stake, margin_votes, verdict
                              from outcome_risk where election = 'pilkada2024' and contest = 'pkwkp' and race_code = '64'""")
    # Margins: 997,344 - 793,332; 962,804 - 766,850; 996,399 - 793,793. Disputed: 945 + 461 (the claim
    # vs the recap; SIREKAP is partial so its gap is unpublished TPS, not a dispute). Unpublished:
    # 1,729,654 votes / 6,048 TPS x 226 TPS = 64,633.2.
    assert row == (2, "02", "02", "02", 204_012, 195_954, 202_606, 1_406, 64_633, 66_039, 195_954, "safe")


RACE = {
    "pilkada/paslon/pkwkp.json": {"64": {"1": {"nama": "A - B", "nomor_urut": 1}, "2": {"nama": "C - D", "nomor_urut": 2}}},
    "pilkada/hhcw/pkwkp/64.json": {"tungsura": {
        "chart": {"1": 500, "2": 480, "progres": {"total": 10, "progres": 10}},
        "table": {"6401": {"1": 300, "2": 200, "progres": {"total": 5, "progres": 5}, "status_progress": True},
                  "6402": {"1": 200, "2": 280, "progres": {"total": 5, "progres": 5}, "status_progress": True}}},
        "progres": {"total": 10, "progres": 10}, "ts": "t"},
}  # fmt: skip
RECAP = "kode,nama,a_b_01,c_d_02\n6401,X,300,200\n6402,Y,200,280\n64,TOTAL,500,480\n"


def race_with_claim(make_mirror, tmp_path: Path, claim: str):
    (tmp_path / "recap.csv").write_text(RECAP)
    (tmp_path / "claim.csv").write_text(claim)
    return load_and_build(tmp_path / "w.duckdb", make_mirror(RACE), internal=[tmp_path / "claim.csv"], official=[tmp_path / "recap.csv"])


def test_discrepancies_beyond_the_margin_put_a_race_at_risk(make_mirror, tmp_path: Path) -> None:
    # Every source: 01 leads by 20 (500 - 480). The claim: 520 / 470, 01 by 50. Disputed: 20 + 10 = 30 > 20.
    con = race_with_claim(make_mirror, tmp_path, "kode,suara_paslon_01,suara_paslon_02\n64,520,470\n")
    assert query(con, "select internal_leader, sirekap_leader, official_leader, discrepancy_votes, votes_at_stake, margin_votes, verdict, verdict_reason from outcome_risk") == [
        ("01", "01", "01", 30, 30, 20, "at_risk", "30 votes at stake exceed the smallest margin, 20 (official recap)")
    ]
    con.close()


def test_an_internal_count_with_another_leader_flips(make_mirror, tmp_path: Path) -> None:
    con = race_with_claim(make_mirror, tmp_path, "kode,suara_paslon_01,suara_paslon_02\n64,470,490\n")
    assert query(con, "select internal_leader, official_leader, leader_nomor_urut, verdict, verdict_reason from outcome_risk") == [
        ("02", "01", None, "flips", "internal count: 02 leads; SIREKAP: 01 leads; official recap: 01 leads")
    ]
    con.close()


def test_agreeing_sources_are_safe(make_mirror, tmp_path: Path) -> None:
    con = race_with_claim(make_mirror, tmp_path, "kode,suara_paslon_01,suara_paslon_02\n64,500,480\n6401,300,200\n")
    assert query(con, "select votes_at_stake, margin_votes, verdict from outcome_risk") == [(0, 20, "safe")]
    # The claim speaks for two kab/kota rows' level, so where it is silent it is missing, not zero.
    assert query(con, "select distinct region_code, status from reconciliation order by region_code") == [
        ("64", "match"), ("6401", "match"), ("6402", "missing_internal")
    ]
    con.close()


# --- Done when 4: TPS level ------------------------------------------------------------------------


def tiny_spec() -> RaceSpec:
    """The demo generator on a synthetic race: one kab/kota, two kecamatan, 9 TPS, three pairs."""
    return RaceSpec(
        election="pilkada", contest="pkwkp", province_code="99", province_name="DEMO",
        candidates=(Candidate("7", 1, "A", "#111111"), Candidate("5", 2, "B", "#222222"), Candidate("9", 3, "C", "#333333")),
        kabkota=(KabKota("9971", "KOTA DEMO", {"7": 1_000, "5": 700, "9": 300}, (Kecamatan("997101", "SATU", 4), Kecamatan("997102", "DUA", 5))),),
        kelurahan_total=3, invalid_votes=50, dpt_total=3_000, ts="2024-11-28 01:00:00",
    )  # fmt: skip


def test_tps_reconciliation_rows_for_a_few_demo_tps(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    generate_mirror(tiny_spec(), mirror, progress=0.6)  # 5 of 9 TPS published
    nodes = {p.stem: orjson.loads(p.read_bytes()) for p in sorted(mirror.rglob("*.json")) if len(p.stem) == 13}
    published = sorted(c for c, n in nodes.items() if n["tungsura"]["chart"] is not None)
    unpublished = sorted(c for c, n in nodes.items() if n["tungsura"]["chart"] is None)
    a, b = published[0], published[1]
    d = unpublished[0]
    chart = {code: [nodes[code]["tungsura"]["chart"][cid] for cid in ("7", "5", "9")] for code in published}
    delta_a = [5, -3, 0]
    internal_a = [v + dv for v, dv in zip(chart[a], delta_a)]
    (tmp_path / "internal.csv").write_text(
        "kode_tps,suara_paslon_01,suara_paslon_02,suara_paslon_03,saksi,dikirim\n"
        f"{a},{chart[a][0] + 100},{chart[a][1]},{chart[a][2]},W1,2024-11-27 14:00\n"  # a first, mistyped submission
        f"{a},{internal_a[0]},{internal_a[1]},{internal_a[2]},W1,2024-11-27 15:00\n"
        f"{b},{chart[b][0]},{chart[b][1]},{chart[b][2]},W2,2024-11-27 15:10\n"
        f"{d},10,20,,W3,2024-11-27 16:00\n"  # not published by SIREKAP yet; 03 left empty
    )
    con = load_and_build(tmp_path / "w.duckdb", mirror, internal=[tmp_path / "internal.csv"])

    expected = []
    for code in sorted(published + [d]):
        for i, ballot in enumerate((1, 2, 3)):
            s = chart[code][i] if code in chart else None
            n = internal_a[i] if code == a else chart[b][i] if code == b else [10, 20, None][i] if code == d else None
            if n is None and s is None:
                continue  # neither source has a number: no row
            status = ("missing_internal" if n is None else "missing_sirekap" if s is None else "match" if n == s else "mismatch")
            expected.append((code, ballot, n, s, None if n is None or s is None else n - s, status))
    got = query(con, "select tps_code, nomor_urut, internal_votes, sirekap_votes, delta, status from tps_reconciliation order by tps_code, nomor_urut")
    assert got == expected
    assert [r[4] for r in got if r[0] == a] == delta_a

    (images, subs, disagree, witness), = query(con, f"select distinct image_urls, internal_submissions, internal_submissions_disagree, witness_id from tps_reconciliation where tps_code = '{a}'")
    assert images == [u for u in nodes[a]["images"] if u] and len(images) == 2
    assert (subs, disagree, witness) == (2, True, "W1")
    assert query(con, f"select distinct sirekap_published, image_urls from tps_reconciliation where tps_code = '{d}'") == [(False, [])]
    # Each TPS carries its data-quality verdict (tps_status): the generator's TPS are consistent by
    # construction, an unpublished one has neither block.
    assert query(con, f"select distinct anomaly_status, anomaly_rules from tps_reconciliation where tps_code in ('{a}', '{b}')") == [("valid", [])]
    assert query(con, f"select distinct anomaly_status from tps_reconciliation where tps_code = '{d}'") == [("empty",)]
    assert query(con, "select flagged_votes from outcome_risk") == [(0,)]
    con.close()


# --- Done when 5: bad internal files ----------------------------------------------------------------


BAD_FILES = {
    "unknown-column.csv": ("kode_wilayah,suara_paslon_01,suara_paslon_02,relawan\n64,1,2,x\n", "unknown_column", "column 'relawan' is not a known column; expected code: kode_wilayah"),
    "text-in-votes.csv": ("kode_wilayah,suara_paslon_01,suara_paslon_02\n64,793332,sembilan ratus\n", "not_a_count", "column 'suara_paslon_02' (votes for candidate 02) holds text, not a whole number: row 2 ('sembilan ratus')"),
    "not-a-region.csv": ("kode_wilayah,suara_paslon_01,suara_paslon_02\n6402,1,2\n6405,3,4\n", "not_a_region", "row 3: code 6405 is not a region of 64; the regions there are 6401, 6402, 6403, 6407, 6408, 6409, 6411, 6471, 6472, 6474"),
}  # fmt: skip


def write_bad_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (text, _, _) in BAD_FILES.items():
        (folder / name).write_text(text)
    return [folder / name for name in BAD_FILES]


def test_bad_internal_files_load_nothing_and_the_rest_of_the_run_completes(tmp_path: Path) -> None:
    bad = write_bad_files(tmp_path / "bad")
    con = load_and_build(tmp_path / "w.duckdb", KALTIM_1015, internal=[CLAIM, *bad], official=[OFFICIAL_RECAP])
    got = {Path(f).name: (rule, reason) for f, rule, reason in query(con, "select source_file, rule, reason from quarantine")}
    assert set(got) == set(BAD_FILES)
    for name, (_, rule, message) in BAD_FILES.items():
        assert got[name][0] == rule
        assert message in got[name][1], got[name][1]
    files = sum(1 for _ in KALTIM_1015.rglob("*.json"))
    assert query(con, "select records_read, records_loaded, records_quarantined, files_read from runs") == [(files + 5, files + 2, 3, files + 5)]
    # Only the claim's 2 rows and the recap's 11: nothing of the bad files, not even their good rows.
    assert query(con, "select source_kind, count(*) from raw_count_rows join raw_count_files using (version_id) group by all order by 1") == [("internal", 2), ("official", 11)]
    assert query(con, "select internal_minus_official from reconciliation where region_code = '64' order by nomor_urut") == [(-461,), (945,)]
    con.close()


def test_loading_the_same_count_files_again_adds_nothing(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    tables = ["raw_count_files", "raw_count_rows", "raw_count_votes", "raw_observations"]
    con = load_and_build(warehouse, KALTIM_1015, internal=[CLAIM], official=[OFFICIAL_RECAP])
    before = {t: query(con, f"select count(*) from {t}")[0][0] for t in tables}
    con.close()
    con = load_and_build(warehouse, internal=[CLAIM], official=[OFFICIAL_RECAP])
    assert {t: query(con, f"select count(*) from {t}")[0][0] for t in tables} == before
    assert query(con, "select versions_new, observations_new from runs order by started_at desc limit 1") == [(0, 0)]
    con.close()


def test_an_edited_file_supersedes_its_earlier_version_which_stays(tmp_path: Path) -> None:
    warehouse, claim = tmp_path / "w.duckdb", tmp_path / "claim.csv"
    claim.write_text("kode,suara_paslon_01,suara_paslon_02\n64,793000,997000\n")
    load_and_build(warehouse, KALTIM_1015, internal=[claim]).close()
    claim.write_text("kode,suara_paslon_01,suara_paslon_02\n64,793332,997344\n")
    con = load_and_build(warehouse, internal=[claim])
    assert query(con, "select count(*) from raw_count_files") == [(2,)]
    assert query(con, "select internal_votes from reconciliation where region_code = '64' order by nomor_urut") == [(793_332,), (997_344,)]
    con.close()


def test_a_race_the_codes_cannot_tell_needs_the_column_configuration(tmp_path: Path) -> None:
    # Kab/kota rows of Kaltim fit the governor race (pkwkp) and the regent races (pkwkk).
    counts = tmp_path / "kab.csv"
    counts.write_text("kode,suara_paslon_01,suara_paslon_02\n6401,1,2\n")
    con = load_and_build(tmp_path / "w.duckdb", KALTIM_1015, internal=[counts])
    ((rule, reason),) = query(con, "select rule, reason from quarantine")
    assert rule == "ambiguous_race" and "pilkada2024/pkwkk, pilkada2024/pkwkp" in reason and "--columns" in reason
    con.close()
    columns = tmp_path / "race.toml"
    columns.write_text('election = "pilkada2024"\ncontest = "pkwkp"\n')
    con = load_and_build(tmp_path / "w2.duckdb", KALTIM_1015, internal=[counts], columns=columns)
    assert query(con, "select internal_votes from reconciliation where region_code = '6401' order by nomor_urut") == [(1,), (2,)]
    con.close()


def test_a_ballot_number_the_master_lacks_refuses_the_file(tmp_path: Path) -> None:
    counts = tmp_path / "three.csv"
    counts.write_text("kode,suara_paslon_01,suara_paslon_02,suara_paslon_03\n64,1,2,3\n")
    con = load_and_build(tmp_path / "w.duckdb", KALTIM_1015, internal=[counts])
    assert query(con, "select rule, reason from quarantine") == [
        ("unknown_candidate", "internal file not loaded: column 'suara_paslon_03': ballot number 03 is not a candidate of pilkada2024/pkwkp 64; its ballot numbers are 01, 02")
    ]
    con.close()


def test_without_a_candidate_master_ballot_numbers_and_ids_stay_apart(make_mirror, tmp_path: Path) -> None:
    mirror = make_mirror({"pilkada/hhcw/pkwkp/64.json": RACE["pilkada/hhcw/pkwkp/64.json"]})
    (tmp_path / "claim.csv").write_text("kode,suara_paslon_01,suara_paslon_02\n64,500,480\n")
    con = load_and_build(tmp_path / "w.duckdb", mirror, internal=[tmp_path / "claim.csv"])
    # No master says which id ballot 01 is: nothing is guessed, each side is missing the other's keys.
    assert query(con, "select nomor_urut, candidate_id, internal_votes, sirekap_votes, status from reconciliation order by nomor_urut nulls last, candidate_id") == [
        (1, None, 500, None, "missing_sirekap"), (2, None, 480, None, "missing_sirekap"),
        (None, "1", None, 500, "missing_internal"), (None, "2", None, 480, "missing_internal"),
    ]  # fmt: skip
    assert query(con, "select verdict from outcome_risk") == [("at_risk",)]
    con.close()


def test_a_recap_total_that_does_not_add_up_is_reported_not_refused(make_mirror, tmp_path: Path) -> None:
    (tmp_path / "recap.csv").write_text("kode,nama,a_b_01,c_d_02\n6401,X,300,200\n6402,Y,200,280\n64,TOTAL,500,490\n")
    con = load_and_build(tmp_path / "w.duckdb", make_mirror(RACE), official=[tmp_path / "recap.csv"])
    assert query(con, "select total_code, nomor_urut, total_votes, rows_votes, difference from int_official_total_checks where not matches") == [("64", 2, 490, 480, 10)]
    # The province takes the total row as printed: it is what the recap declares.
    assert query(con, "select official_votes, sirekap_minus_official from reconciliation where region_code = '64' and nomor_urut = 2") == [(490, -10)]
    con.close()


def test_new_marts_are_documented_in_the_warehouse(kaltim) -> None:
    undocumented = query(kaltim, """select table_name, column_name from duckdb_columns()
                                    where table_name in ('reconciliation', 'tps_reconciliation', 'outcome_risk',
                                                         'raw_count_files', 'raw_count_rows', 'raw_count_votes')
                                      and comment is null""")
    assert undocumented == []
    assert json.loads(query(kaltim, "select column_map from raw_count_files where source_kind = 'official'")[0][0])["winner"] == "ignored"
