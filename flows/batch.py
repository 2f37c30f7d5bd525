"""Read every source of a run into one batch of parsed rows, observations and quarantine.

Pure of the database: the loader decides what is new. Every record read ends up either as an
observation (to load) or in quarantine, which is what lets a run balance
read = loaded + quarantined. A mirror's files are read and parsed by one worker process per
core (at scale), which hand back each task's rows as columnar frames, not dicts.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import polars as pl

from flows.sirekap import Rows, StructuralError, parse_document
from flows.sources.archive import is_crawl_index, read_crawl
from flows.sources.dump import is_dump, read_dump
from flows.sources.mirror import HeldFiles, Listing, Reads, file_tasks, list_mirror, nothing_held, plan_reads, read_file
from flows.sources.records import SourceRecord
from schemas.raw import to_frames
from schemas.rows import FILE_SCHEMA

EXCERPT_CHARS = 300
# Mirror files are read, hashed and parsed by worker processes (one per core) once a source
# holds this many files to parse; fewer (tests, a quiet night's changes) stay in this process,
# where starting the workers would cost more than it saves.
PARALLEL_MIN_FILES = 2_000
# Files per task sent to a worker, and tasks in flight per worker (bounds the memory held).
FILES_PER_TASK = 400
# Known files read under a new stat (a mirror downloaded again) whose new stats a batch holds at
# most: they cost ~170 bytes each, not a parsed document's rows, so they do not count towards
# `chunk_records` (each batch cut costs a load: 20 cuts were 7 s of a national night's 33 s load).
REFRESHED_PER_BATCH = 250_000
TASKS_IN_FLIGHT = 4


class SourceError(ValueError):
    """A source path that is neither a mirror folder nor a dump file, or that holds no document."""


@dataclass
class Batch:
    rows: Rows = field(default_factory=Rows)
    # One per record that parsed: version_id, source_file, source_path, position (read order).
    observations: list[dict] = field(default_factory=list)
    # One per record that did not: source_file, source_path, locator, node_code, rule, reason, excerpt.
    quarantine: list[dict] = field(default_factory=list)
    files_read: int = 0
    records_read: int = 0
    # Records whose exact bytes the warehouse already loaded from the same file: counted as
    # loaded (their observation exists), never parsed again.
    known_records: int = 0
    # Known files read under a new size or mtime, frames of their new stats (FILE_SCHEMA, for
    # raw_files_current; the raw_files log already holds their bytes), as the readers hand
    # them back: a mirror downloaded again is 800,000 of them.
    refreshed_files: list[pl.DataFrame] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # Rows parsed elsewhere (a worker's task), as raw table frames, in read order before `rows`.
    parts: list[dict[str, pl.DataFrame]] = field(default_factory=list)

    def add_part(self, frames: dict[str, pl.DataFrame]) -> None:
        self._seal_rows()
        self.parts.append(frames)

    def _seal_rows(self) -> None:
        if self.rows.documents:
            self.parts.append(to_frames(self.rows))
            self.rows = Rows(versions=self.rows.versions)

    def frames(self) -> dict[str, pl.DataFrame]:
        """Every parsed row of the batch, one frame per raw table, in read order."""
        self._seal_rows()
        if not self.parts:
            return to_frames(self.rows)
        if len(self.parts) == 1:
            return self.parts[0]
        return {table: pl.concat([part[table] for part in self.parts], rechunk=True) for table in self.parts[0]}

    def quarantine_versions(self, reasons: dict[str, list[tuple[str, str]]]) -> None:
        """Move the observations of documents that broke a contract into quarantine."""
        if not reasons:
            return
        kept = []
        for obs in self.observations:
            why = reasons.get(obs["version_id"])
            if why is None:
                kept.append(obs)
                continue
            self.quarantine.append(
                {"source_file": obs["source_file"], "source_path": obs["source_path"], "locator": obs["locator"],
                 "node_code": obs["node_code"], "rule": why[0][0], "reason": "; ".join(r for _, r in why[:5]), "excerpt": None}
            )  # fmt: skip
        self.observations = kept


def is_mirror(path: Path) -> bool:
    return Path(path).is_dir() and not is_crawl_index(Path(path))


def records_of(path: Path) -> Iterator[SourceRecord]:
    """The records of a crawl's index or a dump (a mirror folder is listed, not read whole: `iter_batches`)."""
    path = Path(path)
    if is_crawl_index(path):  # before dumps: a crawl's index is .jsonl too
        return read_crawl(path)
    if is_dump(path):
        return read_dump(path)
    raise SourceError(f"{path}: not a SIREKAP mirror folder, a .jsonl/.jsonl.gz dump or a crawl index")


def read_sources(paths: Iterable[Path], election_year: int) -> Batch:
    """Every record of every source in one batch (small inputs, tests)."""
    (batch,) = iter_batches(paths, election_year, chunk_records=None)
    return batch


def iter_batches(paths: Iterable[Path], election_year: int, chunk_records: int | None = 50_000, held: HeldFiles | None = None,
                 workers: int | None = None, holds_any: Callable[[str], bool] | None = None) -> Iterator[Batch]:  # fmt: skip
    """The records of every source, in read order, as batches of at most `chunk_records`.

    Loading batch by batch keeps a national run's memory to one batch's rows (a whole Pemilu
    mirror is over 800,000 TPS files) instead of the whole election's. The first batch lists the
    sources; a file counts once, in the batch that first reads it.

    A mirror is listed first and compared with what the warehouse `held` from the files below
    it (warehouse/load.py held_files): a file known by its size and mtime is counted as loaded,
    never read; without `held` every file is read and nothing fingerprinted. With `holds_any`
    (whether `held` would give any row), what is held is read while the mirror is listed. The files to read
    are read and parsed by `workers` processes (default: one per core) once there are
    PARALLEL_MIN_FILES of them; the batches are the same either way, record for record (read
    order, versions, positions, quarantine), only built faster.
    """
    builder = _Builder(election_year, chunk_records)
    with _Parsers(election_year, workers or os.cpu_count() or 1) as parsers:
        for path in paths:
            builder.batch.sources.append(str(Path(path).resolve()))
            before = builder.records_total
            if is_mirror(path):
                listing, holds = _list_against(path, parsers, held, holds_any)
                known, reads = plan_reads(listing, holds, hashing=held is not None)
                del listing  # a national listing is a million paths: only those to read are kept
                builder.take_known(known)
                for outcomes, frames, refreshed in parsers.parse(reads):
                    yield from builder.take_refreshed(refreshed)
                    yield from builder.take(outcomes, frames)
            else:
                for record in records_of(path):
                    yield from builder.take_record(record)
            if builder.records_total == before:
                # An empty folder or dump "succeeding" with 0 records would pass for a quiet night.
                raise SourceError(f"{path}: no SIREKAP document in it (a mirror holds <election>/hhcw/... .json files, a dump one JSON line per node)")
    yield builder.batch


def _list_against(path: Path, parsers: _Parsers, held: HeldFiles | None, holds_any: Callable[[str], bool] | None) -> tuple[Listing, pl.DataFrame]:
    """A mirror's listing, and what the warehouse holds from the files below it. A first night
    stats nothing: there is nothing to compare a stat with. Given `holds_any`, what is held (a
    national mirror's 823,236 rows: 0.5 s) is read in a thread while the workers list the mirror."""
    root = str(Path(path).resolve())
    pool = parsers.executor if parsers.workers > 1 else None
    if held is None or holds_any is None:
        holds = (held or nothing_held)(root)
        return list_mirror(path, pool, stat=not holds.is_empty()), holds
    if not holds_any(root):
        return list_mirror(path, pool, stat=False), nothing_held(root)
    with ThreadPoolExecutor(1) as thread:
        holding = thread.submit(held, root)
        listing = list_mirror(path, pool, stat=True)
        return listing, holding.result()


class _Builder:
    """Cuts the records read into batches of at most `chunk_records`, as they come."""

    def __init__(self, election_year: int, chunk_records: int | None):
        self.election_year = election_year
        self.chunk_records = chunk_records
        self.batch = Batch()
        self.seen_files: set[str] = set()
        self.records_total = 0
        self.counted_only = 0  # records of the batch known by their stat or hash: no rows held
        self.refreshed = 0  # of them, the files whose new stats the batch holds

    def _full(self) -> bool:
        if self.chunk_records is None:
            return False
        return self.batch.records_read - self.counted_only >= self.chunk_records or self.refreshed >= REFRESHED_PER_BATCH

    def _new_batch(self) -> Batch:
        done, self.batch, self.counted_only, self.refreshed = self.batch, Batch(), 0, 0
        return done

    def _next(self) -> Iterator[Batch]:
        if self._full():
            yield self._new_batch()

    def _count(self, source_file: str) -> None:
        self.records_total += 1
        if source_file not in self.seen_files:
            self.seen_files.add(source_file)
            self.batch.files_read += 1

    def take_known(self, files: int) -> None:
        """Mirror files known by their stat or their bytes: each one record, loaded already (its
        observation exists), so they count but hold no parsed rows (and never cut a batch)."""
        self.counted_only += files
        self.records_total += files
        self.batch.files_read += files
        self.batch.records_read += files
        self.batch.known_records += files

    def take_refreshed(self, refreshed: pl.DataFrame | None) -> Iterator[Batch]:
        """Mirror files read whose bytes hash to the version the warehouse holds from them:
        loaded already, like those known by their stat, but remembered under their new stat, so
        a batch holds at most REFRESHED_PER_BATCH of them (a mirror downloaded again is a
        million of them)."""
        if refreshed is None:
            return
        yield from self._next()
        self.take_known(refreshed.height)
        self.refreshed += refreshed.height
        self.batch.refreshed_files.append(refreshed)

    def take_record(self, record: SourceRecord) -> Iterator[Batch]:
        yield from self._next()
        self._count(record.source_file)
        add_record(self.batch, record, self.election_year)

    def take(self, outcomes: list[tuple], frames: dict[str, pl.DataFrame] | None) -> Iterator[Batch]:
        """The outcomes of one task in read order, with the frames of the rows they parsed.

        A version's rows come once per batch, like `parse_document` into one Rows: the rows of a
        version an earlier task of the batch parsed are left out, and a task cut by the end of a
        batch gives each of the two batches the rows of the versions it observes.
        """
        fresh: set[str] = set()  # versions of this task's part of the batch whose rows it adds
        for outcome in outcomes:
            if self._full():
                self._add_rows(frames, fresh)
                fresh = set()
                yield self._new_batch()
            self._count(outcome[1])
            apply_outcome(self.batch, outcome, fresh)
        self._add_rows(frames, fresh)

    def _add_rows(self, frames: dict[str, pl.DataFrame] | None, fresh: set[str]) -> None:
        if not fresh or frames is None:
            return
        if len(fresh) < frames["raw_documents"].height:
            keep = pl.col("version_id").is_in(list(fresh))
            frames = {table: frame.filter(keep) for table, frame in frames.items()}
        self.batch.add_part(frames)


def add_record(batch: Batch, record: SourceRecord, election_year: int) -> None:
    apply_outcome(batch, record_outcome(record, election_year, batch.rows))


def apply_outcome(batch: Batch, outcome: tuple, fresh: set[str] | None = None) -> None:
    """Count one record into the batch. Its rows are in `batch.rows` already (`fresh` is None)
    or in a worker's frames: then its version goes to `fresh` if the batch has no rows for it."""
    batch.records_read += 1
    kind = outcome[0]
    if kind == "quarantine":
        batch.quarantine.append(outcome[2])
    else:
        observation = outcome[2]
        if fresh is not None and observation["version_id"] not in batch.rows.versions:
            batch.rows.versions.add(observation["version_id"])
            fresh.add(observation["version_id"])
        observation["position"] = len(batch.observations)
        batch.observations.append(observation)


def record_outcome(record: SourceRecord, election_year: int, rows: Rows) -> tuple:
    """What one record becomes: ("quarantine", file, row) or ("observed", file, observation
    without its position); a parsed document's rows go to `rows` (once per version). (A mirror
    file whose bytes are a known version never gets here: parse_files.)"""
    where = {"source_file": record.source_file, "source_path": record.source_path, "locator": record.locator}
    if record.error:
        return ("quarantine", record.source_file, where | {"node_code": None, "rule": record.error_rule, "reason": record.error, "excerpt": None})
    node_code = record.source_path.rsplit("/", 1)[-1].removesuffix(".json")
    try:
        payload = record.body if record.decoded else orjson.loads(record.body)
    except orjson.JSONDecodeError as exc:
        excerpt = bytes(record.body[:EXCERPT_CHARS]).decode("utf-8", "replace")
        return ("quarantine", record.source_file,
                where | {"node_code": node_code, "rule": "not_json", "reason": f"not valid JSON: {exc}", "excerpt": excerpt})  # fmt: skip
    try:
        _, vid = parse_document(record.source_path, payload, election_year, rows, raw=None if record.decoded else record.body)
    except StructuralError as exc:
        excerpt = orjson.dumps(payload)[:EXCERPT_CHARS].decode("utf-8", "replace")
        return ("quarantine", record.source_file, where | {"node_code": node_code, "rule": exc.rule, "reason": exc.reason, "excerpt": excerpt})
    return ("observed", record.source_file, where | {"version_id": vid, "node_code": node_code, "stat": record.stat})


Parsed = tuple[list, dict[str, pl.DataFrame] | None, pl.DataFrame | None]


def parse_files(files: pl.DataFrame, prefix: int, hashing: bool, election_year: int) -> Parsed:
    """Read and parse mirror files (a part of flows/sources/mirror.py Reads.files: a worker's
    task): their outcomes in order (None for a file whose bytes are the version the warehouse
    holds from it), the rows they parsed as raw table frames (None if none, each version once),
    and the new stats of the known files (FILE_SCHEMA; None if none): one frame, not a tuple a
    file to hand back and count one by one."""
    rows = Rows()
    outcomes, known = [], []
    for task in file_tasks(files, prefix, hashing):
        record = read_file(task)
        if record.known_version is not None:
            known.append((record.source_file, *record.stat, record.known_version))
            outcomes.append(None)
        else:
            outcomes.append(record_outcome(record, election_year, rows))
    refreshed = pl.DataFrame(known, schema=FILE_SCHEMA, orient="row") if known else None
    return outcomes, (to_frames(rows) if rows.documents else None), refreshed


class _Parsers:
    """Turns a mirror's reads into task outcomes, in read order: in this process, or in worker
    processes once enough files are to be parsed. Workers are started by forkserver, never
    forked from this process (its DuckDB and polars threads would deadlock a forked child)."""

    def __init__(self, election_year: int, workers: int):
        self.election_year = election_year
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Parsers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def executor(self) -> tuple[ProcessPoolExecutor, int]:
        """The workers, started if they are not (a listing shares a national mirror out too)."""
        if self.pool is None:
            self._start()
        return self.pool, self.workers

    def parse(self, reads: Reads) -> Iterator[Parsed]:
        # Each entry: a part of the reads (the records the walk decided, then the files to
        # parse), and the parse of its files: pending (None), in a worker (a Future) or done.
        queue: deque[list] = deque()
        waiting = 0  # files queued while the pool is not started
        for records, files in reads.parts(FILES_PER_TASK):
            queue.append([records, files, None])
            if self.pool is None:
                waiting += files.height
                if self.workers > 1 and waiting >= PARALLEL_MIN_FILES:
                    self._start()
            if self.pool is not None:
                self._submit(queue, reads)
                while len(queue) > self.workers * TASKS_IN_FLIGHT:
                    yield self._finish(queue.popleft(), reads)
            else:
                # Until there is enough to parse to be worth the workers, parse here what would
                # otherwise pile up: records the walk decided, and tasks past a few.
                while queue and (not queue[0][1].height or self.workers <= 1 or len(queue) > PARALLEL_MIN_FILES // FILES_PER_TASK + 1):
                    waiting -= queue[0][1].height
                    yield self._finish(queue.popleft(), reads)
        if self.pool is not None:
            self._submit(queue, reads)
        while queue:
            yield self._finish(queue.popleft(), reads)

    def _start(self) -> None:
        context = multiprocessing.get_context("forkserver")
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def _submit(self, queue: deque[list], reads: Reads) -> None:
        for entry in queue:
            if entry[2] is None and entry[1].height:
                entry[2] = self.pool.submit(parse_files, entry[1], reads.prefix, reads.hashing, self.election_year)

    def _finish(self, entry: list, reads: Reads) -> Parsed:
        """The part's outcomes in read order, without the known files' (they are in its frame
        of refreshed stats), its rows and that frame."""
        records, files, parsed = entry
        if not files.height:
            outcomes, frames, refreshed = [], None, None
        elif isinstance(parsed, Future):
            outcomes, frames, refreshed = parsed.result()
        else:
            outcomes, frames, refreshed = parse_files(files, reads.prefix, reads.hashing, self.election_year)
        if refreshed is not None:
            outcomes = [o for o in outcomes if o is not None]
        if records:
            outcomes = [record_outcome(record, self.election_year, None) for record in records] + outcomes
        return outcomes, frames, refreshed


def files_below(path: Path) -> int:
    """How many mirror files a source holds (0 for a dump or crawl index: their records are
    lines, counted as they are read): the load's progress plan, on a terminal only."""
    if not is_mirror(path):
        return 0
    return sum(1 for _, _, names in os.walk(path, followlinks=True) for name in names
               if name.lower().endswith((".json", ".json.gz")))  # fmt: skip
