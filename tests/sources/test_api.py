"""The API crawler against a real HTTP server on 127.0.0.1 (tests/sirekap_server.py): what it
fetches, how it survives each fault, and how an interrupted crawl resumes.

Issue 5, Done-when 2 (faults) and the resume promise, on a 47-file synthetic race so each case
costs a fraction of a second. The Kaltim-sized crawl through the CLI is tests/test_crawl.py.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from email.utils import format_datetime
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from flows.sirekap import canonical_hash
from flows.sources import api
from flows.sources.api import CrawlSummary, HttpPolicy, RateLimiter, Target, backoff_delay, crawl, parse_retry_after
from flows.sources.archive import Archive, CrawlLog, final_responses, read_index
from flows.sources.demo import generate_mirror
from flows.settings import PROJECT_ROOT
from tests.shared import SERIBU, load_and_build, load_only, mini_race, write_json
from tests.sirekap_server import SirekapServer
from warehouse.checksum import mart_checksum

FAST = HttpPolicy(rate=10_000, concurrency=4, timeout=2.0, retries=3, backoff=0.01, backoff_max=0.05)
HHCW = "pilkada/hhcw/pkwkp"
PROVINCE = f"{HHCW}/99.json"
KECAMATAN = f"{HHCW}/99/9901/990101.json"
MINI_FILES = 47


def mirror_hashes(root: Path) -> dict[str, str]:
    """Endpoint path -> content hash of every file of a mirror."""
    return {p.relative_to(root).as_posix(): canonical_hash(orjson.loads(p.read_bytes())) for p in sorted(root.rglob("*.json"))}


def loaded_documents(con) -> dict[str, str]:
    """Endpoint path -> content hash of what the warehouse observed for it (latest observation)."""
    rows = con.execute(
        """select raw_observations.source_path, arg_max(raw_documents.content_hash, raw_observations.observed_seq)
           from raw_observations join raw_documents using (version_id) group by raw_observations.source_path"""
    ).fetchall()
    return dict(rows)


def published_tps(root: Path) -> list[str]:
    return [
        p.relative_to(root).as_posix()
        for p in sorted((root / HHCW).rglob("*.json"))
        if len(p.stem) == 13 and orjson.loads(p.read_bytes())["tungsura"]["chart"] is not None
    ]


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    assert generate_mirror(mini_race(), root, progress=0.9).files_written == MINI_FILES
    return root


@pytest.fixture
def server(mirror: Path):
    with SirekapServer(mirror, request_limit=2_000) as running:
        yield running
    assert not running.limit_exceeded


def run(server: SirekapServer, archive: Path, policy: HttpPolicy = FAST, **options) -> CrawlSummary:
    return crawl(Target(server.url, "pilkada2024", "pkwkp", "99"), archive, policy, **options)


def crawl_lines(summary: CrawlSummary) -> list[dict]:
    return [line for line in read_index(Path(summary.index)) if "url" in line]


# --- What a crawl fetches ---------------------------------------------------------------------


def test_a_first_crawl_fetches_every_file_once_in_tree_order_and_loads_it_whole(mirror, server, tmp_path):
    summary = run(server, tmp_path / "archive")
    assert summary.finished and not summary.failed and not summary.not_found
    assert summary.requests == server.total == MINI_FILES
    assert server.counts == {path: 1 for path in mirror_hashes(mirror)}
    assert summary.fetched == {"regions": 7, "candidates": 1, "provinsi": 1, "kabkota": 2, "kecamatan": 4, "kelurahan": 8, "tps": 24}

    # Region lists, then the candidate master, then the tree level by level, TPS last.
    kinds = [0 if p.startswith("wilayah/") else 1 if "/paslon/" in p else 2 for p in server.log]
    assert kinds == sorted(kinds)
    depths = [len(Path(p).stem) for p in server.log if p.startswith(HHCW)]
    assert depths == sorted(depths)

    with load_only(tmp_path / "w.duckdb", Path(summary.index)) as con:
        assert loaded_documents(con) == mirror_hashes(mirror)
        assert con.execute("select records_read, records_quarantined from runs").fetchone() == (MINI_FILES, 0)


def test_a_quiet_night_costs_three_requests(server, tmp_path):
    run(server, tmp_path / "archive")
    server.reset_counts()
    quiet = run(server, tmp_path / "archive")
    assert quiet.finished and quiet.requests == 3 and quiet.skipped == 2  # the two kab/kota
    assert server.log == ["wilayah/pilkada/pkwkp/99.json", "pilkada/paslon/pkwkp.json", PROVINCE]


def test_only_the_changed_subtrees_are_fetched(mirror, server, tmp_path):
    run(server, tmp_path / "archive")
    changed = published_tps(mirror)[3]
    before = mirror_hashes(mirror)
    generate_mirror(mini_race(), mirror, progress=0.9, revisions={Path(changed).stem: {"7": -2, "5": 2}})
    after = mirror_hashes(mirror)
    differ = {path for path in after if after[path] != before[path]}
    # The TPS and exactly its four ancestors changed; nothing else.
    assert differ == {changed, *(f"{changed.rsplit('/', n)[0]}.json" for n in (1, 2, 3, 4))}

    server.reset_counts()
    second = run(server, tmp_path / "archive")
    assert sorted(server.log) == sorted(["wilayah/pilkada/pkwkp/99.json", "pilkada/paslon/pkwkp.json", *differ])
    with load_only(tmp_path / "w.duckdb", *(c.index for c in Archive(tmp_path / "archive").crawls())) as con:
        assert loaded_documents(con) == after
    # Every other row of each changed aggregate's table was skipped unread.
    tables = [orjson.loads((mirror / path).read_bytes())["tungsura"]["table"] for path in differ if path != changed]
    assert second.skipped == sum(len(table) - 1 for table in tables)


# --- Faults -------------------------------------------------------------------------------------

RECOVERABLE = [
    pytest.param("hang", {"delay": 3.0}, "timeout", id="timeout"),
    pytest.param("error", {"status": 500}, "HTTP 500", id="500"),
    pytest.param("error", {"status": 503}, "HTTP 503", id="503"),
    pytest.param("rate_limit", {"retry_after": "0"}, "HTTP 429", id="429"),
    pytest.param("truncate", {}, "truncated", id="truncated"),
    pytest.param("invalid_json", {}, "invalid JSON", id="invalid-json"),
]
RETRY_TWICE = HttpPolicy(rate=10_000, concurrency=4, timeout=2.0, retries=2, backoff=0.01, backoff_max=0.05)
# For hangs only: every request of the crawl gets this timeout, and a loaded machine can be slow.
HANG_TIMEOUT = HttpPolicy(rate=10_000, concurrency=4, timeout=0.5, retries=2, backoff=0.01, backoff_max=0.05)


def policy_for(kind: str) -> HttpPolicy:
    return HANG_TIMEOUT if kind == "hang" else RETRY_TWICE


@pytest.mark.parametrize(("kind", "options", "why"), RECOVERABLE)
def test_a_passing_fault_is_retried_and_the_crawl_is_whole(kind, options, why, mirror, server, tmp_path):
    target = published_tps(mirror)[0]
    server.fault(kind, target, times=2, **options)
    server.fault(kind, PROVINCE, times=1, **options)
    summary = run(server, tmp_path / "archive", policy_for(kind))
    assert summary.finished and not summary.failed and summary.retried == 3
    assert server.counts[target] == 3 and server.counts[PROVINCE] == 2

    attempts = [line for line in crawl_lines(summary) if line["path"] == target]
    assert [line["outcome"] for line in attempts] == ["retry", "retry", "ok"]
    assert all(why in line["error"] for line in attempts[:2])
    if kind in ("truncate", "invalid_json"):  # what arrived is archived as it arrived, then retried
        bodies = {Archive(tmp_path / "archive").get(line["sha256"]) for line in attempts[:2]}
        assert len(bodies) == 1 and (mirror / target).read_bytes() not in bodies
    with load_only(tmp_path / "w.duckdb", Path(summary.index)) as con:
        assert loaded_documents(con) == mirror_hashes(mirror)
        assert con.execute("select count(*) from quarantine").fetchone() == (0,)


@pytest.mark.parametrize(("kind", "options", "why"), RECOVERABLE)
def test_a_lasting_fault_is_recorded_and_nothing_partial_is_loaded(kind, options, why, mirror, server, tmp_path):
    target = published_tps(mirror)[0]
    server.fault(kind, target, **options)
    summary = run(server, tmp_path / "archive", policy_for(kind))
    url = f"{server.url}/{target}"
    assert summary.finished and server.counts[target] == 3  # 1 + 2 retries, then given up
    assert [f["url"] for f in summary.failed] == [url]
    assert why in summary.failed[0]["reason"] and "gave up after 3 attempts" in summary.failed[0]["reason"]
    assert url in summary.describe()

    with load_only(tmp_path / "w.duckdb", Path(summary.index)) as con:
        expected = {path: h for path, h in mirror_hashes(mirror).items() if path != target}
        assert loaded_documents(con) == expected  # every other node, whole; none of this one
        ((path, rule, reason),) = con.execute("select source_path, rule, reason from quarantine").fetchall()
        assert (path, rule) == (target, "unreadable") and url in reason and why in reason
        assert con.execute("select records_read, records_loaded, records_quarantined from runs").fetchone() == (MINI_FILES, MINI_FILES - 1, 1)


def test_a_crawl_that_cannot_read_its_root_says_so(server, tmp_path):
    server.fault("error", PROVINCE, status=503)
    summary = run(server, tmp_path / "archive", RETRY_TWICE)
    assert summary.finished and summary.root == f"{server.url}/{PROVINCE}"
    assert summary.root_failure() == "HTTP 503 (gave up after 3 attempts)"
    server.clear_faults()
    assert run(server, tmp_path / "archive").root_failure() is None


def test_a_failed_subtree_is_fetched_by_the_next_crawl(mirror, server, tmp_path):
    server.fault("error", KECAMATAN, status=500)
    first = run(server, tmp_path / "archive")
    assert [f["url"] for f in first.failed] == [f"{server.url}/{KECAMATAN}"]
    below = [p for p in mirror_hashes(mirror) if p.startswith(KECAMATAN.removesuffix(".json") + "/")]
    assert below and not any(server.counts[p] for p in below)  # nothing under it was guessed at

    server.clear_faults()
    server.reset_counts()
    second = run(server, tmp_path / "archive")
    assert second.finished and not second.failed
    # The path down to the failed node, the node and its subtree; nothing else of the tree.
    assert set(server.log) == {"wilayah/pilkada/pkwkp/99.json", "pilkada/paslon/pkwkp.json", PROVINCE,
                               f"{HHCW}/99/9901.json", KECAMATAN, *below}  # fmt: skip
    with load_only(tmp_path / "w.duckdb", first.index, second.index) as con:
        assert loaded_documents(con) == mirror_hashes(mirror)


def test_a_region_list_that_failed_is_fetched_by_the_next_crawl(server, tmp_path):
    kab_list = "wilayah/pilkada/pkwkp/99/9901.json"
    server.fault("error", kab_list, status=502)
    first = run(server, tmp_path / "archive")
    assert [f["url"] for f in first.failed] == [f"{server.url}/{kab_list}"]
    server.clear_faults()
    server.reset_counts()
    run(server, tmp_path / "archive")
    # The region's own list, the failed one and the two kecamatan lists it names; known lists
    # are not asked again.
    assert sorted(p for p in server.log if p.startswith("wilayah/")) == [
        "wilayah/pilkada/pkwkp/99.json", kab_list,
        "wilayah/pilkada/pkwkp/99/9901/990101.json", "wilayah/pilkada/pkwkp/99/9901/990102.json",
    ]  # fmt: skip


def test_a_tps_without_a_file_is_not_an_error(mirror, server, tmp_path):
    target = published_tps(mirror)[0]
    server.fault("not_found", target)
    summary = run(server, tmp_path / "archive")
    assert summary.finished and not summary.failed and summary.not_found == [f"{server.url}/{target}"]
    assert server.counts[target] == 1  # a 404 is an answer: not retried
    with load_only(tmp_path / "w.duckdb", Path(summary.index)) as con:
        assert target not in loaded_documents(con)
        assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    server.reset_counts()
    assert run(server, tmp_path / "archive").requests == 3  # known to have no file: not asked again


def test_a_slow_answer_within_the_timeout_is_waited_for(mirror, server, tmp_path):
    server.fault("slow", PROVINCE, delay=0.4)
    summary = run(server, tmp_path / "archive")
    assert summary.finished and summary.retried == 0 and server.counts[PROVINCE] == 1
    (line,) = [line for line in crawl_lines(summary) if line["path"] == PROVINCE]
    assert line["elapsed_ms"] >= 400 and line["outcome"] == "ok"


def test_retry_after_is_honoured(server, tmp_path):
    server.fault("rate_limit", PROVINCE, times=1, retry_after="0.5")
    run(server, tmp_path / "archive")
    asked = [t for path, t in zip(server.log, server.arrivals) if path == PROVINCE]
    assert len(asked) == 2 and asked[1] - asked[0] >= 0.5


def test_the_rate_limit_holds_across_connections(server, tmp_path):
    policy = HttpPolicy(rate=60, concurrency=4, timeout=2.0, retries=1, backoff=0.01)
    run(server, tmp_path / "archive", policy)
    assert len(server.arrivals) == MINI_FILES
    # 47 requests at 60/s cannot take less than 46/60 s, however many connections are open.
    assert server.arrivals[-1] - server.arrivals[0] >= 46 / 60 - 0.02


# --- Interrupted crawls resume -----------------------------------------------------------------


def final_state(summary: CrawlSummary) -> tuple[dict, dict]:
    """A crawl's result: path -> (outcome, content hash) of each URL, and the state it left."""
    finals = {line["path"]: (line["outcome"], line["content_hash"]) for _, line in final_responses(Path(summary.index))}
    state = Archive(summary.archive).read_state(summary.crawl_id)
    state.pop("crawl_id")
    return finals, state


@pytest.mark.parametrize("budget", [1, 9, 30])
def test_a_crawl_out_of_budget_resumes_where_it_stopped(budget, mirror, server, tmp_path):
    reference = run(server, tmp_path / "reference")
    server.reset_counts()

    paused = run(server, tmp_path / "archive", max_requests=budget)
    assert not paused.finished and paused.requests == budget
    assert Archive(tmp_path / "archive").read_state(paused.crawl_id) is None
    resumed = run(server, tmp_path / "archive")
    assert resumed.finished and resumed.resumed and resumed.crawl_id == paused.crawl_id
    assert resumed.replayed == budget and paused.requests + resumed.requests == MINI_FILES
    assert server.counts == {path: 1 for path in mirror_hashes(mirror)}  # nothing asked twice
    assert final_state(resumed) == final_state(reference)


def test_a_crash_mid_crawl_resumes_to_the_uninterrupted_result(mirror, server, tmp_path, monkeypatch):
    run(server, tmp_path / "archive")
    shutil.copytree(tmp_path / "archive", tmp_path / "reference")
    published = published_tps(mirror)
    revisions = {Path(p).stem: {"7": -1, "5": 1} for p in (published[0], published[-1])}
    generate_mirror(mini_race(), mirror, progress=0.9, revisions=revisions)
    reference = run(server, tmp_path / "reference")

    # Crash between archiving the 6th body and indexing it: the worst moment.
    real_response, calls = CrawlLog.response, []

    def crash_on_sixth(self, **fields):
        calls.append(fields["path"])
        if len(calls) == 6:
            raise RuntimeError("killed")
        return real_response(self, **fields)

    monkeypatch.setattr(CrawlLog, "response", crash_on_sixth)
    server.reset_counts()
    with pytest.raises(RuntimeError, match="killed"):
        run(server, tmp_path / "archive")
    monkeypatch.setattr(CrawlLog, "response", real_response)
    resumed = run(server, tmp_path / "archive")
    assert resumed.finished and resumed.resumed
    assert server.total <= reference.requests + FAST.concurrency  # only in-flight requests are asked again
    assert final_state(resumed) == final_state(reference)

    crawls = lambda root: [c.index for c in Archive(root).crawls()]  # noqa: E731
    with load_and_build(tmp_path / "a.duckdb", *crawls(tmp_path / "archive")) as resumed_con, \
         load_and_build(tmp_path / "b.duckdb", *crawls(tmp_path / "reference")) as reference_con:  # fmt: skip
        for mart in ("province_totals", "region_winners"):
            assert mart_checksum(resumed_con, mart) == mart_checksum(reference_con, mart)
        assert loaded_documents(resumed_con) == mirror_hashes(mirror)


def test_a_crawl_killed_with_sigkill_resumes_to_the_uninterrupted_result(mirror, server, tmp_path):
    reference = run(server, tmp_path / "reference")
    server.reset_counts()
    script = (
        "import sys; from flows.sources.api import HttpPolicy, Target, crawl; "
        "crawl(Target(sys.argv[1], 'pilkada2024', 'pkwkp', '99'), sys.argv[2], HttpPolicy(rate=60, concurrency=4))"
    )
    child = subprocess.Popen([sys.executable, "-c", script, server.url, str(tmp_path / "archive")], cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 30
        while server.total < 15 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert child.poll() is None, "the crawl ended before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    killed_after = server.total
    assert 15 <= killed_after < MINI_FILES

    resumed = run(server, tmp_path / "archive")
    assert resumed.finished and resumed.resumed
    assert server.total <= MINI_FILES + FAST.concurrency  # at most the requests in flight are asked again
    assert final_state(resumed) == final_state(reference)


def test_one_crawl_at_a_time_per_archive(server, tmp_path):
    with Archive(tmp_path / "archive").lock():
        with pytest.raises(RuntimeError, match="another crawl"):
            run(server, tmp_path / "archive")


# --- The Pemilu shape ----------------------------------------------------------------------------


def pemilu_mirror(root: Path) -> Path:
    """The 88 real Kepulauan Seribu TPS files under aggregate nodes built from them (Pemilu shape:
    `chart` and `table` at the top, no `progres` in table rows)."""
    shutil.copytree(SERIBU, root)
    hhcw = root / "pemilu/hhcw/ppwp"
    nodes = {p.stem: p for p in hhcw.rglob("*.json")}
    summaries: dict[str, tuple[dict, int, int]] = {}  # code -> (candidate sums, TPS, TPS reported)
    for code, path in nodes.items():
        chart = orjson.loads(path.read_bytes())["chart"]
        votes = {k: v for k, v in (chart or {}).items() if k.isdigit() and v is not None}
        summaries[code] = (votes, 1, int(chart is not None))
    for length in (10, 6, 4):
        children = sorted(c for c in summaries if len(c) == {10: 13, 6: 10, 4: 6}[length])
        for parent in sorted({c[:length] for c in children}):
            kids = [c for c in children if c.startswith(parent)]
            sums: dict[str, int] = {}
            table = {}
            for kid in kids:
                votes, total, done = summaries[kid]
                for k, v in votes.items():
                    sums[k] = sums.get(k, 0) + v
                table[kid] = {**votes, "psu": "Reguler", "status_progress": done > 0} if done else {"psu": "Reguler", "status_progress": False}
            total, done = sum(summaries[k][1] for k in kids), sum(summaries[k][2] for k in kids)
            summaries[parent] = (sums, total, done)
            chain = "/".join(parent[:n] for n in (2, 4, 6, 10) if n <= len(parent))
            write_json(hhcw / f"{chain}.json", {"chart": sums, "progres": {"total": total, "progres": done}, "table": table, "ts": "2024-02-16 12:00:00"})
    return root


def test_a_pemilu_tree_is_crawled_from_its_top_level_tables(tmp_path):
    root = pemilu_mirror(tmp_path / "seribu")
    with SirekapServer(root, request_limit=500) as server:
        summary = crawl(Target(server.url, "pemilu2024", "ppwp", "3101"), tmp_path / "archive", FAST)
    assert summary.finished and not summary.failed
    assert summary.fetched == {"candidates": 1, "kabkota": 1, "kecamatan": 2, "kelurahan": 6, "tps": 88}
    assert summary.not_found == [f"{server.url}/wilayah/pemilu/ppwp/31/3101.json"]  # no region list served
    with load_and_build(tmp_path / "w.duckdb", Path(summary.index)) as con:
        votes = con.execute(
            "select candidate_id, votes from int_region_votes where region_code = '3101' order by candidate_id"
        ).fetchall()
    # ../shared/data/README.md: the 81 TPS with a chart total 01 = 6,418, 02 = 8,613, 03 = 2,635.
    assert votes == [("100025", 6_418), ("100026", 8_613), ("100027", 2_635)]


# --- Plain parts -------------------------------------------------------------------------------


def test_endpoint_paths_of_both_elections():
    kaltim = Target("https://host/", "pilkada2024", "pkwkp", "64")
    assert kaltim.node_path("6402011001") == "pilkada/hhcw/pkwkp/64/6402/640201/6402011001.json"
    assert kaltim.list_path("640201") == "wilayah/pilkada/pkwkp/64/6402/640201.json"
    assert kaltim.candidates_path() == "pilkada/paslon/pkwkp.json"
    assert kaltim.url("pilkada/hhcw/pkwkp/64.json") == "https://host/pilkada/hhcw/pkwkp/64.json"
    assert (kaltim.kind, kaltim.year) == ("pilkada", 2024)
    nation = Target("https://host", "pemilu2024", "ppwp", "0")
    assert (nation.node_path("0"), nation.list_path("0"), nation.candidates_path()) == (
        "pemilu/hhcw/ppwp.json", "wilayah/pemilu/ppwp/0.json", "pemilu/ppwp.json"
    )


@pytest.mark.parametrize(
    "args",
    [("ftp://host", "pilkada2024", "pkwkp", "64"), ("https://h", "pilkada24", "pkwkp", "64"),
     ("https://h", "pilkada2024", "PKWKP", "64"), ("https://h", "pilkada2024", "pkwkp", "640")],
)  # fmt: skip
def test_targets_that_cannot_be_crawled_are_refused(args):
    with pytest.raises(ValueError):
        Target(*args)


def test_the_rate_limiter_spaces_requests_evenly():
    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(5.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        limiter.wait()
    assert slept == pytest.approx([0.2] * 5)  # the first goes at once


def test_backoff_grows_exponentially_with_full_jitter_and_respects_retry_after():
    policy = HttpPolicy(backoff=0.5, backoff_max=4.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 4.0)]:
        delays = [backoff_delay(policy, attempt, None, rng) for _ in range(200)]
        assert 0 <= min(delays) and max(delays) <= ceiling and max(delays) > ceiling * 0.8
    assert backoff_delay(policy, 1, 30.0, rng) == 30.0
    assert backoff_delay(HttpPolicy(retry_after_max=10.0), 1, 3600.0, rng) == 10.0


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 30


def test_summary_names_what_failed():
    summary = api.CrawlSummary("000001-x", "/a/crawls/000001-x.jsonl", "/a", True, False, requests=9,
                               failed=[{"url": "http://h/p.json", "reason": "HTTP 500 (gave up after 5 attempts)"}])  # fmt: skip
    assert "1 failed" in summary.describe() and "http://h/p.json: HTTP 500" in summary.describe()
