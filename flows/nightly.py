"""The nightly flow: [crawl the API ->] pull raw exports -> validate -> load -> build models -> audit -> report -> publish.

Thin on purpose: each task opens the run's staging warehouse from its path and calls one plain
function that tests call directly. Logic lives in flows/sources/api.py (the crawl),
flows/batch.py, schemas/, warehouse/.
The published warehouse is only ever replaced whole (warehouse/publish.py).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any
from pathlib import Path

from flows.settings import CrawlSettings, Settings, prefect_environment

prefect_environment()

from prefect import flow, get_run_logger, task  # noqa: E402  (Prefect reads its settings at import)
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from report.data import collect  # noqa: E402
from report.render import render_markdown  # noqa: E402
from flows.sources import api  # noqa: E402
from flows.sources.archive import Archive  # noqa: E402
from warehouse import models, publish  # noqa: E402
from warehouse.counts import CountLoadResult, ingest_counts  # noqa: E402
from warehouse.db import connect, ensure_schema  # noqa: E402
from warehouse.load import LoadResult, finish_run, ingest, loaded_sources, new_run_id, start_run  # noqa: E402
from warehouse.quality import quality_summary  # noqa: E402

# Stable artifact keys: each run adds a new version under the same key, so the Prefect UI shows
# the latest report and its history in one place.
REPORT_ARTIFACT = "rekap-report"
RACES_ARTIFACT = "rekap-races"
from warehouse.load import LoadResult, finish_run, ingest, loaded_sources, new_run_id, start_run  # noqa: E402


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    warehouse: str
    load: LoadResult
    models_built: int
    audits_passed: int
    counts: CountLoadResult | None = None
    crawl: api.CrawlSummary | None = None


def crawls_to_load(staging: Path, archive: Path) -> list[Path]:
    """The archive's finished crawls that no succeeded run of this warehouse has loaded, oldest
    first: tonight's, and any whose run failed after crawling (their changes are not in the
    next crawl, which only fetches what changed since)."""
    with connect(staging) as con:
        loaded = loaded_sources(con)
    finished = [c.index.resolve() for c in Archive(archive).crawls() if c.finished]
    return [index for index in finished if str(index) not in loaded]


@task(name="crawl SIREKAP API", cache_policy=NO_CACHE)
def crawl_task(crawl: CrawlSettings) -> api.CrawlSummary:
    summary = api.crawl(crawl.target(), crawl.archive, crawl.policy(), full=crawl.full, max_requests=crawl.max_requests)
    level = logging.INFO if summary.finished and not summary.failed else logging.WARNING
    get_run_logger().log(level, summary.describe())
    root_failure = summary.root_failure()
    if root_failure:  # nothing of the tree came: a failed night, not a quiet one
        raise api.CrawlError(f"crawl {summary.crawl_id}: {summary.root} could not be read: {root_failure}")
    return summary


@task(name="load sources", cache_policy=NO_CACHE)
def load_task(staging: Path, run_id: str, sources: list[Path], election_year: int) -> LoadResult:
    with connect(staging) as con:
        return ingest(con, run_id, sources, election_year)


@task(name="load count files", cache_policy=NO_CACHE)
def counts_task(staging: Path, run_id: str, internal: list[Path], official: list[Path], columns: Path | None, election_year: int) -> CountLoadResult:
    with connect(staging) as con:
        result = ingest_counts(con, run_id, internal, official, columns, election_year)
    for message in result.messages:
        get_run_logger().warning(message)
    return result


@task(name="build models", cache_policy=NO_CACHE)
def build_task(staging: Path, rules: Path | None = None) -> int:
    with connect(staging) as con:
        return len(models.build(con, rules_path=rules))


@task(name="run audits", cache_policy=NO_CACHE)
def audit_task(staging: Path) -> int:
    with connect(staging) as con:
        results = models.run_audits(con)
    failure = models.audit_failures(results)
    if failure:
        raise models.ModelError(failure)
    return len(results)


@task(name="data-quality report", cache_policy=NO_CACHE)
def quality_task(staging: Path) -> str:
    with connect(staging) as con:
        report = quality_summary(con)
    create_markdown_artifact(key="rekap-data-quality", markdown=report, description="Data-quality findings per rule")
    return report


@task(name="publish report", cache_policy=NO_CACHE)
def report_task(staging: Path, warehouse: Path) -> None:
    with connect(staging, read_only=True) as con:
        report = collect(con, str(warehouse))
    create_markdown_artifact(key=RACES_ARTIFACT, markdown=render_markdown(report, races_only=True), description="Leader, margin per source and verdict for every race")
    create_markdown_artifact(key=REPORT_ARTIFACT, markdown=render_markdown(report), description="The reconciliation report: races, kab/kota, discrepancies, data quality")


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(staging: Path, warehouse: Path, run_id: str) -> None:
    with connect(staging) as con:
        finish_run(con, run_id, "succeeded")
    publish.publish(staging, warehouse)


@flow(name="rekap-nightly", log_prints=True)
def nightly(
    sirekap: list[Path] | None,
    warehouse: Path,
    election_year: int = 2024,
    rules: Path | None = None,
    internal: list[Path] | None = None,
    official: list[Path] | None = None,
    columns: Path | None = None,
    crawl: dict[str, Any] | None = None,
) -> RunSummary:
    """Crawl the SIREKAP API (if given) into its archive, load it with any SIREKAP mirrors,
    dumps and count files, rebuild every model, publish the data-quality summary and the
    reconciliation report as artifacts, and the warehouse atomically.

    `rules`: the data-quality rule pack; None takes REKAP_RULES, else schemas/rules.toml.
    """
    warehouse = Path(warehouse)
    rules = rules if rules is not None else Settings.from_env().rules
    # A plain dict (CrawlSettings' fields) so a scheduled deployment can carry it as JSON.
    crawl = CrawlSettings(**{**crawl, "archive": Path(crawl["archive"])}) if crawl else None
    run_id = new_run_id()
    sources = [Path(p) for p in sirekap or []]
    internal = [Path(p) for p in internal or []]
    official = [Path(p) for p in official or []]
    crawled = None
    with publish.writer_lock(warehouse):
        staging = publish.begin(warehouse, run_id)
        try:
            with connect(staging) as con:
                ensure_schema(con)
                start_run(con, run_id, [str(p.resolve()) for p in sources])
            if crawl is not None:
                crawled = crawl_task.with_options(retries=crawl.task_retries, retry_delay_seconds=crawl.task_retry_delay)(crawl)
                sources += crawls_to_load(staging, crawl.archive)
            loaded = load_task(staging, run_id, sources, election_year)
            # After SIREKAP: a count file is checked against the regions and candidates loaded.
            counted = counts_task(staging, run_id, internal, official, columns, election_year) if internal or official else None
            built = build_task(staging, rules)
            audited = audit_task(staging)
            print(quality_task(staging))
            report_task(staging, warehouse)
            publish_task(staging, warehouse, run_id)
        except BaseException as exc:
            # The last good warehouse stays published; only the failed run's row is added to it.
            publish.record_failed_run(warehouse, staging, run_id, f"{type(exc).__name__}: {exc}")
            publish.discard(staging)
            raise
    summary = RunSummary(run_id, str(warehouse), loaded, built, audited, counted, crawled)
    get_run_logger().info("run finished: %s", asdict(summary))
    return summary


def rebuild_from_archive(archive: Path, warehouse: Path) -> list[RunSummary]:
    """Rebuild a warehouse from a crawl archive alone: one nightly run per finished crawl, oldest
    first, as the nightly runs loaded them, into a fresh file published over `warehouse` at the
    end (a failure leaves `warehouse` as it was)."""
    warehouse = Path(warehouse)
    crawls = [c for c in Archive(archive).crawls() if c.finished]
    if not crawls:
        raise ValueError(f"{archive}: no finished crawl to rebuild from")
    fresh = warehouse.with_name(f"{warehouse.name}.rebuild-{new_run_id()}")
    summaries = []
    with publish.writer_lock(warehouse):
        try:
            for found in crawls:
                year = api.ELECTION_ID.match(found.header["election"]).group(2)
                summaries.append(nightly([found.index], fresh, int(year)))
            publish.publish(fresh, warehouse)
        finally:
            publish.discard(fresh)
            fresh.with_name(fresh.name + ".lock").unlink(missing_ok=True)
    return summaries
