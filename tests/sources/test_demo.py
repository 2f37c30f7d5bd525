"""The demo mirror generator, checked against the real Kaltim 2024 figures.

Expected numbers are the published facts (KPU D.HASIL recap, SIREKAP 10:15 snapshot), written
out here, never taken from the generator. Every check reads the files back from disk.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest

from flows.sources.demo import (
    KALTIM_2024,
    Candidate,
    KabKota,
    Kecamatan,
    RaceSpec,
    SirekapErrors,
    generate_kaltim_mirror,
    generate_mirror,
    write_withheld_snapshot,
)

ISRAN, RUDY = "1000054", "1000055"
# D.HASIL per kab/kota: (pair 01, pair 02, TPS).
OFFICIAL = {
    "6401": (56_619, 78_308, 485),
    "6402": (156_428, 214_112, 1_447),
    "6403": (51_680, 75_684, 475),
    "6407": (45_370, 47_010, 321),
    "6408": (94_685, 99_941, 701),
    "6409": (34_943, 67_259, 293),
    "6411": (11_279, 10_610, 77),
    "6471": (126_905, 172_057, 996),
    "6472": (182_183, 170_623, 1_202),
    "6474": (33_701, 60_795, 277),
}
PROVINCE = {ISRAN: 793_793, RUDY: 996_399}
TPS_TOTAL, KECAMATAN_TOTAL, KELURAHAN_TOTAL = 6_274, 105, 1_038
VALID, INVALID, DPT = 1_790_192, 92_199, 2_821_202
PUBLISHED_AT_1015 = 6_048  # TPS in at the 10:15 snapshot: 96.4%
HHCW = "pilkada/hhcw/pkwkp"


def load(path: Path):
    return orjson.loads(path.read_bytes())


def tps_files(root: Path, province: str = "64") -> list[Path]:
    return sorted((root / HHCW / province).glob("*/*/*/*.json"))


def candidate_keys(block: dict) -> dict[str, int]:
    return {k: v for k, v in block.items() if k.isdigit()}


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("full")
    return root, generate_kaltim_mirror(root, progress=1.0)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("snapshot")
    return root, generate_kaltim_mirror(root)


@pytest.fixture(scope="module")
def full_tps(full) -> dict[str, dict]:
    return {p.stem: load(p) for p in tps_files(full[0])}


@pytest.fixture(scope="module")
def snapshot_tps(snapshot) -> dict[str, dict]:
    return {p.stem: load(p) for p in tps_files(snapshot[0])}


# --- Complete count (progress 1.0) ---------------------------------------------------------


def test_full_mirror_sums_to_the_official_recap(full_tps):
    assert len(full_tps) == TPS_TOTAL
    per_kab: dict[str, list[int]] = {}
    for code, node in full_tps.items():
        chart = node["tungsura"]["chart"]
        sums = per_kab.setdefault(code[:4], [0, 0, 0])
        sums[0] += chart[ISRAN]
        sums[1] += chart[RUDY]
        sums[2] += 1
    assert {k: tuple(v) for k, v in per_kab.items()} == OFFICIAL
    assert sum(v[0] for v in per_kab.values()) == PROVINCE[ISRAN]
    assert sum(v[1] for v in per_kab.values()) == PROVINCE[RUDY]


def test_full_mirror_admin_totals_match_the_recap(full_tps):
    admin = [node["tungsura"]["administrasi"] for node in full_tps.values()]
    assert sum(a["suara_sah"] for a in admin) == VALID
    assert sum(a["suara_tidak_sah"] for a in admin) == INVALID
    assert sum(a["pemilih_dpt_j"] for a in admin) == DPT


def test_full_mirror_region_tree(full):
    root, manifest = full
    kec_nodes = sorted((root / HHCW / "64").glob("*/*.json"))
    kel_nodes = sorted((root / HHCW / "64").glob("*/*/*.json"))
    assert len(sorted((root / HHCW / "64").glob("*.json"))) == 10
    assert len(kec_nodes) == KECAMATAN_TOTAL
    assert len(kel_nodes) == KELURAHAN_TOTAL
    assert all(len(p.stem) == 6 and p.stem.startswith(p.parent.name) for p in kec_nodes)
    assert all(len(p.stem) == 10 and p.stem.startswith(p.parent.name) for p in kel_nodes)
    tps = tps_files(root)
    assert all(len(p.stem) == 13 and p.stem.startswith(p.parent.name) for p in tps)
    # Every kelurahan has at least one TPS.
    assert {p.parent.name for p in tps} == {p.stem for p in kel_nodes}

    kabkota = load(root / "wilayah/pilkada/pkwkp/64.json")
    assert sorted(r["kode"] for r in kabkota) == sorted(OFFICIAL)
    assert {r["tingkat"] for r in kabkota} == {2}
    assert {r["nama"] for r in kabkota if r["kode"] == "6402"} == {"KUTAI KARTANEGARA"}
    kec_lists = sorted((root / "wilayah/pilkada/pkwkp/64").glob("*.json"))
    kel_lists = sorted((root / "wilayah/pilkada/pkwkp/64").glob("*/*.json"))
    assert sum(len(load(p)) for p in kec_lists) == KECAMATAN_TOTAL
    assert sum(len(load(p)) for p in kel_lists) == KELURAHAN_TOTAL

    assert manifest.tps_total == manifest.tps_published == TPS_TOTAL
    assert manifest.published_votes == manifest.complete_votes == PROVINCE
    # paslon + wilayah (1 + 10 + 105) + aggregates (1 + 10 + 105 + 1,038) + TPS.
    assert manifest.files_written == 1 + 116 + 1_154 + TPS_TOTAL


def test_candidate_master(full):
    master = load(full[0] / "pilkada/paslon/pkwkp.json")
    assert set(master) == {"64"}
    assert {cid: (c["nomor_urut"], c["warna"]) for cid, c in master["64"].items()} == {
        ISRAN: (1, "#B67352"),
        RUDY: (2, "#8CB9BD"),
    }
    assert master["64"][ISRAN]["nama"].startswith("Dr. Ir. H. ISRAN NOOR")


def test_admin_arithmetic_on_every_tps(full_tps):
    for code, node in full_tps.items():
        chart, a = node["tungsura"]["chart"], node["tungsura"]["administrasi"]
        assert max(chart.values()) <= 600, code
        assert sum(chart.values()) == a["suara_sah"], code
        assert a["suara_sah"] + a["suara_tidak_sah"] == a["suara_total"], code
        for group in ("pemilih_dpt", "pengguna_dpt", "pengguna_dptb", "pengguna_non_dpt", "pengguna_total"):
            assert a[f"{group}_j"] == a[f"{group}_l"] + a[f"{group}_p"], (code, group)
            assert min(a[f"{group}_l"], a[f"{group}_p"]) >= 0, (code, group)
        for part in ("j", "l", "p"):
            assert a[f"pengguna_total_{part}"] == (
                a[f"pengguna_dpt_{part}"] + a[f"pengguna_dptb_{part}"] + a[f"pengguna_non_dpt_{part}"]
            ), code
            assert a[f"pengguna_dpt_{part}"] <= a[f"pemilih_dpt_{part}"], code
        assert a["suara_total"] <= a["pengguna_total_j"], code
        assert a["suara_sah"] <= a["pemilih_dpt_j"], code
        assert a["pemilih_dpt_j"] <= 600, code
        assert node["status_suara"] is node["status_adm"] is True
        assert len(node["images"]) == 2 and all(u.startswith("https://") for u in node["images"])


# --- The 10:15 snapshot (default progress) -----------------------------------------------------


def test_snapshot_publishes_6048_tps(snapshot, snapshot_tps):
    published = {c: n for c, n in snapshot_tps.items() if n["tungsura"]["chart"] is not None}
    assert len(published) == PUBLISHED_AT_1015
    assert snapshot[1].tps_published == PUBLISHED_AT_1015
    for node in snapshot_tps.values():
        if node["tungsura"]["chart"] is None:
            assert node["tungsura"]["administrasi"] is None
            assert node["images"] == [None, None]
            assert node["status_suara"] is node["status_adm"] is False
    # Uneven but partial everywhere: every kab/kota has published TPS.
    assert {c[:4] for c in published} == set(OFFICIAL)


def test_snapshot_province_node_is_the_sum_of_published_tps(snapshot, snapshot_tps):
    sums = {ISRAN: 0, RUDY: 0}
    for node in snapshot_tps.values():
        for cid, n in (node["tungsura"]["chart"] or {}).items():
            sums[cid] += n
    province = load(snapshot[0] / HHCW / "64.json")
    chart = province["tungsura"]["chart"]
    assert candidate_keys(chart) == sums == snapshot[1].published_votes
    assert chart["progres"] == {"total": TPS_TOTAL, "persen": 96.4, "progres": PUBLISHED_AT_1015}
    assert province["progres"] == {"total": TPS_TOTAL, "progres": PUBLISHED_AT_1015}
    assert province["ts"] == "2024-11-28 10:15:04"
    assert sums[ISRAN] < PROVINCE[ISRAN] and sums[RUDY] < PROVINCE[RUDY]


def test_every_aggregate_is_the_sum_of_its_table_rows(snapshot):
    root = snapshot[0] / HHCW
    nodes = [root / "64.json", *sorted((root / "64").rglob("*.json"))]
    aggregates = [p for p in nodes if len(p.stem) < 13]
    assert len(aggregates) == 1 + 10 + KECAMATAN_TOTAL + KELURAHAN_TOTAL
    rows_without_data = 0
    for path in aggregates:
        node = load(path)
        chart, table = node["tungsura"]["chart"], node["tungsura"]["table"]
        sums: dict[str, int] = {}
        total = done = 0
        for child, row in table.items():
            assert row["psu"] == "Reguler"
            progres = row["progres"]
            assert progres["persen"] == round(100 * progres["progres"] / progres["total"], 2)
            total, done = total + progres["total"], done + progres["progres"]
            if not row["status_progress"]:
                # No published TPS below: no data, so no candidate keys (not zeros).
                assert progres["progres"] == 0 and not candidate_keys(row), (path, child)
                rows_without_data += 1
                continue
            for cid, n in candidate_keys(row).items():
                sums[cid] = sums.get(cid, 0) + n
            # The row repeats the child's own chart.
            child_path = path.with_suffix("") / f"{child}.json"
            child_chart = load(child_path)["tungsura"]["chart"]
            assert candidate_keys(child_chart) == candidate_keys(row), child_path
        assert candidate_keys(chart) == sums, path
        assert (chart["progres"]["total"], chart["progres"]["progres"]) == (total, done), path
        assert node["progres"] == {"total": total, "progres": done}, path
    assert rows_without_data >= TPS_TOTAL - PUBLISHED_AT_1015  # at least every unpublished TPS row


def test_a_tps_has_the_same_numbers_at_every_progress(full_tps, snapshot_tps):
    for code, node in snapshot_tps.items():
        if node["tungsura"]["chart"] is not None:
            assert node["tungsura"] == full_tps[code]["tungsura"], code


def test_admin_arithmetic_on_published_snapshot_tps(snapshot_tps):
    for code, node in snapshot_tps.items():
        chart, a = node["tungsura"]["chart"], node["tungsura"]["administrasi"]
        if chart is None:
            continue
        assert max(chart.values()) <= 600, code
        assert sum(chart.values()) == a["suara_sah"], code
        assert a["suara_sah"] + a["suara_tidak_sah"] == a["suara_total"] == a["pengguna_total_j"], code
        assert a["pengguna_dpt_j"] <= a["pemilih_dpt_j"], code


# --- Determinism and generality ------------------------------------------------------------------


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def test_same_seed_gives_byte_identical_mirrors(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_kaltim_mirror(a)
    generate_kaltim_mirror(b)
    first = tree_bytes(a)
    assert len(first) == 7_545
    assert first == tree_bytes(b)
    generate_kaltim_mirror(c, seed=7)
    # Another seed is another draw (the kelurahan layout included).
    assert tree_bytes(c) != first


def small_spec(**changes) -> RaceSpec:
    """A synthetic three-candidate race: one kab/kota, two kecamatan, 9 TPS."""
    spec = RaceSpec(
        election="pilkada",
        contest="pkwkp",
        province_code="99",
        province_name="DEMO",
        candidates=(
            Candidate("7", 1, "A", "#111111"),
            Candidate("5", 2, "B", "#222222"),
            Candidate("9", 3, "C", "#333333"),
        ),
        kabkota=(
            KabKota(
                "9971",
                "KOTA DEMO",
                {"7": 1_000, "5": 700, "9": 0},
                (Kecamatan("997101", "SATU", 4), Kecamatan("997102", "DUA", 5)),
            ),
        ),
        kelurahan_total=3,
        invalid_votes=50,
        dpt_total=3_000,
        ts="2024-11-28 01:00:00",
    )
    return dataclasses.replace(spec, **changes)


def test_any_race_spec(tmp_path):
    manifest = generate_mirror(small_spec(), tmp_path, progress=1.0)
    assert manifest.complete_votes == manifest.published_votes == {"7": 1_000, "5": 700, "9": 0}
    kel = sorted((tmp_path / "pilkada/hhcw/pkwkp/99/9971").glob("*/*.json"))
    assert [p.stem for p in kel][:1] == ["9971011001"]  # a kota: kelurahan numbered from 1001
    assert len(kel) == 3 and len(tps_files(tmp_path, "99")) == 9


def test_progress_zero_publishes_nothing(tmp_path):
    manifest = generate_mirror(small_spec(), tmp_path, progress=0.0)
    assert manifest.tps_published == 0 and manifest.published_votes == {"7": 0, "5": 0, "9": 0}
    province = load(tmp_path / "pilkada/hhcw/pkwkp/99.json")
    assert candidate_keys(province["tungsura"]["chart"]) == {}
    assert province["tungsura"]["table"]["9971"]["status_progress"] is False


KOTA_DEMO = small_spec().kabkota[0]


@pytest.mark.parametrize(
    "spec, progress",
    [
        (small_spec(), 1.5),
        (small_spec(kelurahan_total=1), 1.0),  # fewer kelurahan than kecamatan
        (small_spec(kelurahan_total=10), 1.0),  # more kelurahan than TPS
        (small_spec(dpt_total=100), 1.0),  # fewer registered voters than voters
        (small_spec(kabkota=(dataclasses.replace(KOTA_DEMO, votes={"7": 1, "5": 1}),)), 1.0),  # "9" missing
        # 6,000 votes cannot fit 9 TPS with at most 600 per candidate each.
        (small_spec(kabkota=(dataclasses.replace(KOTA_DEMO, votes={"7": 6_000, "5": 0, "9": 0}),)), 1.0),
    ],
)
def test_impossible_specs_are_refused(tmp_path, spec, progress):
    with pytest.raises(ValueError):
        generate_mirror(spec, tmp_path, progress=progress)


def test_revisions_move_votes_and_keep_the_mirror_consistent(tmp_path):
    plain, revised = tmp_path / "plain", tmp_path / "revised"
    generate_mirror(small_spec(), plain, progress=1.0)
    tps = tps_files(plain, "99")[4]
    before = load(tps)
    manifest = generate_mirror(small_spec(), revised, progress=1.0, revisions={tps.stem: {"7": -3, "9": 3}})
    after = load(revised / tps.relative_to(plain))
    chart_before, chart_after = before["tungsura"]["chart"], after["tungsura"]["chart"]
    assert (chart_after["7"], chart_after["5"], chart_after["9"]) == (chart_before["7"] - 3, chart_before["5"], chart_before["9"] + 3)
    assert after["tungsura"]["administrasi"] == before["tungsura"]["administrasi"]  # suara_sah unchanged
    assert manifest.published_votes == {"7": 997, "5": 700, "9": 3}
    assert manifest.complete_votes == {"7": 1_000, "5": 700, "9": 0}  # the official count stays the spec's
    # Every aggregate above it is recomputed; nothing else differs.
    differ = {p.relative_to(revised).as_posix() for p in revised.rglob("*.json") if p.read_bytes() != (plain / p.relative_to(revised)).read_bytes()}
    chain = tps.relative_to(plain).as_posix()
    assert differ == {chain, *(chain.rsplit("/", n)[0] + ".json" for n in (1, 2, 3, 4))}


@pytest.mark.parametrize(
    ("revisions", "why"),
    [
        ({"9971011001001": {"7": -1, "5": 2}}, "sum to 1, not 0"),
        ({"9971011001001": {"8": 1, "7": -1}}, "unknown candidate ids"),
        ({"9971011001999": {"7": 1, "5": -1}}, "not a published TPS"),
        ({"9971011001001": {"7": 1_000, "5": -1_000}}, "leave"),
    ],
)
def test_impossible_revisions_are_refused(tmp_path, revisions, why):
    with pytest.raises(ValueError, match=f"revision of .*{why}"):
        generate_mirror(small_spec(), tmp_path, progress=1.0, revisions=revisions)


def test_a_revision_of_an_unpublished_tps_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a published TPS"):
        generate_mirror(small_spec(), tmp_path, progress=0.0, revisions={"9971011001001": {"7": -1, "5": 1}})


def test_builtin_spec_matches_the_facts():
    assert sum(k.tps for k in KALTIM_2024.kabkota) == TPS_TOTAL
    assert sum(len(k.kecamatan) for k in KALTIM_2024.kabkota) == KECAMATAN_TOTAL
    builtin = {k.code: (k.votes[ISRAN], k.votes[RUDY], sum(c.tps for c in k.kecamatan)) for k in KALTIM_2024.kabkota}
    assert builtin == OFFICIAL


# --- The demo's other sources: the internal count and the official recap ---------------------------


def test_official_recap_is_the_dhasil_as_transcribed(tmp_path):
    import csv

    from flows.sources.demo import write_official_recap
    from tests.shared import OFFICIAL_RECAP

    path = write_official_recap(KALTIM_2024, tmp_path / "recap.csv")
    with path.open() as mine, OFFICIAL_RECAP.open() as real:
        assert list(csv.DictReader(mine)) == list(csv.DictReader(real))


def test_internal_count_differs_from_the_complete_count_where_it_says(full, full_tps, tmp_path):
    import csv

    from flows.sources.demo import generate_internal_count

    manifest = generate_internal_count(KALTIM_2024, tmp_path / "internal.csv")
    with manifest.path.open() as f:
        rows = list(csv.DictReader(f))
    latest = {}
    for row in rows:  # a TPS sent twice: the later line is the one that counts
        if row["kode_tps"] not in latest or row["dikirim"] > latest[row["kode_tps"]]["dikirim"]:
            latest[row["kode_tps"]] = row
    assert len(rows) == manifest.rows == len(latest) + len(manifest.tps_resubmitted)
    assert len(latest) == manifest.tps_counted == TPS_TOTAL - 12
    assert set(manifest.tps_missing) == set(full_tps) - set(latest)
    assert len(manifest.tps_differing) == round(0.03 * manifest.tps_counted)
    for code, row in latest.items():
        chart = full_tps[code]["tungsura"]["chart"]
        delta = {cid: int(row[f"suara_paslon_{n:02d}"]) - chart[cid] for cid, n in ((ISRAN, 1), (RUDY, 2))}
        assert {c: d for c, d in delta.items() if d} == manifest.tps_differing.get(code, {}), code
        assert int(row["suara_sah"]) == int(row["suara_paslon_01"]) + int(row["suara_paslon_02"])
    # Same seed, same file.
    again = generate_internal_count(KALTIM_2024, tmp_path / "again.csv")
    assert again.path.read_bytes() == manifest.path.read_bytes()


# --- SIREKAP's errors (what `rekap demo` publishes) --------------------------------------------

ERRORS = SirekapErrors(ocr_inflated=3, arithmetic_slips=4, chart_only=3, admin_only=2)


@pytest.fixture(scope="module")
def with_errors(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("errors")
    return root, generate_kaltim_mirror(root, errors=ERRORS)


def test_errors_sit_in_published_tps_files_and_nowhere_else(with_errors, snapshot, snapshot_tps) -> None:
    root, manifest = with_errors
    erroneous = {p.stem: load(p) for p in tps_files(root)}
    changed = {code for code, node in erroneous.items() if node != snapshot_tps[code]}
    assert len(changed) == 3 + 4 + 3 + 2
    blocks = {code: erroneous[code]["tungsura"] for code in changed}
    over_cap = {c for c, b in blocks.items() if b["chart"] and max(candidate_keys(b["chart"]).values()) > 600}
    chart_only = {c for c, b in blocks.items() if b["chart"] and b["administrasi"] is None}
    admin_only = {c for c, b in blocks.items() if b["chart"] is None and b["administrasi"]}
    slips = {c for c, b in blocks.items() if b["chart"] and b["administrasi"] and c not in over_cap}
    assert (len(over_cap), len(slips), len(chart_only), len(admin_only)) == (3, 4, 3, 2)
    for code in over_cap:  # the first pair's count read with a 9 in front: 62 -> 962
        clean = snapshot_tps[code]["tungsura"]["chart"][ISRAN]
        assert blocks[code]["chart"][ISRAN] == int(f"9{clean}")
    for code in slips:  # suara_sah 10 too high: the candidates add up to 10 less
        chart, admin = blocks[code]["chart"], blocks[code]["administrasi"]
        assert admin["suara_sah"] - sum(candidate_keys(chart).values()) == 10
    # The aggregates keep the correct counts: every file above the TPS is the clean snapshot's.
    clean_root = snapshot[0]
    for path in sorted((root / HHCW).rglob("*.json")):
        if len(path.stem) < 13:
            assert path.read_bytes() == (clean_root / path.relative_to(root)).read_bytes(), path
    assert manifest.published_votes == snapshot[1].published_votes


def test_withheld_snapshot_zeroes_one_kabkota_and_keeps_its_progress(snapshot, tmp_path: Path) -> None:
    root = snapshot[0]
    path = write_withheld_snapshot(KALTIM_2024, root, tmp_path / "later")
    assert [p.relative_to(tmp_path / "later").as_posix() for p in (tmp_path / "later").rglob("*.json")] == [f"{HHCW}/64/6401.json"]
    before, after = load(root / HHCW / "64" / "6401.json")["tungsura"], load(path)["tungsura"]
    assert set(candidate_keys(after["chart"]).values()) == {0} and candidate_keys(before["chart"])[RUDY] > 0
    assert after["chart"]["progres"] == before["chart"]["progres"]
    assert all(set(candidate_keys(row).values()) <= {0} for row in after["table"].values())
