"""Issue 5, "Done when" 6: `rekap serve` registers the nightly deployment with its cron and time
zone on a local Prefect server the test starts, and a manually triggered run of it completes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from warehouse.db import connect
from tests.shared import KALTIM_1015

STARTUP = 180  # seconds: a fresh Prefect home migrates its database first


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, check, timeout: float, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            result = check()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def prefect_api(tmp_path: Path):
    port = free_port()
    env = os.environ | {"PREFECT_HOME": str(tmp_path / "prefect-home"), "DO_NOT_TRACK": "1",
                        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_API_URL": ""}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "flows", "server", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_for("the Prefect server", lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, STARTUP, server)
        yield api, env | {"PREFECT_API_URL": api}
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_serve_registers_the_schedule_and_a_triggered_run_completes(prefect_api, tmp_path: Path) -> None:
    api, env = prefect_api
    warehouse = tmp_path / "served.duckdb"
    serving = subprocess.Popen(
        [sys.executable, "-m", "flows", "serve", "--sirekap", str(KALTIM_1015), "--warehouse", str(warehouse),
         "--cron", "0 2 * * *", "--timezone", "Asia/Makassar"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:

        def deployment():
            response = httpx.get(f"{api}/deployments/name/rekap-nightly/nightly", timeout=5)
            return response.json() if response.status_code == 200 else None

        found = wait_for("the deployment", deployment, 120, serving)
        (schedule,) = [s["schedule"] for s in found["schedules"]]
        assert (schedule["cron"], schedule["timezone"]) == ("0 2 * * *", "Asia/Makassar")
        # serve registers resolved paths: ../shared may be a symbolic link
        assert found["parameters"]["sirekap"] == [str(KALTIM_1015.resolve())]

        def triggered():
            # A busy SQLite-backed server can answer 5xx for a moment: ask again until it says 201.
            response = httpx.post(f"{api}/deployments/{found['id']}/create_flow_run", json={}, timeout=10)
            return response.json() if response.status_code == 201 else None

        run = wait_for("the flow run to be created", triggered, 60, serving)

        def finished():
            state = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=5).json()["state"]["type"]
            return state if state in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None

        state = wait_for("the triggered run", finished, 180, serving)
    finally:
        serving.send_signal(signal.SIGTERM)
        try:
            output, _ = serving.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serving.kill()
            output, _ = serving.communicate()
    assert state == "COMPLETED", output[-5000:]

    with connect(warehouse, read_only=True) as con:
        votes = con.execute("select votes from province_totals where contest = 'pkwkp' order by nomor_urut").fetchall()
    assert votes == [(766_850,), (962_804,)]
