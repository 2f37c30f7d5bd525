"""Crawl a SIREKAP-compatible API into the archive: region lists, candidates, aggregate nodes, TPS.

    crawl(Target("https://host", "pilkada2024", "pkwkp", "64"), archive_dir) -> CrawlSummary

What a crawl fetches:
1. the region lists (`wilayah/...`) of the region and, on a first or `full` crawl, the lists
   below it down to the kelurahan (a TPS is named by its number: its list is not fetched);
2. the candidate master;
3. the region's aggregate node, then, level by level, the children its `table` names
   (Pemilu and Pilkada shapes, read by `flows.sirekap.child_rows`), and the TPS nodes last.

Only changed subtrees are descended into. A child is fetched when its row in the freshly fetched
parent (its summary there: votes, progress, status) hashes differently from the row the last
finished crawl saw, when that crawl did not get all of its subtree, or on a first or `full`
crawl. So a quiet night costs three requests (region list, candidates, root node) and a night
where 1% of TPS changed costs those TPS plus the aggregates above them. A change that leaves
every row above it unchanged (votes moved between TPS of one kelurahan so that its sums stay the
same, an administrasi-only correction) does not show: a `full` crawl now and then reads all.

Politeness and failure: one global rate limit (requests/s, every attempt counts), a bounded
number of connections, a timeout per request, and retries with exponential backoff and full
jitter on timeouts, connection errors, 429 (honouring Retry-After), 5xx, and bodies that arrive
truncated or are not JSON. A 404 for a TPS or a region list is "no file": recorded, not an error.
What still fails after the retries is recorded (URL and reason) and the crawl completes the rest.

Every attempt's body is archived before it is parsed (flows/sources/archive.py), and the index
is the crawl's progress: a crawl interrupted at any point (killed, crashed, out of its request
budget) is resumed by the next call for the same election, contest and region, which re-reads
what the archive already holds and requests only the rest.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from flows.progress import StepProgress
from flows.sirekap import StructuralError, canonical_hash, child_rows, is_code
from flows.sources.archive import (
    FAILED,
    NOT_FOUND,
    OK,
    RETRY,
    Archive,
    CrawlLog,
    final_responses,
    no_file_is_normal,
    utc_now,
)
from schemas.regions import CODE_LENGTHS, LEVEL_BY_CODE_LENGTH, NATION, chain

log = logging.getLogger("rekap.crawl")

ELECTION_ID = re.compile(r"^(pemilu|pilkada)(\d{4})$")
TPS_CODE_LENGTH = 13
# Region lists are fetched for regions above the kelurahan: their entries name kab/kota,
# kecamatan and kelurahan. A kelurahan's list names its TPS, which the marts name by number.
LIST_PARENT_MAX_LENGTH = 6
# Besides 5xx and transport failures: 200 with a broken body, Request Timeout, Too Many Requests.
RETRY_STATUSES = frozenset({200, 408, 429})
USER_AGENT = "rekap/0.1 (nightly batch of public SIREKAP counts; polite: rate-limited, resumable)"


class CrawlError(RuntimeError):
    """A crawl that got nothing usable: the host name does not resolve, or the region's own node could not be read."""


class CrawlPaused(Exception):
    """The crawl used up its request budget; the next crawl of the same target resumes it."""


class _Stopped(Exception):
    """Raised in workers once the crawl is stopping (another worker failed or paused it)."""


@dataclass(frozen=True)
class Target:
    """What to crawl: an API base URL, an election id (`pilkada2024`), a contest and a region code."""

    base_url: str
    election: str
    contest: str
    region: str

    def __post_init__(self) -> None:
        if not ELECTION_ID.match(self.election):
            raise ValueError(f"election {self.election!r} must look like pilkada2024 or pemilu2024")
        if not re.fullmatch(r"[a-z]+", self.contest):
            raise ValueError(f"contest {self.contest!r} must be a SIREKAP contest such as pkwkp, pkwkk, ppwp")
        if not (self.region == "0" or (is_code(self.region) and len(self.region) in CODE_LENGTHS[:-1])):
            raise ValueError(f"region {self.region!r} must be 0 (national) or a 2, 4, 6 or 10-digit region code")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"API base URL {self.base_url!r} must start with http:// or https://")

    @property
    def kind(self) -> str:
        return ELECTION_ID.match(self.election).group(1)

    @property
    def year(self) -> int:
        return int(ELECTION_ID.match(self.election).group(2))

    def key(self) -> dict:
        """What makes two crawls comparable (the base URL may move: the paths do not)."""
        return {"election": self.election, "contest": self.contest, "region": self.region}

    def node_path(self, code: str) -> str:
        return f"{self.kind}/hhcw/{self.contest}" + ("" if code == NATION else "/" + "/".join(chain(code))) + ".json"

    def list_path(self, code: str) -> str:
        return f"wilayah/{self.kind}/{self.contest}/" + (NATION if code == NATION else "/".join(chain(code))) + ".json"

    def candidates_path(self) -> str:
        return f"pilkada/paslon/{self.contest}.json" if self.kind == "pilkada" else f"{self.kind}/{self.contest}.json"

    def url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/{path}"


@dataclass(frozen=True)
class HttpPolicy:
    """How politely and how stubbornly to ask."""

    rate: float = 5.0  # requests per second, over all connections, retries included
    concurrency: int = 4  # connections (and requests) in flight at most
    timeout: float = 10.0  # seconds per request (connect, each read, and the whole body)
    retries: int = 4  # further attempts after the first, on retryable failures
    backoff: float = 0.5  # seconds: attempt n waits up to backoff * 2**(n-1), jittered
    backoff_max: float = 30.0
    retry_after_max: float = 120.0  # longest Retry-After honoured

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.concurrency < 1 or self.timeout <= 0 or self.retries < 0:
            raise ValueError(f"invalid HTTP policy {self}")


@dataclass
class CrawlSummary:
    crawl_id: str
    index: str  # the crawl's index file: the source a run loads
    archive: str
    finished: bool  # False: interrupted (request budget); the next crawl resumes it
    resumed: bool
    root: str = ""  # URL of the region's own node, where the tree starts
    requests: int = 0  # HTTP requests this call made (every attempt)
    replayed: int = 0  # responses read back from the archive instead (resuming)
    retried: int = 0  # attempts that failed and were retried
    skipped: int = 0  # children not fetched because their row had not changed
    fetched: dict[str, int] = field(default_factory=dict)  # documents received whole, per kind/level
    not_found: list[str] = field(default_factory=list)  # URLs answered 404 (no file)
    failed: list[dict] = field(default_factory=list)  # {"url", "reason"} of what could not be read

    def root_failure(self) -> str | None:
        """Why the region's own node could not be read, if it could not: the crawl then got
        nothing of the tree, which a run should treat as a failed night, not a quiet one."""
        return next((f["reason"] for f in self.failed if f["url"] == self.root), None)

    def describe(self) -> str:
        state = "finished" if self.finished else "paused (request budget): the next run resumes it"
        got = sum(self.fetched.values())
        text = (
            f"crawl {self.crawl_id} {state}{' (resumed)' if self.resumed else ''}: {self.requests:,} requests"
            f" ({self.retried:,} retried), {got:,} documents, {self.skipped:,} unchanged subtrees skipped,"
            f" {len(self.not_found):,} not found, {len(self.failed):,} failed"
        )
        for failure in self.failed[:5]:
            text += f"\n  failed: {failure['url']}: {failure['reason']}"
        if len(self.failed) > 5:
            text += f"\n  ... {len(self.failed) - 5} more in {self.index}"
        return text


@dataclass
class Fetched:
    path: str
    outcome: str  # ok | not_found | failed
    payload: Any = None
    content_hash: str | None = None
    error: str | None = None


class RateLimiter:
    """Spaces requests at least 1/rate seconds apart across all threads (no bursts)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


def backoff_delay(policy: HttpPolicy, attempt: int, retry_after: float | None, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(max, base * 2**(attempt-1))]; a Retry-After is a floor."""
    delay = rng.uniform(0.0, min(policy.backoff_max, policy.backoff * 2 ** (attempt - 1)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.retry_after_max))
    return delay


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _Fetcher:
    """GET one path with retries; archive and index every attempt; replay what the crawl has."""

    def __init__(self, target: Target, policy: HttpPolicy, archive: Archive, crawl_log: CrawlLog,
                 done: dict[str, dict], max_requests: int | None):  # fmt: skip
        self.target, self.policy, self.archive, self.log = target, policy, archive, crawl_log
        self.done = done
        self.max_requests = max_requests
        self.limiter = RateLimiter(policy.rate)
        self.stop = threading.Event()
        self.rng = random.Random()
        self.requests = self.replayed = self.retried = 0
        self._count_lock = threading.Lock()
        self.client = httpx.Client(
            timeout=httpx.Timeout(policy.timeout),
            limits=httpx.Limits(max_connections=policy.concurrency, max_keepalive_connections=policy.concurrency),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def close(self) -> None:
        self.client.close()

    def fetch(self, path: str) -> Fetched:
        line = self.done.get(path)
        if line is not None:
            replay = self._replay(path, line)
            if replay is not None:
                return replay
        url = self.target.url(path)
        for attempt in range(1, self.policy.retries + 2):
            self._take_request()
            fetched_at = utc_now()
            started = time.monotonic()
            status, body, error, retry_after = self._get(url)
            elapsed_ms = round(1000 * (time.monotonic() - started))
            payload, content_hash = None, None
            if error is None and status == 200:
                try:
                    payload = orjson.loads(body)
                    content_hash = canonical_hash(payload)
                except orjson.JSONDecodeError as exc:
                    error = f"invalid JSON ({len(body)} bytes): {exc}"
            elif error is None and status != 404:
                error = f"HTTP {status}"
            retryable = error is not None and (status is None or status in RETRY_STATUSES or status >= 500)
            if error is None:
                outcome = OK if status == 200 else NOT_FOUND
            else:
                outcome = RETRY if retryable and attempt <= self.policy.retries else FAILED
            digest = self.archive.put(body) if body is not None else None
            self.log.response(
                url=url, path=path, attempt=attempt, status=status, fetched_at=fetched_at, elapsed_ms=elapsed_ms,
                sha256=digest, bytes=None if body is None else len(body), content_hash=content_hash,
                outcome=outcome, error=error,
            )  # fmt: skip
            if outcome != RETRY:
                if outcome == FAILED:
                    error = f"{error} (gave up after {attempt} attempt{'s' if attempt > 1 else ''})"
                    log.warning("GET %s failed: %s", url, error)
                return Fetched(path, outcome, payload, content_hash, error)
            with self._count_lock:
                self.retried += 1
            if self.stop.wait(backoff_delay(self.policy, attempt, retry_after, self.rng)):
                raise _Stopped()
        raise AssertionError("unreachable: the last attempt is final")

    def _take_request(self) -> None:
        with self._count_lock:
            if self.stop.is_set():
                raise _Stopped()
            if self.max_requests is not None and self.requests >= self.max_requests:
                self.stop.set()
                raise CrawlPaused(f"request budget of {self.max_requests} used")
            self.requests += 1
        self.limiter.wait()

    def _get(self, url: str) -> tuple[int | None, bytes | None, str | None, float | None]:
        """(status, body, error, retry-after) of one GET. A body cut short comes back with its
        bytes so far and an error; a timeout or connection failure has no body."""
        deadline = time.monotonic() + self.policy.timeout
        chunks: list[bytes] = []
        status = retry_after = None
        try:
            with self.client.stream("GET", url) as response:
                status = response.status_code
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        return status, b"".join(chunks), f"body still arriving after {self.policy.timeout:g}s", retry_after
            return status, b"".join(chunks), None, retry_after
        except httpx.TimeoutException as exc:
            got = b"".join(chunks) if status is not None else None  # what arrived before it stalled
            return status, got, f"timeout after {self.policy.timeout:g}s ({type(exc).__name__})", retry_after
        except httpx.RemoteProtocolError as exc:
            if status is None:
                return None, None, f"connection closed before a response: {exc}", retry_after
            return status, b"".join(chunks), f"truncated body: {exc}", retry_after
        except httpx.TransportError as exc:
            return status, None, f"connection error: {type(exc).__name__}: {exc}", retry_after

    def _replay(self, path: str, line: dict) -> Fetched | None:
        """The final outcome this crawl already archived for `path`, or None to fetch it again."""
        outcome = line["outcome"]
        if outcome == OK:
            try:
                payload = orjson.loads(self.archive.get(line["sha256"]))
            except (OSError, ValueError):
                return None  # a lost or corrupt object: ask again
            fetched = Fetched(path, OK, payload, line.get("content_hash") or canonical_hash(payload))
        elif outcome == NOT_FOUND:
            fetched = Fetched(path, NOT_FOUND)
        else:
            fetched = Fetched(path, FAILED, error=f"{line.get('error')} (gave up after {line.get('attempt')} attempts)")
        with self._count_lock:
            self.replayed += 1
        return fetched


class _Crawl:
    """One walk of the tree; the state it leaves is the next crawl's baseline."""

    def __init__(self, target: Target, fetcher: _Fetcher, baseline: dict | None, full: bool, summary: CrawlSummary,
                 progress: StepProgress):  # fmt: skip
        self.target, self.fetcher, self.summary, self.progress = target, fetcher, summary, progress
        # Without a baseline every subtree counts as changed: a first crawl reads everything.
        self.full = full or baseline is None
        self.base_lists: dict[str, dict] = (baseline or {}).get("lists", {})
        self.base_nodes: dict[str, dict] = (baseline or {}).get("nodes", {})
        self.lists = dict(self.base_lists)
        self.nodes = dict(self.base_nodes)
        self.pool = ThreadPoolExecutor(max_workers=fetcher.policy.concurrency, thread_name_prefix="crawl")

    def run(self) -> dict:
        try:
            self.region_lists()
            self.candidates()
            self.tree()
        finally:
            self.fetcher.stop.set()
            self.pool.shutdown(wait=True, cancel_futures=True)
        return {"target": self.target.key(), "lists": self.lists, "nodes": self.nodes}

    def fetch_all(self, paths: list[str]) -> dict[str, Fetched]:
        self.progress.plan(len(paths))
        futures = {self.pool.submit(self.fetcher.fetch, path): path for path in paths}
        results: dict[str, Fetched] = {}
        error: BaseException | None = None
        try:
            for future in as_completed(futures):
                exc = future.exception()
                if exc is None:
                    results[futures[future]] = self._count(future.result())
                elif error is None or isinstance(error, _Stopped):
                    error = exc
                    self.fetcher.stop.set()
        except BaseException:
            self.fetcher.stop.set()
            raise
        if error is not None:
            raise error
        return results

    def _count(self, fetched: Fetched) -> Fetched:
        kind = _kind_of(fetched.path)
        url = self.target.url(fetched.path)
        if fetched.outcome == OK:
            self.summary.fetched[kind] = self.summary.fetched.get(kind, 0) + 1
        elif fetched.outcome == NOT_FOUND and no_file_is_normal(fetched.path):
            self.summary.not_found.append(url)
        elif fetched.outcome == NOT_FOUND:
            self.summary.failed.append({"url": url, "reason": "HTTP 404: a node the tree names is missing"})
        else:
            self.summary.failed.append({"url": url, "reason": fetched.error})
        self.progress.advance(failed=len(self.summary.failed))
        return fetched

    def region_lists(self) -> None:
        """The region's own list every crawl; the lists below it when never read whole before
        (or on a full crawl). Known lists are walked from the baseline without a request."""
        frontier = [self.target.region]
        while frontier:
            fetch = [c for c in frontier if self.full or c == self.target.region or self.target.list_path(c) not in self.base_lists]
            results = self.fetch_all([self.target.list_path(c) for c in fetch])
            next_level = []
            for code in frontier:
                path = self.target.list_path(code)
                if code not in fetch:
                    children = self.base_lists[path]["children"]
                elif results[path].outcome == FAILED:
                    self.lists.pop(path, None)  # not known: the next crawl asks again
                    continue
                else:
                    got = results[path]
                    children = _listed_codes(got.payload, code) if got.outcome == OK else []
                    self.lists[path] = {"hash": got.content_hash, "children": children}
                next_level += [c for c in children if len(c) <= LIST_PARENT_MAX_LENGTH]
            frontier = next_level

    def candidates(self) -> None:
        self.fetch_all([self.target.candidates_path()])

    def tree(self) -> None:
        """Aggregates level by level from the region's node, then every TPS to fetch."""
        frontier = [(self.target.node_path(self.target.region), self.target.region, None)]
        tps: list[tuple[str, str, str]] = []
        fetched_order: list[str] = []
        children_of: dict[str, list[str] | None] = {}
        while frontier or tps:
            if not frontier:
                frontier, tps = tps, []
            results = self.fetch_all([path for path, _, _ in frontier])
            next_level = []
            for path, code, row_hash in frontier:
                got = results[path]
                fetched_order.append(path)
                self.nodes[path] = {"hash": got.content_hash, "row": row_hash if got.outcome != FAILED else None}
                children_of[path] = None
                if len(code) == TPS_CODE_LENGTH:
                    # A TPS read, or without a file (404: no file, not an error), is complete.
                    children_of[path] = [] if got.outcome != FAILED else None
                    continue
                if got.outcome != OK:
                    continue
                try:
                    table = child_rows(code, got.payload)
                except StructuralError as exc:
                    self.summary.failed.append({"url": self.target.url(path), "reason": f"cannot read its children: {exc}"})
                    continue
                kids = []
                for child, row in sorted(table.items()):
                    child_path = path.removesuffix(".json") + f"/{child}.json"
                    kids.append(child_path)
                    row_hash = canonical_hash(row)
                    before = self.base_nodes.get(child_path)
                    if self.full or before is None or before.get("row") != row_hash or not before.get("complete"):
                        (tps if len(child) == TPS_CODE_LENGTH else next_level).append((child_path, child, row_hash))
                    else:
                        self.summary.skipped += 1
                children_of[path] = kids
            frontier = next_level
        # A node is complete when it and everything below it was read (or skipped as unchanged
        # and complete before); an incomplete node is revisited by the next crawl.
        for path in reversed(fetched_order):
            kids = children_of[path]
            self.nodes[path]["complete"] = kids is not None and all(self.nodes.get(k, {}).get("complete") for k in kids)


def _listed_codes(payload: Any, parent: str) -> list[str]:
    """Codes of a region list's entries that lie inside `parent` (anything else is ignored)."""
    prefix = "" if parent == "0" else parent
    codes = []
    for item in payload if isinstance(payload, list) else []:
        code = item.get("kode") if isinstance(item, dict) else None
        if isinstance(code, str) and is_code(code) and code.startswith(prefix) and len(code) in CODE_LENGTHS and len(code) > len(prefix):
            codes.append(code)
    return sorted(set(codes))


def _kind_of(path: str) -> str:
    if path.startswith("wilayah/"):
        return "regions"
    if "/hhcw/" not in f"/{path}":
        return "candidates"
    code = path.rsplit("/", 1)[-1].removesuffix(".json")
    return LEVEL_BY_CODE_LENGTH.get(len(code), "nasional") if code.isdigit() else "nasional"


def check_host(base_url: str) -> None:
    """Fail at once, in one line, when the API's host name does not resolve (offline, or a typo),
    instead of retrying every request against a name that cannot answer."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    if not parts.hostname:
        raise CrawlError(f"{base_url!r} is not a URL with a host: give e.g. https://sirekap-obj-data.kpu.go.id")
    try:
        socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise CrawlError(f"cannot reach {parts.hostname}: the name does not resolve (offline, or a typo in the URL?)") from exc


def crawl(
    target: Target,
    archive_dir: Path,
    policy: HttpPolicy = HttpPolicy(),
    full: bool = False,
    max_requests: int | None = None,
) -> CrawlSummary:
    """Crawl `target` into the archive at `archive_dir`, resuming its unfinished crawl if any.

    Returns what happened; `summary.index` is the crawl's index file, the source to load once
    `summary.finished`. Raises only on what no retry can help: the archive is locked by another
    crawl, or an unexpected error (the crawl is then resumable). URLs that failed after their
    retries are in `summary.failed`, not raised: the caller decides (see `root_failure`).
    """
    check_host(target.base_url)
    archive = Archive(archive_dir)
    with archive.lock():
        same = [c for c in archive.crawls() if all(c.header.get(k) == v for k, v in target.key().items())]
        unfinished = same[-1] if same and not same[-1].finished else None
        if unfinished is not None:
            crawl_id, header = unfinished.crawl_id, unfinished.header
            done = {line["path"]: line for _, line in final_responses(unfinished.index)}
            full = bool(header.get("full"))
        else:
            crawl_id = archive.new_crawl_id()
            finished = [c for c in same if c.finished]
            header = {
                "crawl_id": crawl_id, **target.key(), "base_url": target.base_url, "full": full,
                "baseline": finished[-1].crawl_id if finished else None, "started_at": utc_now(),
                "policy": asdict(policy),
            }  # fmt: skip
            done = {}
        baseline = archive.read_state(header["baseline"]) if header.get("baseline") else None
        crawl_log = CrawlLog(archive, crawl_id)
        if unfinished is None:
            crawl_log.write({"crawl": header})
        else:
            crawl_log.write({"resumed": {"at": utc_now(), "base_url": target.base_url, "already": len(done)}})
        summary = CrawlSummary(crawl_id, str(crawl_log.path.resolve()), str(archive.root.resolve()), False,
                               unfinished is not None, target.url(target.node_path(target.region)))  # fmt: skip
        fetcher = _Fetcher(target, policy, archive, crawl_log, done, max_requests)
        progress = StepProgress(f"crawl {target.election}/{target.contest}/{target.region}", "req")
        try:
            state = _Crawl(target, fetcher, baseline, full, summary, progress).run()
            summary.finished = True
        except CrawlPaused:
            state = None
        finally:
            progress.close()
            summary.requests, summary.replayed, summary.retried = fetcher.requests, fetcher.replayed, fetcher.retried
            fetcher.close()
            if not summary.finished:
                crawl_log.close()
        if summary.finished:
            state["crawl_id"] = crawl_id
            archive.write_state(crawl_id, state)
            counts = {k: v for k, v in asdict(summary).items() if k not in ("not_found", "failed")}
            counts |= {"not_found": len(summary.not_found), "failed": len(summary.failed)}
            crawl_log.write({"finished": {"at": utc_now(), "summary": counts}})
            crawl_log.close()
        return summary
