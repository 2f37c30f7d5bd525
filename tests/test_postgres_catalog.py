"""The scale-out warehouse: the catalog in a real PostgreSQL server, the Parquet files in a shared
folder, two machines' runs at the same time (each crawling half the country), a third reading.

Both runs are held at their commit and released together, so their commits really meet: one is
refused as a conflict and runs its night again on the other's result; nothing is lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.postgres import PostgresServer
from tests.shared import KALTIM_1015, SERIBU
from warehouse.db import connect

NIGHT = """
import sys
from pathlib import Path
from flows.pipeline import run_night
from flows.settings import Settings
summary = run_night(Settings(warehouse=sys.argv[1], data_path=Path(sys.argv[2]), sirekap=(Path(sys.argv[3]),)))
print("attempts", summary.attempts)
"""


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "run never reached its commit"
        time.sleep(0.05)


def test_two_machines_commit_at_once_and_a_third_reads_both(postgres, tmp_path: Path) -> None:
    warehouse, data = f"ducklake:postgres:{postgres.dsn()}", tmp_path / "shared-data"
    runs, markers = [], []
    for name, source in (("kaltim", KALTIM_1015), ("seribu", SERIBU)):
        marker = tmp_path / f"{name}.paused"
        env = os.environ | {"REKAP_PAUSE_AT": "publish", "REKAP_PAUSE_MARKER": str(marker)}
        runs.append(subprocess.Popen([sys.executable, "-c", NIGHT, warehouse, str(data), str(source)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))  # fmt: skip
        markers.append(marker)
    for marker, run in zip(markers, runs):
        wait_for(marker, run)
    for marker in markers:  # both have written everything; release them together
        marker.unlink()
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    attempts = sorted(int(out.split("attempts")[-1]) for out in outputs)
    assert attempts == [1, 2], outputs  # one committed first; the other met the conflict and ran again

    reader = subprocess.run(
        [sys.executable, "-m", "flows", "query", "--warehouse", warehouse, "--data-path", str(data), "--format", "csv",
         "select contest, nomor_urut, votes from province_totals order by contest, nomor_urut"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert reader.returncode == 0, reader.stderr
    # ../shared/data/README.md: Kaltim 10:15 governor race; Seribu's 81 TPS with a chart.
    assert reader.stdout.split() == ["contest,nomor_urut,votes", "pkwkp,1,766850", "pkwkp,2,962804",
                                     "ppwp,1,6418", "ppwp,2,8613", "ppwp,3,2635"]  # fmt: skip
    with connect(warehouse, read_only=True, data_path=data) as con:
        assert con.execute("select count(*), count(distinct run_id) from runs where status = 'succeeded'").fetchone() == (2, 2)
