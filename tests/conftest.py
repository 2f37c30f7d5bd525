"""Shared fixtures: the real data beside the clone, tiny hand-made mirrors, the CLI under Prefect."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.settings import prefect_environment
from tests.shared import SHARED_DATA, write_json

prefect_environment()

def pytest_configure(config: pytest.Config) -> None:
    # The real data is part of the contract (CI has ../shared beside the clone): fail, never skip.
    if not SHARED_DATA.is_dir():
        raise pytest.UsageError(f"tests need the shared data at {SHARED_DATA}")


# The files that take longest, longest first (summed test time, `make test` on 7 December 2026:
# 92, 92, 67, 50, 36, 30 and 28 s of about 600). `make test` hands files to its workers in
# collection order (--no-loadscope-reorder; xdist's default order is by number of tests, which
# left the 28 s schedule test to start last, when the other worker was done): the long ones
# first, so both workers end at about the same time. The others follow in their usual order.
LONGEST_FIRST = ("test_publish.py", "test_hostile.py", "test_incremental.py", "test_crawl.py", "test_lake.py",
                 "test_report_site.py", "test_schedule.py")  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's tests keep their order


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for the whole session (~20 s), only for tests that run flows."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


@pytest.fixture
def rekap(prefect_server) -> Callable[..., "click.testing.Result"]:  # noqa: F821
    """Run the `rekap` CLI in-process (against the session's Prefect server); fail on a non-zero exit."""
    from click.testing import CliRunner

    from flows.cli import cli

    def invoke(*args: str, ok: bool = True):
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


@pytest.fixture
def make_mirror(tmp_path: Path) -> Callable[[dict[str, object], str], Path]:
    """Write {endpoint path: payload or raw bytes} as a mirror folder and return its root."""

    def make(files: dict[str, object], name: str = "mirror") -> Path:
        root = tmp_path / name
        for rel, payload in files.items():
            write_json(root / rel, payload)
        root.mkdir(parents=True, exist_ok=True)
        return root

    return make


@pytest.fixture(autouse=True)
def _no_user_warehouse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A test that forgets --warehouse must not touch warehouse/rekap.sqlite, nor write reports/.
    monkeypatch.setenv("REKAP_WAREHOUSE", str(tmp_path / "default.sqlite"))
    monkeypatch.setenv("REKAP_REPORTS", str(tmp_path / "reports"))
    os.environ.pop("REKAP_ELECTION_YEAR", None)
