"""The crawl archive: every response body exactly as it arrived, and an append-only index of them.

Layout of an archive folder:

    objects/ab/cdef....gz      one response body, gzip-compressed, named by the SHA-256 of the
                               bytes as received (content-addressed: a body that arrives twice is
                               stored once)
    crawls/<crawl id>.jsonl    the index of one crawl, append-only, one JSON object a line:
                               a header {"crawl": {...}}, one line per HTTP attempt
                               (url, path, status, fetched_at, sha256, content_hash, outcome, ...),
                               {"resumed": ...} when an interrupted crawl goes on, and a last
                               {"finished": {...}} line when it completed
    crawls/<crawl id>.state.json   what the crawl knew at its end: the baseline the next crawl
                               compares against (a cache: without it the next crawl is a full one)

A body is archived before anything parses it, and an index line is written only after its
body is on disk, so a crawl killed at any moment leaves an archive that reads back cleanly (at
worst a torn last line, which readers skip). `read_crawl` turns one crawl's index back into the
`SourceRecord`s the loader reads, so a warehouse can be rebuilt from the archive alone.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from flows.sources.records import SourceRecord

OBJECTS = "objects"
CRAWLS = "crawls"
# Outcomes that end a URL's story within a crawl; "retry" marks an attempt that was retried.
OK, NOT_FOUND, FAILED, RETRY = "ok", "not_found", "failed", "retry"
FINAL = frozenset({OK, NOT_FOUND, FAILED})


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class CrawlInfo:
    crawl_id: str
    index: Path
    header: dict
    finished: bool


class Archive:
    """An archive folder (created on first use)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def object_path(self, digest: str) -> Path:
        return self.root / OBJECTS / digest[:2] / f"{digest[2:]}.gz"

    def put(self, body: bytes) -> str:
        """Store a body (once per content) and return its SHA-256."""
        digest = sha256(body)
        path = self.object_path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            # mtime=0: the same body always compresses to the same bytes.
            tmp.write_bytes(gzip.compress(body, compresslevel=6, mtime=0))
            os.replace(tmp, path)
        return digest

    def get(self, digest: str) -> bytes:
        """The body stored under `digest`; ValueError if the stored bytes no longer match it."""
        body = gzip.decompress(self.object_path(digest).read_bytes())
        if sha256(body) != digest:
            raise ValueError(f"archived object {digest} is corrupt: its content hashes to {sha256(body)}")
        return body

    @property
    def crawls_dir(self) -> Path:
        return self.root / CRAWLS

    def index_path(self, crawl_id: str) -> Path:
        return self.crawls_dir / f"{crawl_id}.jsonl"

    def state_path(self, crawl_id: str) -> Path:
        return self.crawls_dir / f"{crawl_id}.state.json"

    def crawls(self) -> list[CrawlInfo]:
        """Every crawl in the archive, oldest first (crawl ids sort in start order)."""
        found = []
        for index in sorted(self.crawls_dir.glob("*.jsonl")) if self.crawls_dir.is_dir() else []:
            header, finished = None, False
            with open(index, "rb") as lines:
                for line in lines:
                    # Only the header and the end line matter here: skip parsing the responses.
                    if line.startswith((b'{"crawl":', b'{"finished":')):
                        try:
                            item = orjson.loads(line)
                        except orjson.JSONDecodeError:
                            continue
                        header = item.get("crawl", header)
                        finished = finished or "finished" in item
            if header is None:
                continue  # killed before its header was written: nothing in it
            found.append(CrawlInfo(index.stem, index, header, finished))
        return found

    def new_crawl_id(self, now: datetime | None = None) -> str:
        """`<sequence>-<UTC start>`: unique in this archive and sorted by start, even within a second."""
        now = now or datetime.now(UTC)
        existing = [c.stem.split("-", 1)[0] for c in self.crawls_dir.glob("*.jsonl")] if self.crawls_dir.is_dir() else []
        seq = max((int(s) for s in existing if s.isdigit()), default=0) + 1
        return f"{seq:06d}-{now:%Y%m%dT%H%M%SZ}"

    def read_state(self, crawl_id: str) -> dict | None:
        path = self.state_path(crawl_id)
        try:
            return orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None

    def write_state(self, crawl_id: str, state: dict) -> None:
        path = self.state_path(crawl_id)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(orjson.dumps(state))
        _fsync_file(tmp)
        os.replace(tmp, path)

    @contextmanager
    def lock(self):
        """One crawl at a time per archive: a second one fails at once instead of interleaving."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(f"another crawl is writing the archive {self.root}") from None
            yield


class CrawlLog:
    """Appends one crawl's index lines; safe to call from several threads."""

    def __init__(self, archive: Archive, crawl_id: str):
        self.archive = archive
        self.crawl_id = crawl_id
        self.path = archive.index_path(crawl_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._seq = sum(1 for line in read_index(self.path) if "url" in line) if self.path.exists() else 0
        self._file = open(self.path, "ab")
        # A line torn by a kill must not swallow the next one.
        if self._file.tell() and not _ends_with_newline(self.path):
            self._file.write(b"\n")

    def write(self, line: dict) -> None:
        with self._lock:
            self._file.write(orjson.dumps(line) + b"\n")
            self._file.flush()  # in the OS's hands: survives a killed process

    def response(self, **fields: Any) -> dict:
        """Index one HTTP attempt (its body, if any, already archived)."""
        with self._lock:
            self._seq += 1
            line = {"crawl_id": self.crawl_id, "seq": self._seq, **fields}
            self._file.write(orjson.dumps(line) + b"\n")
            self._file.flush()
        return line

    def close(self, sync: bool = True) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                if sync:
                    os.fsync(self._file.fileno())
                self._file.close()


def read_index(path: Path) -> Iterator[dict]:
    """The lines of a crawl index; a line that does not parse (torn by a kill) is skipped."""
    with open(path, "rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(item, dict):
                yield item


def final_responses(path: Path) -> list[tuple[int, dict]]:
    """(line number, line) of each URL's final outcome in a crawl index, in arrival order."""
    found = []
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(item, dict) and item.get("outcome") in FINAL:
                found.append((number, item))
    return found


def no_file_is_normal(path: str) -> bool:
    """A 404 for a TPS (not published yet) or a region list (not every API serves every level)
    means "no file": not an error. For an aggregate node its parent names, or the candidate
    master, it is a failure."""
    name = path.rsplit("/", 1)[-1].removesuffix(".json")
    return path.startswith("wilayah/") or (name.isdigit() and len(name) == 13)


def is_crawl_index(path: Path) -> bool:
    path = Path(path)
    return path.is_file() and path.suffix == ".jsonl" and path.parent.name == CRAWLS and (path.parent.parent / OBJECTS).is_dir()


def read_crawl(index: Path) -> Iterator[SourceRecord]:
    """One crawl's documents, read back from the archive, as the loader reads any source.

    Each URL's final outcome is one record: its archived body when it arrived whole, or an
    error (so the loader quarantines it with the reason) when the crawl gave up on it. A 404 for
    a TPS or a region list ("no file") is no record: there is no document. Bodies are checked
    against their hash.
    """
    index = Path(index).resolve()
    archive = Archive(index.parent.parent)
    for number, line in final_responses(index):
        locator = f"line {number}"
        path = line["path"]
        if line["outcome"] == NOT_FOUND and no_file_is_normal(path):
            continue
        if line["outcome"] == NOT_FOUND:
            yield SourceRecord(str(index), path, locator, error=f"GET {line['url']}: HTTP 404 for a document the tree names")
            continue
        if line["outcome"] == FAILED:
            attempts = line.get("attempt", 1)
            reason = f"GET {line['url']} failed after {attempts} attempt{'s' if attempts != 1 else ''}: {line.get('error')}"
            yield SourceRecord(str(index), path, locator, error=reason)
            continue
        try:
            body = archive.get(line["sha256"])
        except (OSError, ValueError) as exc:
            yield SourceRecord(str(index), path, locator, error=f"archived body of {line['url']} unreadable: {exc}")
            continue
        yield SourceRecord(str(index), path, locator, body)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
