"""Issue 4, "Done when" 6 and the report: rekap report as Markdown and CSV, and the whole run
through the CLI and Prefect (messages for bad files, report artifacts, the HTML pages it writes).
The HTML pages themselves, in a browser: tests/test_report_site.py."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from tests.shared import CLAIM, KALTIM_1015, OFFICIAL_RECAP, load_and_build
from tests.test_reconciliation import BAD_FILES, write_bad_files

def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "w.duckdb"
    load_and_build(path, KALTIM_1015, internal=[CLAIM], official=[OFFICIAL_RECAP]).close()
    return path


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
        # Messages wrap at 100 columns: compare the words.
        said = " ".join(result.output.split())
        assert f"internal file not loaded: {path}: " in said and " ".join(message.split()) in said
    assert "Reconciliation per race (outcome_risk)" in result.output
    # The run writes the HTML report into a folder named after its warehouse: the index and the 10 kab/kota.
    pages = Path(os.environ["REKAP_REPORTS"]) / "w"
    assert f"report (11 pages): {pages / 'index.html'}" in " ".join(result.output.split())  # a long path goes on its own line
    assert len(list(pages.glob("kabkota-*.html"))) == 10
    governor = next(line for line in result.output.splitlines() if line.startswith("pilkada2024/pkwkp/64 ") and "safe" in line)
    assert "204,012" in governor and "195,954" in governor and "202,606" in governor

    races = Artifact.get("rekap-races")
    report = Artifact.get("rekap-report")
    assert races is not None and report is not None
    assert "KALIMANTAN TIMUR (`pilkada2024/pkwkp/64`) | 02 H. RUDY MAS'UD" in races.data
    assert "## Discrepancies, by their effect on the margin" in report.data and "01 -461, 02 +945" in report.data
    assert "Not loaded: `" + str(bad[0]) in report.data
