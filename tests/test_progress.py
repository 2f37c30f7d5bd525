"""Issue 9, progress: a crawl shows requests done/planned, rate, failures and ETA on a terminal
(driven here in a pseudo-terminal against the local test server), and nothing off a terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from flows.settings import PROJECT_ROOT
from flows.sources.demo import generate_mirror
from tests.shared import mini_race
from tests.sirekap_server import SirekapServer

CRAWL = ("import sys\n"
         "from flows.sources.api import HttpPolicy, Target, crawl\n"
         "summary = crawl(Target(sys.argv[1], 'pilkada2024', 'pkwkp', '99'), sys.argv[2], HttpPolicy(rate=200, concurrency=4, retries=1, backoff=0.01))\n"
         "print('failed', len(summary.failed))\n")  # fmt: skip
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    generate_mirror(mini_race(), tmp_path / "mirror", progress=1.0)
    return tmp_path / "mirror"


def in_a_terminal(code: str, *args: str, timeout: float = 60) -> str:
    """Run Python `code` with its stdout and stderr on a pseudo-terminal; return what the terminal showed."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdin=follower, stdout=follower, stderr=follower,
                             cwd=PROJECT_ROOT, env=env, close_fds=True)  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        assert ready, f"the child said nothing for {timeout:g} s"
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert child.wait(timeout=timeout) == 0, shown.decode(errors="replace")[-3000:]
    # Each redraw of the bar starts with a carriage return: one line per redraw, colours dropped.
    return ANSI.sub("", shown.decode(errors="replace")).replace("\r", "\n")


def crawl_in_a_terminal(url: str, archive: Path) -> str:
    return in_a_terminal(CRAWL, url, str(archive))


def last_bar(screen: str) -> str:
    bars = [line for line in screen.splitlines() if line.startswith("crawl pilkada2024/pkwkp/99")]
    assert bars, screen[-3000:]
    return bars[-1]


def test_crawl_progress_on_a_terminal(mirror: Path, tmp_path: Path) -> None:
    files = sum(1 for _ in mirror.rglob("*.json"))  # every endpoint file is one request on a first crawl
    with SirekapServer(mirror) as server:
        screen = crawl_in_a_terminal(server.url, tmp_path / "archive")
    bar = last_bar(screen)
    assert f"{files}/{files}" in bar and "0 failed" in bar and re.search(r"\d+\.\d req/s", bar) and "ETA" in bar
    assert len(bar) <= 100


def test_crawl_progress_counts_failures(mirror: Path, tmp_path: Path) -> None:
    files = sum(1 for _ in mirror.rglob("*.json"))
    broken = next(p for p in sorted(mirror.rglob("*.json")) if len(p.stem) == 13).relative_to(mirror).as_posix()
    with SirekapServer(mirror) as server:
        server.fault("error", broken)  # every attempt: 500
        screen = crawl_in_a_terminal(server.url, tmp_path / "archive")
    bar = last_bar(screen)
    assert f"{files}/{files}" in bar and "1 failed" in bar
    assert "failed 1" in screen


def test_no_progress_off_a_terminal(mirror: Path, tmp_path: Path) -> None:
    with SirekapServer(mirror) as server:
        done = subprocess.run([sys.executable, "-c", CRAWL, server.url, str(tmp_path / "archive")], capture_output=True, text=True,
                              cwd=PROJECT_ROOT, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "crawl pilkada2024" not in done.stderr + done.stdout and "failed 0" in done.stdout


def test_a_host_that_does_not_resolve_fails_at_once_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from flows.cli import cli

    result = CliRunner().invoke(cli, ["run", "--sirekap-url", "http://no-such-host.invalid", "--election", "pilkada2024",
                                      "--contest", "pkwkp", "--region", "64", "--warehouse", str(tmp_path / "w.duckdb")])  # fmt: skip
    assert result.exit_code == 1
    assert result.output == "Error: cannot reach no-such-host.invalid: the name does not resolve (offline, or a typo in the URL?)\n"
    assert not (tmp_path / "w.duckdb").exists()


NIGHT = ("import sys\n"
         "from pathlib import Path\n"
         "from flows.pipeline import run_night\n"
         "from flows.settings import Settings\n"
         "run_night(Settings(warehouse=Path(sys.argv[1]), sirekap=(Path(sys.argv[2]),), chunk_records=10))\n")  # fmt: skip


def test_a_load_shows_records_read_of_the_files_planned_on_a_terminal(mirror: Path, tmp_path: Path) -> None:
    screen = in_a_terminal(NIGHT, str(tmp_path / "w.sqlite"), str(mirror), timeout=120)
    bars = [line for line in screen.splitlines() if line.startswith("load")]
    files = sum(1 for _ in mirror.rglob("*.json"))  # mini_race: 47 endpoint files (tests/shared.py)
    assert files == 47 and bars, screen[-2000:]
    assert f"{files}/{files}" in bars[-1] and "records/s" in bars[-1] and "0 failed" in bars[-1]
