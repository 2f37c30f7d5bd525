"""A run publishes by committing one lake snapshot: readers are never refused and never see half a
run; a run killed at any point leaves the published snapshot as it was, and the rerun equals an
uninterrupted run; the same inputs give the same marts; a failed run says why.

The runs here are separate processes (that is what gets killed) calling the pipeline function
(flows/pipeline.py run_night) without Prefect, so each costs seconds; the CLI's run through
Prefect is covered by tests/test_pipeline_real.py and the reader test below.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.shared import KALTIM_0100, KALTIM_1015
from warehouse.checksum import mart_checksum
from warehouse.db import connect
from warehouse.storage import LAKE, Location, attach_sql, default_data_path, extension_dir

MARTS = ("province_totals", "region_winners", "node_history", "anomalies", "tps_status", "data_quality")
# Independent figures (../shared/data/README.md): the governor race at 01:00 and at 10:15.
AT_0100 = [(758_326,), (952_185,)]
AT_1015 = [(766_850,), (962_804,)]
GOVERNOR = "select votes from province_totals where contest = 'pkwkp' order by nomor_urut"
# Where a run can be stopped: reading and loading, before models spread over the whole build
# (staging, history, rules, marts: each one the second night rebuilds), and with everything
# written but not committed.
KILL_POINTS = (
    "load",
    *(f"model:{name}" for name in (
        "int_candidates", "int_node_observations", "int_node_versions", "int_latest_documents", "corrections",
        "node_history", "int_nodes", "int_region_tree", "int_child_votes", "int_tps_facts", "int_rule_reference",
        "int_rule_rollup", "int_rule_checks", "anomalies", "data_quality", "province_totals", "region_winners",
        "outcome_risk",
    )),
    "publish",
)  # fmt: skip
NIGHT = """
import sys
from pathlib import Path
from flows.pipeline import run_night
from flows.settings import Settings
run_night(Settings(warehouse=Path(sys.argv[1]), sirekap=tuple(Path(p) for p in sys.argv[2:])))
"""


def start_night(warehouse: Path, *sources: Path, pause_at: str | None = None, marker: Path | None = None) -> subprocess.Popen:
    env = os.environ | ({"REKAP_PAUSE_AT": pause_at, "REKAP_PAUSE_MARKER": str(marker)} if pause_at else {})
    args = [sys.executable, "-c", NIGHT, str(warehouse), *map(str, sources)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: float = 180) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def wait_for_marker(proc: subprocess.Popen, marker: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before its pause point:\n{proc.stdout.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("run never reached its pause point")
        time.sleep(0.05)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with connect(warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def published_state(warehouse: Path) -> tuple:
    """What a reader is given: the last snapshot, its marts, its runs."""
    with connect(warehouse, read_only=True) as con:
        con.begin()  # one snapshot
        snapshot = con.execute(f"select max(snapshot_id) from {LAKE}.snapshots()").fetchone()[0]
        runs = con.execute("select run_id, status from runs order by run_id").fetchall()
        return snapshot, runs, {mart: mart_checksum(con, mart) for mart in MARTS}


def checksums(warehouse: Path) -> dict[str, str]:
    return published_state(warehouse)[2]


def copy_lake(source: Path, folder: Path) -> Path:
    """A copy of a warehouse: its catalog file and its data folder."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "w.sqlite"
    shutil.copyfile(source, target)
    shutil.copytree(default_data_path(source), default_data_path(target))
    return target


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict[str, Path]:
    """Warehouses other tests copy: after 01:00, and after 01:00 then 10:15 (uninterrupted runs)."""
    folder = tmp_path_factory.mktemp("published")
    at_0100 = folder / "0100.sqlite"
    finish(start_night(at_0100, KALTIM_0100))
    at_1015 = copy_lake(at_0100, folder / "1015")
    finish(start_night(at_1015, KALTIM_1015))
    assert query(at_0100, GOVERNOR) == AT_0100 and query(at_1015, GOVERNOR) == AT_1015
    return {"0100": at_0100, "1015": at_1015}


@pytest.fixture(scope="module")
def reference_1015(published) -> dict[str, str]:
    return checksums(published["1015"])


def test_there_are_twenty_kill_points_and_each_is_a_real_pause_point() -> None:
    from warehouse.models import discover

    models = {m.name for m in discover()}
    assert len(KILL_POINTS) + 1 >= 20  # + the crawl, test_a_run_killed_during_its_crawl...
    assert {p.removeprefix("model:") for p in KILL_POINTS if p.startswith("model:")} <= models


def test_runs_killed_at_twenty_points_leave_the_published_snapshot_and_the_rerun_equals_an_uninterrupted_run(
    published, reference_1015, tmp_path: Path
) -> None:
    """One warehouse, killed at every point in turn: after each kill the published state is as it
    was (the snapshot, the runs, the six MARTS' checksums), so the next run starts from it; the run after the
    last kill equals an uninterrupted one, whatever the twenty killed runs left in the data folder."""
    warehouse = copy_lake(published["0100"], tmp_path)
    before = published_state(warehouse)
    for point in KILL_POINTS:
        marker = tmp_path / f"paused-{point}"
        run = start_night(warehouse, KALTIM_1015, pause_at=point, marker=marker)
        wait_for_marker(run, marker)
        assert query(warehouse, GOVERNOR) == AT_0100, point  # mid-run, readers get the published numbers
        run.send_signal(signal.SIGKILL)
        run.wait(30)
        assert published_state(warehouse) == before, point

    finish(start_night(warehouse, KALTIM_1015))
    assert checksums(warehouse) == reference_1015
    assert query(warehouse, GOVERNOR) == AT_1015


READER = """
import sys, duckdb
con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
for name in ("sqlite_scanner", "ducklake"):
    con.execute(f"load '{sys.argv[1]}/{name}.duckdb_extension'")
con.execute(sys.argv[2], [sys.argv[3]] + sys.argv[4:])
print(con.execute("select votes from lake.province_totals where contest = 'pkwkp' order by nomor_urut").fetchall())
"""


def test_readers_are_never_refused_and_never_see_half_a_run(published, tmp_path: Path) -> None:
    """Through a whole run and its commit: an open connection, new plain DuckDB processes
    attaching the lake with the README's ATTACH, and `rekap query` processes."""
    warehouse = copy_lake(published["0100"], tmp_path)
    location = Location.parse(warehouse)
    attach, params = attach_sql(location, read_only=True)
    held = connect(warehouse, read_only=True)
    answers: dict[str, list] = {"held": [], "duckdb": [], "rekap query": []}
    try:
        run = start_night(warehouse, KALTIM_1015)
        while run.poll() is None:
            answers["held"].append(held.execute(GOVERNOR).fetchall())
            plain = subprocess.run([sys.executable, "-c", READER, str(extension_dir()), attach, *params], capture_output=True, text=True)
            assert plain.returncode == 0, plain.stderr
            answers["duckdb"].append(eval(plain.stdout))  # noqa: S307  (our own process's repr of a list of tuples)
            cli = subprocess.run([sys.executable, "-m", "flows", "query", "--warehouse", str(warehouse), "--format", "csv", GOVERNOR],
                                 capture_output=True, text=True)  # fmt: skip
            assert cli.returncode == 0, cli.stderr
            answers["rekap query"].append([(int(v),) for v in cli.stdout.split()[1:]])
        assert run.returncode == 0, run.stdout.read()
        answers["held"].append(held.execute(GOVERNOR).fetchall())
    finally:
        held.close()
    for reader, seen in answers.items():
        assert seen, f"{reader} never read during the run"
        assert all(answer in (AT_0100, AT_1015) for answer in seen), f"{reader} saw half a run: {seen}"
    assert answers["held"][-1] == AT_1015  # an open connection reads the new snapshot once committed
    assert query(warehouse, GOVERNOR) == AT_1015


HOLDING_READER = """
import sys, duckdb
con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
for name in ("sqlite_scanner", "ducklake"):
    con.execute(f"load '{sys.argv[1]}/{name}.duckdb_extension'")
con.execute(sys.argv[2], [sys.argv[3]] + sys.argv[4:])
con.begin()  # as a query still running: it reads one snapshot until it ends
runs = "select count(*) from lake.runs"
print(con.execute(runs).fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute(runs).fetchone()[0], flush=True)
con.commit()
print(con.execute(runs).fetchone()[0], flush=True)
"""


def test_a_query_still_reading_never_fails_the_night_that_commits_meanwhile(tmp_path: Path) -> None:
    """An analyst's long query holds the SQLite catalog while it reads. In SQLite's default journal
    mode the night committing meanwhile failed with "database is locked"; the catalog is kept in
    write-ahead-log mode (a catalog made before is switched by the next night), and the night
    commits while the query goes on reading its own snapshot."""
    from flows.sources.demo import generate_mirror
    from tests.shared import load_only, mini_race

    def journal_mode(pragma: str) -> str:  # asked of SQLite itself, in a process of its own
        code = f"import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('pragma {pragma}').fetchone()[0])"
        return subprocess.run([sys.executable, "-c", code, str(warehouse)], capture_output=True, text=True).stdout.strip()

    mirror, warehouse = tmp_path / "mirror", tmp_path / "w.sqlite"
    generate_mirror(mini_race(), mirror, progress=0.5)
    load_only(warehouse, mirror).close()
    assert journal_mode("journal_mode = delete") == "delete"  # as a catalog made before this change
    load_only(warehouse, mirror).close()
    assert journal_mode("journal_mode") == "wal"  # the night switched it

    attach, params = attach_sql(Location.parse(warehouse), read_only=True)
    reader = subprocess.Popen([sys.executable, "-c", HOLDING_READER, str(extension_dir()), attach, *params],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert reader.stdout.readline().strip() == "2", reader.stderr.read()
        load_only(warehouse, mirror).close()  # the night commits while the reader holds its snapshot
        out, err = reader.communicate("go\n", timeout=60)
    finally:
        reader.kill()
    assert reader.returncode == 0, err
    assert out.split() == ["2", "3"]  # still its own snapshot, then the night's
    assert query(warehouse, "select count(*) from runs where status = 'succeeded'") == [(3,)]


def test_the_same_inputs_again_give_identical_marts(published, reference_1015, tmp_path: Path) -> None:
    warehouse = copy_lake(published["1015"], tmp_path)
    finish(start_night(warehouse, KALTIM_1015))
    assert checksums(warehouse) == reference_1015
    assert query(warehouse, "select versions_new, observations_new from runs order by started_at desc limit 1") == [(0, 0)]


def test_a_failed_run_keeps_the_published_snapshot_and_says_why(published, tmp_path: Path) -> None:
    warehouse = copy_lake(published["1015"], tmp_path)
    rules = tmp_path / "broken-model"
    # A model that cannot be built (a programming error, not a data fact): the run fails whole.
    shutil.copytree(Path(__file__).resolve().parents[1] / "sql", rules)
    (rules / "marts" / "province_totals.sql").write_text("-- province_totals: one row per nothing.\nselect * from no_such_table\n")
    code = NIGHT.replace("run_night(Settings(", "import functools, warehouse.models as m; m.build = functools.partial(m.build, sql_dir=Path(sys.argv.pop())); run_night(Settings(full_rebuild=True, ")
    failed = subprocess.run([sys.executable, "-c", code, str(warehouse), str(KALTIM_1015), str(rules)], capture_output=True, text=True)
    assert failed.returncode == 1 and "province_totals" in failed.stderr

    assert query(warehouse, GOVERNOR) == AT_1015
    (status, error), = query(warehouse, "select status, error from runs order by started_at desc limit 1")
    assert status == "failed" and "no_such_table" in error


def test_a_second_run_on_a_busy_warehouse_says_so(published, tmp_path: Path) -> None:
    warehouse = copy_lake(published["0100"], tmp_path)
    marker = tmp_path / "paused"
    first = start_night(warehouse, KALTIM_1015, pause_at="publish", marker=marker)
    try:
        wait_for_marker(first, marker)
        second = subprocess.run([sys.executable, "-m", "flows", "run", "--warehouse", str(warehouse), "--sirekap", str(KALTIM_1015)],
                                capture_output=True, text=True)  # fmt: skip
    finally:
        first.kill()
        first.wait(30)
    assert second.returncode == 1
    assert "is busy: another rekap run is writing it" in second.stderr
    assert "Traceback" not in second.stderr + second.stdout
    assert len(second.stderr.strip().splitlines()) == 1 and not second.stdout


@pytest.fixture(scope="module")
def api_env(prefect_server) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value()}


def test_a_failed_run_says_why_in_one_line_and_keeps_the_published_snapshot(api_env, published, tmp_path: Path) -> None:
    warehouse = copy_lake(published["1015"], tmp_path / "w")
    # A source with no document in it fails the run (a bad document would only be quarantined).
    (tmp_path / "bad").mkdir()
    failed = subprocess.run([sys.executable, "-m", "flows", "run", "--warehouse", str(warehouse), "--sirekap", str(tmp_path / "bad")],
                            env=api_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)  # fmt: skip
    out = failed.stdout
    assert failed.returncode == 1 and "no SIREKAP document" in out
    # One line says why, in a real terminal: not Prefect's log of the exception with its traceback.
    assert [line for line in out.splitlines() if line.strip()] == [line for line in out.splitlines() if line.startswith("Error: ")]
    assert "Traceback" not in out

    assert query(warehouse, GOVERNOR) == AT_1015
    (status, error), = query(warehouse, "select status, error from runs order by started_at desc limit 1")
    assert status == "failed" and "no SIREKAP document" in error


def test_a_run_killed_during_its_crawl_changes_nothing_published(api_env, published, tmp_path: Path) -> None:
    from flows.sources.demo import generate_mirror
    from tests.shared import mini_race
    from tests.sirekap_server import SirekapServer

    mirror = tmp_path / "mirror"
    generate_mirror(mini_race(), mirror, progress=0.9)
    warehouse, reference = copy_lake(published["1015"], tmp_path), tmp_path / "reference.sqlite"
    before = published_state(warehouse)
    race = "select nomor_urut, votes, tps_reported from province_totals where province_code = '99' order by nomor_urut"
    with SirekapServer(mirror, request_limit=2_000) as server:

        def crawl_run(target: Path, archive: Path, rate: str) -> subprocess.Popen:
            args = [sys.executable, "-m", "flows", "run", "--warehouse", str(target), "--sirekap-url", server.url,
                    "--election", "pilkada2024", "--contest", "pkwkp", "--region", "99", "--archive", str(archive),
                    "--rate", rate]  # fmt: skip
            return subprocess.Popen(args, env=api_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        finish(crawl_run(reference, tmp_path / "reference-archive", "1000"))
        server.reset_counts()
        # 47 files at 10 requests/s: killed a second or two into the crawl.
        killed = crawl_run(warehouse, tmp_path / "archive", "10")
        deadline = time.monotonic() + 60
        while server.total < 10 and killed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert killed.poll() is None, "the run ended before it could be killed"
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        assert published_state(warehouse) == before and query(warehouse, GOVERNOR) == AT_1015
        finish(crawl_run(warehouse, tmp_path / "archive", "1000"))  # resumes the crawl, then loads it
    assert query(warehouse, race) == query(reference, race) != []
    kaltim = GOVERNOR.replace("where contest = 'pkwkp'", "where contest = 'pkwkp' and province_code = '64'")
    assert query(warehouse, kaltim) == AT_1015


def test_a_night_that_runs_out_of_duckdb_memory_runs_again_with_twice_the_limit(tmp_path: Path, monkeypatch, caplog) -> None:
    import duckdb

    from flows.pipeline import run_night
    from flows.settings import Settings
    from warehouse import models

    build, limits = models.build, []

    def short_of_memory_once(con, *args, **kwargs):
        limits.append(con.execute("select current_setting('memory_limit')").fetchone()[0])
        if len(limits) == 1:  # what a model that cannot spill raises (the night's transaction then rolls back)
            raise models.ModelError("model int_rule_rollup failed: Out of Memory Error") from duckdb.OutOfMemoryException("Out of Memory Error")
        return build(con, *args, **kwargs)

    monkeypatch.setattr(models, "build", short_of_memory_once)
    with caplog.at_level("WARNING", logger="rekap"):
        summary = run_night(Settings(warehouse=tmp_path / "w.sqlite", sirekap=(KALTIM_0100,), memory_limit="1500MB"))
    def shown(limit: str) -> str:  # how DuckDB shows a limit, e.g. 1500MB as 1.3 GiB
        fresh = duckdb.connect()
        fresh.execute(f"set memory_limit = '{limit}'")
        return fresh.execute("select current_setting('memory_limit')").fetchone()[0]

    assert limits == [shown("1500MB"), shown("3000MB")] and limits[0] != limits[1]
    assert (summary.attempts, summary.memory_limit) == (2, "3000MB")
    assert "needed more than 1500MB of memory; running the night again with 3000MB" in caplog.text
    with connect(tmp_path / "w.sqlite", read_only=True) as con:
        assert con.execute(GOVERNOR).fetchall() == AT_0100
        # The attempt that ran out was rolled back whole, as a night run again after a conflict is.
        assert con.execute("select status, count(*) from runs group by status").fetchall() == [("succeeded", 1)]


def test_a_memory_limit_is_raised_twice_over_up_to_half_the_machine() -> None:
    from warehouse.storage import raised_memory_limit

    half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    assert raised_memory_limit("1500MB") == "3000MB"
    assert raised_memory_limit("4GB") == "8000MB" or half < 8 * 10**9
    assert raised_memory_limit("1.5GiB") == "3221MB"  # 1.5 x 2^30 x 2 = 3,221,225,472 bytes
    assert raised_memory_limit(f"{half}B") is None  # at the ceiling already
    assert raised_memory_limit(f"{half - 1000}b") == f"{half / 10**6:.0f}MB"  # held to the ceiling
    assert raised_memory_limit("80%") is None and raised_memory_limit("lots") is None
