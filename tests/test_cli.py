"""The `rekap` command through click's runner: help, query, demo, dumps."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.sources.demo import SirekapErrors
from tests.shared import KALTIM_1015, OFFICIAL_RECAP, load_and_build


def invoke(*args) -> "click.testing.Result":  # noqa: F821
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_help_lists_every_command_with_a_purpose_and_an_example() -> None:
    top = invoke("--help")
    assert top.exit_code == 0
    for name, command in cli.commands.items():
        assert name in top.output and command.short_help, name
        assert f"rekap {name}" in top.output, f"no example of `rekap {name}` in rekap --help"
        own = invoke(name, "--help")
        assert own.exit_code == 0 and "Example" in own.output and f"rekap {name}" in own.output, name


def test_query_reads_the_warehouse_in_every_format(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    load_and_build(warehouse, KALTIM_1015).close()
    sql = "select nomor_urut, votes from province_totals where contest = 'pkwkp' order by nomor_urut"

    as_csv = invoke("query", "--warehouse", warehouse, "--format", "csv", sql)
    assert as_csv.exit_code == 0, as_csv.output
    assert list(csv.reader(io.StringIO(as_csv.output))) == [["nomor_urut", "votes"], ["1", "766850"], ["2", "962804"]]

    as_json = invoke("query", "--warehouse", warehouse, "--format", "json", sql)
    assert json.loads(as_json.output) == [{"nomor_urut": 1, "votes": 766850}, {"nomor_urut": 2, "votes": 962804}]

    as_table = invoke("query", "--warehouse", warehouse, sql)
    assert "766,850" in as_table.output and "962,804" in as_table.output


def test_query_is_read_only_and_errors_are_plain(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    load_and_build(warehouse, KALTIM_1015).close()
    write = invoke("query", "--warehouse", warehouse, "delete from runs")
    assert write.exit_code == 1 and "read-only" in write.output
    missing = invoke("query", "--warehouse", tmp_path / "nope.duckdb", "select 1")
    assert missing.exit_code == 1 and "no warehouse at" in missing.output
    bad_sql = invoke("query", "--warehouse", warehouse, "select * from no_such_table")
    assert bad_sql.exit_code == 1 and "no_such_table" in bad_sql.output


def test_the_results_and_the_report_read_one_snapshot_while_a_run_publishes(tmp_path: Path) -> None:
    """`rekap run` shows its results and writes the report through one connection: a run that
    publishes while they are read changes nothing they read (it would mix two nights)."""
    from flows.cli import _reading
    from flows.settings import Settings
    from flows.sources.demo import generate_mirror
    from tests.shared import load_only, mini_race

    mirror = tmp_path / "mirror"
    generate_mirror(mini_race(), mirror, progress=0.5)
    settings = Settings(warehouse=tmp_path / "w.sqlite")
    load_only(settings.warehouse, mirror).close()
    runs = "select count(*) from runs"
    with _reading(settings) as con:
        assert con.execute(runs).fetchone() == (1,)
        load_only(settings.warehouse, mirror).close()  # another night publishes meanwhile
        assert con.execute(runs).fetchone() == (1,)
    with _reading(settings) as con:
        assert con.execute(runs).fetchone() == (2,)


def test_a_busy_warehouse_is_said_before_prefect_starts(tmp_path: Path, monkeypatch) -> None:
    """A second `rekap run` on a warehouse another run is writing says so at once, not after
    Prefect's start (a temporary server, ~10 s); the night still takes the lock itself."""
    import flows.cli
    from warehouse.storage import Location, writer_lock

    monkeypatch.setattr(flows.cli, "prefect_environment", lambda: pytest.fail("Prefect was started for a busy warehouse"))
    warehouse = tmp_path / "w.sqlite"
    with writer_lock(Location.parse(warehouse)):  # as the other run holds it
        result = invoke("run", "--sirekap", KALTIM_1015, "--warehouse", warehouse)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: the warehouse {warehouse} is busy: another rekap run is writing it (lock {warehouse}.lock); try again when it ends"


def test_a_dump_loads_like_the_mirror_and_its_bad_line_is_quarantined(rekap, tmp_path: Path) -> None:
    dump = tmp_path / "kaltim-1015.jsonl.gz"
    with gzip.open(dump, "wb") as out:
        for path in sorted(KALTIM_1015.rglob("*.json")):
            line = {"url": "https://sirekap-obj-data.kpu.go.id/" + path.relative_to(KALTIM_1015).as_posix(),
                    "payload": orjson.loads(path.read_bytes())}  # fmt: skip
            out.write(orjson.dumps(line) + b"\n")
        out.write(b'{"path": "pilkada/hhcw/pkwkp/64/6401.json", "payload": \n')
    warehouse = tmp_path / "dump.duckdb"
    result = rekap("run", "--sirekap", dump, "--warehouse", warehouse)
    assert "1 quarantined" in result.output
    sql = "select votes from province_totals where contest = 'pkwkp' order by nomor_urut"
    assert invoke("query", "--warehouse", warehouse, "--format", "csv", sql).output.split() == ["votes", "766850", "962804"]
    quarantine = invoke("query", "--warehouse", warehouse, "--format", "csv", "select locator, rule from quarantine")
    files = sum(1 for _ in KALTIM_1015.rglob("*.json"))
    assert quarantine.output.splitlines() == ["locator,rule", f"line {files + 1},unreadable"]


def test_demo_at_full_progress_reproduces_the_official_recap(rekap, tmp_path: Path) -> None:
    warehouse = tmp_path / "demo.duckdb"
    result = rekap("demo", "--progress", "1.0", "--warehouse", warehouse, "--mirror", tmp_path / "mirror", "--out", tmp_path / "reports")
    assert "Province totals" in result.output and "Kab/kota winners" in result.output
    # The index and one page per kab/kota (a long path goes on its own line: compare words).
    assert f"report (11 pages): {tmp_path / 'reports' / 'index.html'}" in " ".join(result.output.split())
    assert "rekap query --warehouse" in result.output.replace(".venv/bin/rekap", "rekap")

    with OFFICIAL_RECAP.open() as f:
        official = {row["kode_kab"]: (int(row["isran_hadi_01"]), int(row["rudy_seno_02"])) for row in csv.DictReader(f)}
    got = invoke("query", "--warehouse", warehouse, "--format", "json",
                 """select region_code, list(votes order by nomor_urut) as votes from int_region_votes
                    where contest = 'pkwkp' and level in ('provinsi', 'kabkota') group by region_code""")  # fmt: skip
    assert {r["region_code"]: tuple(r["votes"]) for r in json.loads(got.output)} == official


def test_demo_defaults_publish_964_percent_of_tps(rekap, tmp_path: Path) -> None:
    warehouse = tmp_path / "demo.duckdb"
    result = rekap("demo", "--warehouse", warehouse, "--mirror", tmp_path / "mirror", "--out", tmp_path / "reports")
    got = invoke("query", "--warehouse", warehouse, "--format", "csv",
                 "select distinct tps_reported, tps_total, progress_pct from province_totals")  # fmt: skip
    # 96.4% of 6,274 TPS = 6,048.1 -> 6,048 published.
    assert got.output.split() == ["tps_reported,tps_total,progress_pct", "6048,6274,96.4"]
    # The whole story: the internal count (12 TPS missing, 3% of the rest copied differently) and the
    # official recap beside SIREKAP; the governor race stays safe.
    assert "internal count: 6,262 TPS (12 missing, 188 copied differently, 8 sent twice)" in result.output
    statuses = invoke("query", "--warehouse", warehouse, "--format", "csv",
                      "select status, count(distinct tps_code) as tps from tps_reconciliation group by status order by status")  # fmt: skip
    # 188 TPS copied differently: those SIREKAP has published are mismatches, the rest are missing_sirekap
    # with the 226 unpublished TPS; the 12 TPS the witnesses never sent are missing_internal if published.
    # The demo's SIREKAP errors add to both: an OCR-misread TPS is a mismatch, a TPS without its chart
    # (administrasi only) has no SIREKAP number.
    errors = SirekapErrors()
    counts = dict(line.split(",") for line in statuses.output.split()[1:])
    assert int(counts["mismatch"]) <= 188 + errors.ocr_inflated
    assert int(counts["missing_sirekap"]) <= 226 + errors.admin_only and int(counts["missing_internal"]) <= 12
    published = invoke("query", "--warehouse", warehouse, "--format", "csv",
                       "select count(distinct tps_code) as tps from tps_reconciliation where sirekap_published")  # fmt: skip
    assert published.output.split() == ["tps", str(6048 - errors.admin_only)]
    verdict = invoke("query", "--warehouse", warehouse, "--format", "csv", "select verdict from outcome_risk where contest = 'pkwkp'")
    assert verdict.output.split() == ["verdict", "safe"]


def test_run_needs_a_source_and_a_whole_api_target(tmp_path: Path) -> None:
    nothing = invoke("run", "--warehouse", tmp_path / "w.duckdb")
    assert nothing.exit_code == 2 and "--sirekap-url" in nothing.output
    half = invoke("run", "--sirekap-url", "http://127.0.0.1:9", "--contest", "pkwkp", "--warehouse", tmp_path / "w.duckdb")
    assert half.exit_code == 2 and "needs election, region" in half.output
    contradiction = invoke("run", "--sirekap-url", "http://127.0.0.1:9", "--election", "pilkada2024", "--contest", "pkwkp",
                           "--region", "64", "--year", "2019")  # fmt: skip
    assert contradiction.exit_code == 2 and "--year 2019 contradicts --election pilkada2024" in contradiction.output
    bad = invoke("run", "--sirekap-url", "http://127.0.0.1:9", "--election", "pilkada24", "--contest", "pkwkp", "--region", "64")
    assert bad.exit_code == 2 and "pilkada24" in bad.output


def test_rebuild_never_overwrites_by_accident_and_needs_a_finished_crawl(tmp_path: Path) -> None:
    existing = tmp_path / "w.duckdb"
    existing.write_bytes(b"")
    (tmp_path / "archive").mkdir()
    refused = invoke("rebuild", "--archive", tmp_path / "archive", "--warehouse", existing)
    assert refused.exit_code == 2 and "--replace" in refused.output
    empty = invoke("rebuild", "--archive", tmp_path / "archive", "--warehouse", tmp_path / "new.duckdb")
    assert empty.exit_code == 1 and "no finished crawl" in empty.output
    assert not (tmp_path / "new.duckdb").exists()
