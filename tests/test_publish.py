"""Issue 5, "Done when" 3 and 4, and idempotence: readers never wait, a killed run changes
nothing published, and the same inputs give the same marts.

Runs here are separate `python -m flows run` processes (that is what gets killed), pointed at
the session's Prefect server so each costs seconds, not a temporary server of its own.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.shared import KALTIM_0100, KALTIM_1015
from warehouse.checksum import mart_checksum

MARTS = ("province_totals", "region_winners")
# Independent figures (../shared/data/README.md): the governor race at 01:00 and at 10:15.
AT_0100 = [(758_326,), (952_185,)]
AT_1015 = [(766_850,), (962_804,)]
GOVERNOR = "select votes from province_totals where contest = 'pkwkp' order by nomor_urut"


@pytest.fixture(scope="module")
def api_env(prefect_server) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value()}


def start_run(env: dict, warehouse: Path, *sources: Path, pause_at: str | None = None, marker: Path | None = None):
    extra = {"REKAP_PAUSE_AT": pause_at, "REKAP_PAUSE_MARKER": str(marker)} if pause_at else {}
    args = [sys.executable, "-m", "flows", "run", "--warehouse", str(warehouse)]
    for source in sources:
        args += ["--sirekap", str(source)]
    return subprocess.Popen(args, env=env | extra, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


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
        time.sleep(0.1)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def checksums(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {mart: mart_checksum(con, mart) for mart in MARTS}


@pytest.fixture(scope="module")
def published(api_env, tmp_path_factory) -> dict[str, Path]:
    """Warehouses other tests copy: after 01:00, and after 01:00 then 10:15 (uninterrupted runs)."""
    folder = tmp_path_factory.mktemp("published")
    at_0100, at_1015 = folder / "0100.duckdb", folder / "1015.duckdb"
    finish(start_run(api_env, at_0100, KALTIM_0100))
    shutil.copyfile(at_0100, at_1015)
    finish(start_run(api_env, at_1015, KALTIM_1015))
    assert query(at_0100, GOVERNOR) == AT_0100 and query(at_1015, GOVERNOR) == AT_1015
    return {"0100": at_0100, "1015": at_1015}


def copy_of(source: Path, folder: Path) -> Path:
    target = folder / "w.duckdb"
    shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize("point", ["load", "models", "publish"])
def test_a_run_killed_midway_changes_nothing_published(point: str, api_env, published, tmp_path: Path) -> None:
    warehouse = copy_of(published["0100"], tmp_path)
    before = digest(warehouse)

    marker = tmp_path / "paused"
    run = start_run(api_env, warehouse, KALTIM_1015, pause_at=point, marker=marker)
    wait_for_marker(run, marker)
    # Mid-run, the published warehouse answers and still says 01:00.
    assert query(warehouse, GOVERNOR) == AT_0100
    run.send_signal(signal.SIGKILL)
    run.wait(30)

    assert digest(warehouse) == before
    assert query(warehouse, GOVERNOR) == AT_0100
    assert query(warehouse, "select count(*) from runs") == [(1,)]

    finish(start_run(api_env, warehouse, KALTIM_1015))  # the rerun sweeps the killed run's staging file
    assert checksums(warehouse) == checksums(published["1015"])
    assert not list(tmp_path.glob("w.duckdb.staging-*"))


def test_a_reader_holding_the_warehouse_open_keeps_answering_through_a_run(api_env, published, tmp_path: Path) -> None:
    warehouse = copy_of(published["0100"], tmp_path)
    reader = duckdb.connect(str(warehouse), read_only=True)
    try:
        run = start_run(api_env, warehouse, KALTIM_1015)
        answers = 0
        while run.poll() is None:
            assert reader.execute(GOVERNOR).fetchall() == AT_0100
            answers += 1
            time.sleep(0.05)
        assert run.returncode == 0, run.stdout.read()
        assert answers > 0
        # The open connection still reads the version it opened...
        assert reader.execute(GOVERNOR).fetchall() == AT_0100
    finally:
        reader.close()
    # ...and a new reader (another process, as an analyst's would be) sees the published run.
    new_reader = subprocess.run(
        [sys.executable, "-m", "flows", "query", "--warehouse", str(warehouse), "--format", "csv", GOVERNOR],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert new_reader.stdout.split() == ["votes", "766850", "962804"]


def test_the_same_inputs_again_give_identical_marts(api_env, published, tmp_path: Path) -> None:
    warehouse = copy_of(published["1015"], tmp_path)
    finish(start_run(api_env, warehouse, KALTIM_1015))
    assert checksums(warehouse) == checksums(published["1015"])
    assert query(warehouse, "select versions_new, observations_new from runs order by started_at desc limit 1") == [(0, 0)]


def test_a_failed_run_keeps_the_last_good_warehouse_and_says_why(api_env, published, tmp_path: Path) -> None:
    warehouse = copy_of(published["1015"], tmp_path)
    # A source with no document in it fails the run (a bad document would only be quarantined).
    (tmp_path / "bad").mkdir()
    failed = start_run(api_env, warehouse, tmp_path / "bad")
    out, _ = failed.communicate(timeout=180)
    assert failed.returncode == 1 and "no SIREKAP document" in out
    # One line says why, in a real terminal: not Prefect's log of the exception with its traceback.
    assert [line for line in out.splitlines() if line.strip()] == [line for line in out.splitlines() if line.startswith("Error: run failed: ")]
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
    warehouse, reference = copy_of(published["1015"], tmp_path), tmp_path / "reference.duckdb"
    before = digest(warehouse)
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
        assert digest(warehouse) == before and query(warehouse, GOVERNOR) == AT_1015
        finish(crawl_run(warehouse, tmp_path / "archive", "1000"))  # resumes the crawl, then loads it
    assert query(warehouse, race) == query(reference, race) != []
    kaltim = GOVERNOR.replace("where contest = 'pkwkp'", "where contest = 'pkwkp' and province_code = '64'")
    assert query(warehouse, kaltim) == AT_1015
