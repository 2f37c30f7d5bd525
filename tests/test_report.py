"""Issue 4, "Done when" 6 and the report: rekap report in every format, the HTML in a real browser,
and the whole run through the CLI and Prefect (messages for bad files, report artifacts)."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from tests.shared import CLAIM, KALTIM_1015, OFFICIAL_RECAP, load_and_build
from tests.test_reconciliation import BAD_FILES, write_bad_files

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0"]  # fmt: skip


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "w.duckdb"
    load_and_build(path, KALTIM_1015, internal=[CLAIM], official=[OFFICIAL_RECAP]).close()
    return path


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    # CI installs it (.ci/run); a developer machine without it should say so, not skip the check.
    assert found, "the HTML report test needs Debian's chromium: apt-get install -y chromium"
    return found


def test_markdown_report_has_the_headline_and_the_ranked_discrepancies(warehouse: Path, tmp_path: Path) -> None:
    result = invoke("report", "--format", "md", "--out", tmp_path, "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "rekap-report.md").read_text()
    assert "| Gubernur dan Wakil Gubernur · KALIMANTAN TIMUR (`pilkada2024/pkwkp/64`) | 02 H. RUDY MAS'UD" in text
    assert "**SAFE** | 66,039 | 195,954 | 204,012 (11.39%), 02 leads | 195,954 (11.33%), 02 leads | 202,606 (11.32%), 02 leads |" in text
    ranked = [line for line in text.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    # The province's +945/-461 moves the margin by 1,406; Kutai Kartanegara's +262 by 262.
    assert ranked == [
        "| 1 | `pilkada2024/pkwkp/64` | provinsi | 64 KALIMANTAN TIMUR | Internal − Official | 01 -461, 02 +945 | +1,406 |",
        "| 2 | `pilkada2024/pkwkp/64` | kabkota | 6402 KUTAI KARTANEGARA | Internal − Official | 02 +262 | +262 |",
    ]
    assert "6402 KUTAI KARTANEGARA | 02: 214,374 | 01: 146,487, 02: 199,131 (1,342 of 1,447 TPS) | 01: 156,428, 02: 214,112 |" in text


def test_csv_report_writes_the_tables(warehouse: Path, tmp_path: Path) -> None:
    result = invoke("report", "--format", "csv", "--out", tmp_path, "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["discrepancies.csv", "outcome_risk.csv", "reconciliation.csv", "tps_reconciliation.csv"]
    with (tmp_path / "outcome_risk.csv").open() as f:
        governor = next(r for r in csv.DictReader(f) if r["contest"] == "pkwkp")
    assert (governor["leader_nomor_urut"], governor["verdict"]) == ("2", "safe")


def test_report_without_a_warehouse_says_so(tmp_path: Path) -> None:
    result = invoke("report", "--out", tmp_path, "--warehouse", tmp_path / "nope.duckdb")
    assert result.exit_code == 1 and "no warehouse at" in result.output


def test_html_report_opens_in_headless_chromium(warehouse: Path, tmp_path: Path) -> None:
    result = invoke("report", "--format", "html", "--out", tmp_path, "--warehouse", warehouse)
    assert result.exit_code == 0, result.output
    page = tmp_path / "rekap-report.html"
    html = page.read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "<script" not in html and "<link" not in html
    browser = chromium()
    profile = tmp_path / "profile"
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    # The browser parsed and laid out the page: the governor race's headline is in its DOM.
    assert "Gubernur dan Wakil Gubernur · KALIMANTAN TIMUR" in dom.stdout
    assert "Leader: <b>02 H. RUDY MAS'UD, S.E., M.E. - Ir. H. SENO AJI, M. Si.</b> under all three sources." in dom.stdout
    assert '<span class="badge safe">SAFE</span>' in dom.stdout
    # No console error, no blocked load (the page's CSP would report any resource it tried to fetch).
    errors = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Refused to" in line or "Uncaught" in line]
    assert errors == []
    shot = tmp_path / "report.png"
    screenshot = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
                                capture_output=True, text=True, timeout=120)  # fmt: skip
    assert screenshot.returncode == 0 and shot.stat().st_size > 20_000, screenshot.stderr[-2000:]


def test_the_browser_check_would_see_an_external_resource(tmp_path: Path) -> None:
    """The console check above is only worth something if it fires: a page loading a remote stylesheet."""
    page = tmp_path / "leaky.html"
    page.write_text("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
                    '<link rel="stylesheet" href="https://example.invalid/x.css"></head><body>x</body></html>')  # fmt: skip
    dom = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert any("Refused to" in line or "CONSOLE" in line for line in dom.stderr.splitlines()), dom.stderr[-2000:]


def test_run_with_count_files_through_the_cli_and_prefect(rekap, tmp_path: Path) -> None:
    from prefect.artifacts import Artifact

    bad = write_bad_files(tmp_path / "bad")
    warehouse = tmp_path / "w.duckdb"
    args = ["run", "--sirekap", KALTIM_1015, "--internal", CLAIM, *[a for path in bad for a in ("--internal", path)],
            "--official", OFFICIAL_RECAP, "--warehouse", warehouse]  # fmt: skip
    result = rekap(*args)
    files = sum(1 for _ in KALTIM_1015.rglob("*.json"))
    assert f"{files + 5} records read, {files + 2} loaded, 3 quarantined" in result.output
    for path in bad:
        _, rule, message = BAD_FILES[path.name]
        assert f"internal file not loaded: {path}: " in result.output and message in result.output
    assert "Reconciliation per race (outcome_risk)" in result.output
    governor = next(line for line in result.output.splitlines() if "KALIMANTAN TIMUR" in line and "safe" in line)
    assert "204,012" in governor and "195,954" in governor and "202,606" in governor

    races = Artifact.get("rekap-races")
    report = Artifact.get("rekap-report")
    assert races is not None and report is not None
    assert "KALIMANTAN TIMUR (`pilkada2024/pkwkp/64`) | 02 H. RUDY MAS'UD" in races.data
    assert "## Discrepancies, by their effect on the margin" in report.data and "01 -461, 02 +945" in report.data
    assert "Not loaded: `" + str(bad[0]) in report.data
