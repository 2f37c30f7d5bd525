"""Issue 9: the report as static pages, checked against figures known without the code (the
shared data's README, the recap and claim files, the TPS files read directly), in both
languages, and in headless chromium at a phone's and a desktop's width."""

from __future__ import annotations

import csv
import html
import json
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import orjson
import polars as pl
import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.settings import PROJECT_ROOT
from tests.browser import Browser
from tests.shared import CLAIM, KALTIM_1015, OFFICIAL_RECAP, SERIBU, load_and_build

SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"  # git-ignored; look at them after a run
KALTIM_KABKOTA = ["6401", "6402", "6403", "6407", "6408", "6409", "6411", "6471", "6472", "6474"]

# Labels of each language that must never show on a page of the other.
ONLY_ID = ["Laporan rekonsiliasi", "Kontestasi", "Paslon", "Per kabupaten/kota", "Kelengkapan", "Riwayat versi",
           "TPS bermasalah, per aturan", "Cari kode atau nama", "Kembali ke ringkasan", "Rekap resmi", "Hitung internal", "Keterangan",
           "Cakupan sebagian", "Temuan", "Foto formulir", "Mutu data", "Suara dipertaruhkan", "Unggul di", "lengkap", "kesalahan"]  # fmt: skip
ONLY_EN = ["Reconciliation report", "Races", "Candidate", "By kab/kota", "Completeness", "Version history",
           "Flagged TPS, by rule", "Search a region", "Back to the summary", "Official recap", "Internal count", "Legend",
           "Partial coverage", "Finding", "Form photos", "Data quality", "Votes at stake", "Leader under", "complete", "error"]  # fmt: skip


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def real_warehouse(tmp_path_factory) -> Path:
    """Kaltim 10:15 with the Rudy–Seno claim and the D.HASIL recap, beside Kepulauan Seribu's 88 TPS."""
    root = tmp_path_factory.mktemp("real")
    # With the presidential race loaded too, a file of Kaltim codes fits two races: say which.
    race = root / "race.toml"
    race.write_text('election = "pilkada2024"\ncontest = "pkwkp"\n')
    load_and_build(root / "real.duckdb", KALTIM_1015, SERIBU, internal=[CLAIM], official=[OFFICIAL_RECAP], columns=race).close()
    return root / "real.duckdb"


@pytest.fixture(scope="module")
def real_site(real_warehouse: Path, tmp_path_factory) -> dict[str, Path]:
    sites = {}
    for lang in ("id", "en"):
        out = tmp_path_factory.mktemp(f"site-{lang}")
        result = invoke("report", "--format", "html", "--lang", lang, "--out", out, "--warehouse", real_warehouse)
        assert result.exit_code == 0, result.output
        assert result.output.split() == ["report", "(12", "pages):", str(out / "index.html")]
        sites[lang] = out
    return sites


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    """What `rekap demo` loads: the snapshot with SIREKAP's errors, the later one withholding a kab/kota, both counts."""
    from flows.sources.demo import (KALTIM_2024, SirekapErrors, generate_internal_count, generate_kaltim_mirror,
                                    write_official_recap, write_withheld_snapshot)  # fmt: skip

    root = tmp_path_factory.mktemp("demo")
    generate_kaltim_mirror(root / "sirekap", progress=0.964, seed=2024, errors=SirekapErrors())
    write_withheld_snapshot(KALTIM_2024, root / "sirekap", root / "later")
    internal = generate_internal_count(KALTIM_2024, root / "internal.csv", seed=2024)
    official = write_official_recap(KALTIM_2024, root / "dhasil.csv")
    load_and_build(root / "demo.duckdb", root / "sirekap", root / "later", internal=[internal.path], official=[official]).close()
    result = invoke("report", "--format", "html", "--out", root / "site", "--warehouse", root / "demo.duckdb")
    assert result.exit_code == 0, result.output
    return root / "site"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def text_of(page: Path) -> str:
    """The page's visible text, tags dropped, entities decoded, runs of space made one."""
    raw = page.read_text(encoding="utf-8")
    raw = re.sub(r"<script.*?</script>|<style.*?</style>", " ", raw, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def race_card(page: Path, race: str) -> str:
    found = re.search(rf'<article class="race [a-z_]+" id="race-{race}">(.*?)</article>', page.read_text(encoding="utf-8"), re.S)
    assert found, race
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))))


def tps_rows(page: Path) -> dict[str, str]:
    return dict(re.findall(r'<tr id="r-(\d{13})">(.*?)</tr>', page.read_text(encoding="utf-8"), re.S))


def seribu_tps_files() -> dict[str, dict]:
    return {path.stem: orjson.loads(path.read_bytes()) for path in SERIBU.rglob("*.json") if re.fullmatch(r"\d{13}", path.stem)}


# --- the headline ------------------------------------------------------------------------------


def test_governor_headline_has_every_candidate_under_every_source_with_its_share(real_site) -> None:
    card = race_card(real_site["id"] / "index.html", "pilkada2024-pkwkp-64")
    # Shares by hand: 766,850 / (766,850 + 962,804) = 44.34%; the recap's 793,793 / 1,790,192 = 44.34%
    # (its README says so); the claim's 793,332 / 1,790,676 = 44.30%.
    for text in ("766.850 (44,34%)", "962.804 (55,66%)", "793.793 (44,34%)", "996.399 (55,66%)", "793.332 (44,30%)", "997.344 (55,70%)"):
        assert text in card, text
    # SIREKAP had 6,048 of the 6,274 TPS in at 10:15: the headline says the coverage is partial.
    assert "Cakupan sebagian: SIREKAP 6.048 dari 6.274 TPS" in card
    assert "Unggul di Internal, SIREKAP dan Resmi: 02 H. RUDY MAS'UD" in card and "AMAN" in card


def test_presidential_headline_reads_the_81_tps_with_a_chart(real_site) -> None:
    card = race_card(real_site["en"] / "index.html", "pemilu2024-ppwp-0")
    # README: 81 TPS with a chart total 01 = 6,418, 02 = 8,613, 03 = 2,635 (of 17,666: 36.33%, 48.75%, 14.92%).
    for text in ("6,418 (36.33%)", "8,613 (48.75%)", "2,635 (14.92%)", "Partial coverage: SIREKAP 81 of 88 TPS"):
        assert text in card, text


def test_each_kabkota_page_has_the_recap_and_the_claim_numbers(real_site) -> None:
    pages = sorted(p.name for p in real_site["id"].iterdir())
    assert pages == ["index.html", *[f"kabkota-{code}.html" for code in ["3101", *KALTIM_KABKOTA]]]
    with OFFICIAL_RECAP.open() as f:
        recap = {row["kode_kab"]: row for row in csv.DictReader(f) if len(row["kode_kab"]) == 4}
    assert sorted(recap) == KALTIM_KABKOTA
    for code, row in recap.items():
        text = text_of(real_site["id"] / f"kabkota-{code}.html")
        assert row["nama"] in text
        for votes in (row["isran_hadi_01"], row["rudy_seno_02"]):
            assert f"{int(votes):,}".replace(",", ".") in text, (code, votes)
    # The claim gives Kutai Kartanegara only 02 = 214,374; 01 is unknown, shown as no number, never 0.
    kukar = text_of(real_site["id"] / "kabkota-6402.html")
    assert "214.374" in kukar and "01 Internal tidak ada angka" in kukar


# --- the TPS -----------------------------------------------------------------------------------


def test_seribu_page_lists_its_88_tps_with_their_completeness(real_site) -> None:
    rows = tps_rows(real_site["id"] / "kabkota-3101.html")
    assert len(rows) == 88
    completeness = [re.search(r'data-label="Kelengkapan">([^<]*)<', row).group(1) for row in rows.values()]
    # README: 59 TPS with both blocks, 22 chart only, 1 administrasi only, 6 with neither.
    assert {word: completeness.count(word) for word in set(completeness)} == {"lengkap": 59, "hanya chart": 22, "hanya administrasi": 1, "kosong": 6}


def test_a_tps_row_shows_its_numbers_its_broken_rules_and_its_form_photos(real_site) -> None:
    files = seribu_tps_files()
    # The one TPS with a candidate above 300 (README), found by reading the files, not the warehouse.
    over = [code for code, doc in files.items() if any(v is not None and v > 300 for k, v in (doc.get("chart") or {}).items() if k != "null")]
    assert len(over) == 1
    code = over[0]
    row = tps_rows(real_site["en"] / "kabkota-3101.html")[code]
    chart = files[code]["chart"]
    ballot = {"100025": "01", "100026": "02", "100027": "03"}
    shown = " · ".join(f"{ballot[k]}: {chart[k]:,}" for k in sorted(ballot))
    assert shown in html.unescape(row)
    assert "candidate_over_cap" in row
    photos = [u for u in files[code]["images"] if u]
    assert photos and all(f'href="{html.escape(u)}"' in row for u in photos)


def test_flagged_tps_are_listed_per_rule_with_the_message_in_the_chosen_language(real_site) -> None:
    files = seribu_tps_files()

    def sums_differ(doc) -> bool:
        chart, admin = doc.get("chart"), doc.get("administrasi")
        if not chart or not admin or admin.get("suara_sah") is None:
            return False
        return sum(v for k, v in chart.items() if k != "null" and v is not None) != admin["suara_sah"]

    expected = sorted(code for code, doc in files.items() if sums_differ(doc))
    assert len(expected) == 5  # README: 5 TPS whose candidate sum differs from suara_sah
    for lang, message in (("id", "tidak sama dengan suara sah"), ("en", "not to the valid votes")):
        page = (real_site[lang] / "index.html").read_text(encoding="utf-8")
        section = re.search(r'<details id="rule-c1_candidate_sum">(.*?)</details>', page, re.S).group(1)
        listed = sorted(set(re.findall(r'#r-(\d{13})"', section)))
        assert listed == expected
        assert section.count(message) == 5
        assert "5 TPS" in section


def test_search_makes_each_link_parent_and_tps_from_the_index_entries(browser: Browser, tmp_path: Path) -> None:
    """Hand-made rows: a kelurahan with TPS 001-003 and 005 (a gap in its runs), and a TPS whose
    kelurahan has no row of its own (its entry names its parent)."""
    from report.data import Report
    from report.site import Drilldown, _Site

    votes = [("kecamatan", "640101"), ("kelurahan", "6401011001"), *(("tps", f"6401011001{n}") for n in ("001", "002", "003", "005"))]
    drill = Drilldown(
        region_votes=pl.DataFrame({"election": "pilkada2024", "contest": "pkwkp", "level": [lv for lv, _ in votes], "region_code": [c for _, c in votes],
                                   "kabkota_code": "6401", "source": "sirekap", "candidate_key": "01", "votes": 1}),  # fmt: skip
        region_names={"6401": "PASER", "640101": "BATU SOPANG", "6401011001": "DESA A", "6401011002": "DESA B"},
        tps=pl.DataFrame({"election": ["pilkada2024"], "contest": ["pkwkp"], "tps_code": ["6401011002001"], "kabkota_code": ["6401"]}),
        findings=pl.DataFrame(), history=pl.DataFrame(), corrections=pl.DataFrame(),
    )  # fmt: skip
    report = Report("2026-12-07 00:00", "", pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), pl.DataFrame(),
                    {"last_run": pl.DataFrame(), "quarantine": pl.DataFrame()})  # fmt: skip
    site = _Site(report, drill, "en")
    assert site.search_index() == [["6401", "PASER"], ["640101", "BATU SOPANG"], ["6401011001", "DESA A", "1-3 5"], ["6401011002001", "TPS 001", "", "DESA B"]]
    (tmp_path / "index.html").write_text(site.index(), encoding="utf-8")

    def found(query: str) -> list[tuple[str, str]]:
        visit = browser.visit((tmp_path / "index.html").as_uri() + f"?q={query}", 390, measure=False)
        assert visit.console == []
        return re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', visit.dom)

    assert found("6401011002001") == [("kabkota-6401.html#r-6401011002001", "6401011002001 TPS 001, DESA B")]
    assert found("6401011001") == [("kabkota-6401.html#r-6401011001", "6401011001 DESA A, BATU SOPANG")] + [
        (f"kabkota-6401.html#r-6401011001{n}", f"6401011001{n} TPS {n}, DESA A") for n in ("001", "002", "003", "005")]
    assert found("6401011001004") == []
    assert found("batu") == [("kabkota-6401.html#r-640101", "640101 BATU SOPANG, PASER"), ("kabkota-6401.html#r-6401011001", "6401011001 DESA A, BATU SOPANG")]
    assert found("paser") == [("kabkota-6401.html", "6401 PASER"), ("kabkota-6401.html#r-640101", "640101 BATU SOPANG, PASER")]


def test_pages_written_by_worker_processes_equal_those_written_here(real_warehouse, tmp_path: Path, monkeypatch) -> None:
    """A national report's pages are written by one worker process per core, each handed a page's
    rows: the same bytes as the pages written in this process."""
    import report.site
    from warehouse.db import connect

    pools = []
    monkeypatch.setattr(report.site, "PARALLEL_PAGES", 0)  # Kaltim and Seribu: 11 pages
    monkeypatch.setattr(report.site, "ProcessPoolExecutor", lambda *a, **k: pools.append(a) or ProcessPoolExecutor(*a, **k))
    with connect(real_warehouse, read_only=True) as con:
        here = report.site.write_site(con, tmp_path / "here", "en", workers=1)
        assert not pools
        there = report.site.write_site(con, tmp_path / "there", "en", workers=2)
    assert len(pools) == 1
    assert [p.name for p in here] == [p.name for p in there] and len(here) == 12
    for ours, theirs in zip(here[1:], there[1:]):
        assert ours.read_bytes() == theirs.read_bytes(), ours.name


def test_a_rule_flagging_more_tps_than_index_lists_is_counted_by_kabkota_there(browser: Browser, real_warehouse, tmp_path: Path, monkeypatch) -> None:
    """A national night can flag tens of thousands of TPS: past FLAGGED_LISTED, index.html counts
    a rule's TPS by kab/kota and links to each kab/kota's page, which lists them."""
    import report.site

    monkeypatch.setattr(report.site, "FLAGGED_LISTED", 4)  # Seribu's 5 TPS whose candidate sum differs (README)
    result = invoke("report", "--format", "html", "--lang", "en", "--out", tmp_path, "--warehouse", real_warehouse)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    section = re.search(r'<details id="rule-c1_candidate_sum">(.*?)</details>', page, re.S).group(1)
    assert "5 TPS" in section and "More than 4 TPS" in section
    assert not re.findall(r"#r-\d{13}", section)  # no TPS listed one by one
    (row,) = re.findall(r"<tr><td.*?</tr>", section)
    assert '<a href="kabkota-3101.html#rule-c1_candidate_sum">3101</a>' in row and re.search(r'class="n"[^>]*>5</td>', row)
    kabkota = (tmp_path / "kabkota-3101.html").read_text(encoding="utf-8")
    listed = re.search(r'<details id="rule-c1_candidate_sum">(.*?)</details>', kabkota, re.S).group(1)
    assert len(set(re.findall(r'#r-(\d{13})"', listed))) == 5
    # The link opens the rule's folded list on the kab/kota page.
    landed = browser.visit((tmp_path / "kabkota-3101.html").as_uri() + "#rule-c1_candidate_sum", 390, measure=False)
    assert '<details id="rule-c1_candidate_sum" open="">' in landed.dom


def test_a_tps_shows_its_version_history(real_site) -> None:
    rows = tps_rows(real_site["en"] / "kabkota-3101.html")
    # Each TPS file was read once: one version, the current one, with the publisher's ts of its file.
    code, row = next(iter(rows.items()))
    doc = seribu_tps_files()[code]
    assert "v1 · " in row and "(current)" in row and f"publisher ts {doc['ts']}" in row


# --- languages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, foreign", [("id", ONLY_EN), ("en", ONLY_ID)])
def test_a_page_carries_no_label_of_the_other_language(real_site, lang: str, foreign: list[str]) -> None:
    for page in sorted(real_site[lang].iterdir()):
        text = text_of(page)
        found = [word for word in foreign if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)]
        assert found == [], (page.name, found)


def test_numbers_follow_the_language(real_site) -> None:
    indonesian, english = text_of(real_site["id"] / "index.html"), text_of(real_site["en"] / "index.html")
    assert "962.804" in indonesian and "962,804" not in indonesian
    assert "962,804" in english and "962.804" not in english


# --- in a browser ------------------------------------------------------------------------------


def test_search_finds_a_kabkota_by_name_and_a_tps_by_code(browser: Browser, real_site) -> None:
    index = real_site["id"] / "index.html"
    by_name = browser.visit(index.as_uri() + "?q=samarinda", 390, measure=False)
    assert re.search(r'<a href="kabkota-6472.html">6472 [A-Z ]*SAMARINDA</a>', by_name.dom)
    tps = "3101011001001"
    by_code = browser.visit(index.as_uri() + f"?q={tps}", 390, measure=False)
    assert f'<a href="kabkota-3101.html#r-{tps}">{tps} TPS 001' in by_code.dom
    # The link lands on the TPS's row, opened out of its folded kecamatan and kelurahan.
    landed = browser.visit((real_site["id"] / "kabkota-3101.html").as_uri() + f"#r-{tps}", 390, measure=False)
    assert re.search(rf'<details id="r-310101" open="">.*<details id="r-{tps[:10]}" open="">.*<tr id="r-{tps}">', landed.dom, re.S)
    assert by_name.off_disk_requests == by_code.off_disk_requests == landed.off_disk_requests == []


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("site", ["demo", "real"])
def test_pages_load_offline_without_errors_and_fit_the_screen(browser: Browser, request, site: str, width: int) -> None:
    folder = request.getfixturevalue("demo_site" if site == "demo" else "real_site")
    folder = folder if site == "demo" else folder["id"]
    biggest = max((p for p in folder.iterdir() if p.name != "index.html"), key=lambda p: p.stat().st_size)
    for page in (folder / "index.html", biggest):
        visit = browser.visit(page.as_uri(), width, screenshot=SCREENSHOTS / f"{site}-{page.stem}-{width}.png")
        assert visit.off_disk_requests == [] and visit.console == [], (page.name, visit.off_disk_requests, visit.console)
        assert visit.layout["viewport"] == width
        assert visit.layout["right"] <= width and visit.layout["scroll_width"] <= width, (page.name, visit.layout)


def test_the_browser_checks_would_see_a_request_an_error_and_an_overflow(browser: Browser, tmp_path: Path) -> None:
    """The checks above are only worth something if they fire."""
    page = tmp_path / "leaky.html"
    page.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
                    '<link rel="stylesheet" href="https://example.invalid/x.css"></head><body><div id="wide" style="width:700px">x</div></body></html>')  # fmt: skip
    visit = browser.visit(page.as_uri(), 390)
    assert visit.off_disk_requests == ["https://example.invalid/x.css"]
    assert any("Content Security Policy" in line for line in visit.console)
    assert visit.layout["right"] > 390 and visit.layout["element"] == "div#wide"


def test_withheld_counts_show_as_withheld(tmp_path: Path) -> None:
    """A kab/kota node whose counts all drop to 0 while its progress stays is withheld (sirekap.md, case 4)."""
    from flows.sources.demo import generate_mirror, write_withheld_snapshot
    from tests.shared import mini_race

    spec = mini_race()
    generate_mirror(spec, tmp_path / "first", progress=1.0)
    write_withheld_snapshot(spec, tmp_path / "first", tmp_path / "later", "9971")
    warehouse = tmp_path / "w.duckdb"
    load_and_build(warehouse, tmp_path / "first", tmp_path / "later").close()
    result = invoke("report", "--format", "html", "--lang", "en", "--out", tmp_path / "site", "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    section = re.search(r'<section id="withheld">(.*?)</section>', (tmp_path / "site" / "index.html").read_text(), re.S)
    assert section and "9971 KOTA DEMO" in section.group(1) and "WITHHELD" in section.group(1)
    assert "9901" not in section.group(1)
    # The marts keep the earlier counts: KOTA DEMO's spec says 2,000 for PAIR A (01) and 1,500 for PAIR B (02).
    kota = text_of(tmp_path / "site" / "kabkota-9971.html")
    assert "2,000 (57.14%)" in kota and "1,500 (42.86%)" in kota


def test_search_index_names_every_tps_once(real_site) -> None:
    page = (real_site["id"] / "index.html").read_text(encoding="utf-8")
    entries = json.loads(re.search(r'<script type="application/json" id="search-index">(.*?)</script>', page, re.S).group(1))
    # A kelurahan's TPS ride on its entry, [code, name, "1-12 15"], numbered in runs.
    def numbers(runs: str) -> list[str]:
        ends = [[int(n) for n in run.split("-")] for run in runs.split(" ")]
        return [f"{n:03d}" for run in ends for n in range(run[0], run[-1] + 1)]

    tps = [e[0] for e in entries if len(e[0]) == 13] + [e[0] + n for e in entries if len(e) > 2 and e[2] for n in numbers(e[2])]
    assert sorted(tps) == sorted(seribu_tps_files())
    assert not [e for e in entries if len(e[0]) == 13]  # none written whole: each one's kelurahan is listed
    # No link and no parent's name is written: the script makes them from the code and the parent's entry.
    assert not [e for e in entries if len(e) > 3 or ".html" in e[1]]
