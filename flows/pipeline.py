"""One night of rekap, as one plain function: settings in, summary out, no Prefect.

    [crawl the API] -> read + parse (flows/) -> validate (schemas/) -> load (warehouse/load.py)
    -> count files -> build the models (sql/) -> audits -> commit = publish -> storage upkeep

The Prefect flow (flows/nightly.py), the CLI, the tests and the bench all call `run_night`.
Everything between reading and publishing happens in ONE lake transaction: readers see the
last committed snapshot until the commit, then the whole run at once; a run that fails or is
killed leaves the published state exactly as it was (a failed run adds only its `runs` row).
On a PostgreSQL catalog shared by several machines a commit that meets a concurrent run's
commit is refused as a conflict and the night is run again on the new state, never lost.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from flows.batch import files_below, iter_batches
from flows.progress import StepProgress
from flows.settings import CrawlSettings, Settings
from flows.sources.count_files import CountFiles
from schemas.raw import validate_rows
from schemas.rules import load_rules
from warehouse import models, publish, storage
from warehouse.checkpoints import pause_point
from warehouse.counts import CountLoadResult, ingest_counts
from warehouse.db import ensure_schema
from warehouse.load import LoadResult, count_known, finish_run, held_files, holds_files, load_batch, loaded_sources, new_run_id, start_run

log = logging.getLogger("rekap")
CONFLICT_RETRIES = 5


class RunFailed(RuntimeError):
    """A night that did not publish (recorded in `runs` as `run_id`); the message says what failed."""

    def __init__(self, message: str, run_id: str):
        super().__init__(message)
        self.run_id = run_id


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    warehouse: str
    load: LoadResult
    models_built: int
    audits_passed: int
    counts: CountLoadResult | None = None
    crawl: object | None = None  # flows.sources.api.CrawlSummary
    snapshot: int | None = None  # the lake snapshot that published the run
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step
    attempts: int = 1  # > 1 when a concurrent commit (or DuckDB's memory limit) made the night run again
    memory_limit: str | None = None  # DuckDB's limit the night published with (raised after running out)


class _Clock:
    """Wall time per step, for the summary and the bench."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._last
        self._last = now


def run_night(settings: Settings, build_models: bool = True, on_crawl: Callable | None = None) -> RunSummary:
    """Run one night on `settings` and publish it; raise RunFailed (after recording the failed
    run) when it cannot. `build_models=False` loads the raw layer only (tests of loading).
    `on_crawl(crawl_settings) -> CrawlSummary` replaces the plain crawl (the flow passes its
    Prefect task, which retries)."""
    location = settings.location()
    location.check(must_exist=False)
    load_rules(settings.rules)  # a bad rule pack stops the night before anything is read
    clock = _Clock()
    with storage.writer_lock(location):
        crawled = None
        if settings.crawl is not None:
            try:
                crawled = (on_crawl or crawl)(settings.crawl)
            except BaseException as exc:  # a night the API did not answer is a failed night, on record
                raise _failed(location, new_run_id(), exc) from exc
            clock.lap("crawl")
        memory_limit = settings.memory_limit
        for attempt in range(1, CONFLICT_RETRIES + 1):
            run_id = new_run_id()
            try:
                # The spill folder outlives the connection: closed (and rolled back) first.
                with storage.spill_folder() as spill, storage.connect(location) as con:
                    storage.bound_memory(con, memory_limit, spill)
                    summary = _publish_night(con, settings, location, run_id, clock, build_models)
                return dataclasses.replace(summary, crawl=crawled, attempts=attempt, memory_limit=memory_limit)
            except BaseException as exc:
                # The connection is closed here: its transaction is rolled back and its locks gone.
                if storage.is_conflict(exc) and attempt < CONFLICT_RETRIES:
                    log.warning("run %s: a concurrent run committed first; running the night again on its result", run_id)
                    time.sleep(random.uniform(0.1, 1.0) * attempt)
                    continue
                # What DuckDB cannot spill (an ordered aggregate, as int_rule_rollup's over every
                # node of a national election was) must fit in memory: a night is not lost to a
                # limit set for ordinary nights while the machine has more.
                raised = storage.is_out_of_memory(exc) and storage.raised_memory_limit(memory_limit)
                if raised and attempt < CONFLICT_RETRIES:
                    log.warning("run %s: DuckDB needed more than %s of memory; running the night again with %s "
                                "(set REKAP_MEMORY_LIMIT to start there)", run_id, memory_limit, raised)  # fmt: skip
                    memory_limit = raised
                    continue
                raise _failed(location, run_id, exc) from exc
    raise AssertionError("unreachable")


def _publish_night(con: duckdb.DuckDBPyConnection, settings: Settings, location: storage.Location, run_id: str,
                   clock: _Clock, build_models: bool) -> RunSummary:  # fmt: skip
    sources = list(settings.sirekap)
    con.begin()
    ensure_schema(con)
    start_run(con, run_id, [str(Path(p).resolve()) for p in sources])
    if settings.crawl is not None:
        sources += crawls_to_load(con, settings.crawl.archive)
    loaded = ingest(con, run_id, sources, settings.election_year, settings.chunk_records)
    clock.lap("read + validate + load")
    counted = None
    if settings.internal or settings.official:
        # After SIREKAP: a count file is checked against the regions and candidates just loaded.
        counted = ingest_counts(con, run_id, list(settings.internal), list(settings.official), CountFiles(settings.columns),
                                settings.election_year)  # fmt: skip
        clock.lap("count files")
    built = audited = 0
    if build_models:
        inputs = models.build_inputs(con, rules_path=settings.rules)
        changed = None if settings.full_rebuild else models.changed_inputs(con, inputs)
        since = None if changed is None else models.built_through(con)
        rebuilt = models.build(con, rules_path=settings.rules, changed=changed, since=since)
        built = len(rebuilt)
        models.record_build(con, run_id, inputs, built)
        clock.lap("models")
        results = models.run_audits(con, changed=None if changed is None else changed | {m.name for m in rebuilt})
        failure = models.audit_failures(results)
        if failure:
            raise models.ModelError(failure)
        audited = len(results)
        clock.lap("audits")
    finish_run(con, run_id, "succeeded")
    pause_point("publish")  # everything written, nothing committed
    snapshot = publish.commit_run(con, run_id)
    clock.lap("commit")
    publish.maintain(con, settings.keep_nights)
    clock.lap("storage upkeep")
    return RunSummary(run_id, str(location), loaded, built, audited, counted, None, snapshot, dict(clock.seconds))


def _failed(location: storage.Location, run_id: str, exc: BaseException) -> BaseException:
    """Record the failed run on top of the last published state; the error to raise."""
    error = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, KeyboardInterrupt):
        error = "interrupted (Ctrl-C); the next run starts over from the last published state"
    try:
        publish.record_failed_run(location, run_id, error)
    except Exception as record_exc:  # the warehouse itself is unusable: the original error matters more
        log.warning("could not record failed run %s: %s", run_id, record_exc)
    if isinstance(exc, KeyboardInterrupt):
        return exc
    return RunFailed(str(exc), run_id)


def ingest(con: duckdb.DuckDBPyConnection, run_id: str, sources: list, election_year: int,
           chunk_records: int | None = 50_000) -> LoadResult:  # fmt: skip
    """Read, validate and load every source of a run, one batch of at most `chunk_records`."""
    totals = LoadResult(0, 0, 0, 0, 0)
    progress = StepProgress("load", "records")  # drawn on a terminal only
    if progress.shown:
        progress.plan(sum(files_below(p) for p in sources))
    try:
        held, holds_any = (lambda root: held_files(con, root)), (lambda root: holds_files(con, root))
        for number, batch in enumerate(iter_batches(sources, election_year, chunk_records, held=held, holds_any=holds_any)):
            if number == 0:
                con.execute("update runs set sources = ? where run_id = ?", [batch.sources, run_id])
            if batch.observations or batch.quarantine or batch.refreshed_files:
                validated = validate_rows(batch.frames())
                batch.quarantine_versions(validated.rejected)
                loaded = load_batch(con, run_id, validated.frames, batch.observations, batch.quarantine, batch.files_read,
                                    batch.records_read, batch.known_records, batch.refreshed_files)  # fmt: skip
            else:  # every record a file the warehouse holds as it is: counted, nothing to insert
                loaded = count_known(con, run_id, batch.files_read, batch.records_read, batch.known_records)
            totals = LoadResult(*(a + b for a, b in zip(dataclasses.astuple(totals), dataclasses.astuple(loaded))))
            progress.advance(failed=totals.records_quarantined, steps=batch.records_read)
    finally:
        progress.close()
    return totals


def crawl(settings: CrawlSettings):
    """Crawl the API into the archive (outside the lake transaction: the archive is its own
    progress log); a root node that cannot be read fails the night."""
    from flows.sources import api

    summary = api.crawl(settings.target(), settings.archive, settings.policy(), full=settings.full, max_requests=settings.max_requests)
    log.log(logging.INFO if summary.finished and not summary.failed else logging.WARNING, summary.describe())
    root_failure = summary.root_failure()
    if root_failure:  # nothing of the tree came: a failed night, not a quiet one
        raise api.CrawlError(f"crawl {summary.crawl_id}: {summary.root} could not be read: {root_failure}")
    return summary


def crawls_to_load(con: duckdb.DuckDBPyConnection, archive: Path) -> list[Path]:
    """The archive's finished crawls that no succeeded run of this warehouse has loaded, oldest
    first: tonight's, and any whose run failed after crawling (their changes are not in the
    next crawl, which only fetches what changed since)."""
    from flows.sources.archive import Archive

    loaded = loaded_sources(con)
    finished = [c.index.resolve() for c in Archive(archive).crawls() if c.finished]
    return [index for index in finished if str(index) not in loaded]

