"""Issue 9, Prefect: `rekap serve` takes exactly `rekap run`'s options and checks them at
registration; `rekap server` points the UI at its own API; run names tell runs apart."""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from flows import cli as cli_module
from flows.cli import cli, schedule_zone
from flows.run_name import run_name
from tests.shared import CLAIM, KALTIM_1015


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def options(command: str) -> dict[str, tuple]:
    return {p.name: (tuple(p.opts), p.multiple, type(p.type).__name__, getattr(p.type, "exists", None), p.help)
            for p in cli.commands[command].params if p.name != "help"}  # fmt: skip


def test_serve_takes_every_option_run_takes_and_only_adds_the_schedule() -> None:
    run, serve = options("run"), options("serve")
    assert {name: serve[name] for name in run} == run
    assert set(serve) - set(run) == {"cron", "timezone", "name"}


def test_serve_checks_paths_and_time_zone_before_registering(tmp_path: Path) -> None:
    env = {"PREFECT_API_URL": "http://127.0.0.1:9/api"}
    missing = invoke("serve", "--sirekap", tmp_path / "no-such-mirror", env=env)
    assert missing.exit_code == 2 and "does not exist" in missing.output
    zone = invoke("serve", "--sirekap", KALTIM_1015, "--timezone", "Mars/Olympus", env=env)
    assert zone.exit_code == 2 and "unknown time zone 'Mars/Olympus'" in zone.output
    half = invoke("serve", "--sirekap-url", "http://127.0.0.1:9", "--contest", "pkwkp", env=env)
    assert half.exit_code == 2 and "needs election, region" in half.output


def test_the_cron_zone_is_shown_with_its_offset() -> None:
    # WITA, East Kalimantan's time, is UTC+8 all year (Indonesia has no daylight saving).
    assert schedule_zone(ZoneInfo("Asia/Makassar")) == "Asia/Makassar (UTC+08:00 now)"
    assert schedule_zone(ZoneInfo("Asia/Jakarta")) == "Asia/Jakarta (UTC+07:00 now)"


def test_server_points_the_ui_at_its_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    started = {}

    def fake_execv(program, argv):
        started["argv"] = argv
        started["ui_api"] = os.environ.get("PREFECT_UI_API_URL")
        raise SystemExit(0)

    monkeypatch.setattr(cli_module.os, "execv", fake_execv)
    monkeypatch.delenv("PREFECT_UI_API_URL", raising=False)
    result = invoke("server", "--port", 4321)
    assert started["argv"][-4:] == ["--host", "127.0.0.1", "--port", "4321"]
    assert started["ui_api"] == "http://127.0.0.1:4321/api"
    assert "export PREFECT_API_URL=http://127.0.0.1:4321/api" in result.output and "4200" not in result.output


def test_run_names_tell_runs_apart() -> None:
    assert run_name("warehouse/demo.duckdb", ["demo/sirekap", "demo/sirekap-later", "demo/internal/kaltim-internal-count.csv"]) == (
        "demo <- sirekap, sirekap-later, kaltim-internal-count.csv"
    )
    assert run_name("/srv/kaltim.duckdb", ["https://sirekap-obj-data.kpu.go.id", CLAIM, "a.csv", "b.csv"]) == (
        "kaltim <- sirekap-obj-data.kpu.go.id, kaltim-pilgub2024-claim-rudy-seno.csv, a.csv +1"
    )
    assert run_name("w.duckdb", []) == "w <- nothing"
    long = run_name("w.duckdb", ["x" * 200])
    assert len(long) == 100 and long.endswith("…")
