"""The nightly Prefect flow: `flows.pipeline.run_night`, plus what Prefect adds to it.

Prefect adds retries of the crawl (a task), the schedule (`rekap serve`), the UI's run history,
and the artifacts: the data-quality summary and the reconciliation report, under stable keys so
each run adds a version in one place. The night itself is the plain function.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flows.settings import CrawlSettings, Settings, prefect_environment

prefect_environment()

from prefect import flow, get_run_logger, task  # noqa: E402  (Prefect reads its settings at import)
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from flows import pipeline  # noqa: E402
from flows.pipeline import RunSummary  # noqa: E402,F401  (callers import it from here too)
from flows.run_name import run_name  # noqa: E402
from report.data import collect  # noqa: E402
from report.render import render_markdown  # noqa: E402
from warehouse.db import connect  # noqa: E402
from warehouse.quality import quality_summary  # noqa: E402

REPORT_ARTIFACT = "rekap-report"
RACES_ARTIFACT = "rekap-races"
QUALITY_ARTIFACT = "rekap-data-quality"


@task(name="crawl SIREKAP API", cache_policy=NO_CACHE)
def crawl_task(crawl: CrawlSettings):
    return pipeline.crawl(crawl)


@task(name="publish artifacts", cache_policy=NO_CACHE)
def artifacts_task(warehouse: str, data_path: str | None) -> str:
    with connect(warehouse, read_only=True, data_path=data_path) as con:
        con.begin()  # the three artifacts read one snapshot
        quality = quality_summary(con)
        report = collect(con, str(warehouse))
    create_markdown_artifact(key=QUALITY_ARTIFACT, markdown=quality, description="Data-quality findings per rule")
    create_markdown_artifact(key=RACES_ARTIFACT, markdown=render_markdown(report, races_only=True), description="Leader, margin per source and verdict for every race")
    create_markdown_artifact(key=REPORT_ARTIFACT, markdown=render_markdown(report), description="The reconciliation report: races, kab/kota, discrepancies, data quality")
    return quality


def _flow_run_name() -> str:
    """`demo <- sirekap, sirekap-later, kaltim-internal-count.csv`: which warehouse, from what."""
    from prefect.runtime import flow_run

    p = flow_run.parameters
    crawl = [p["crawl"]["base_url"]] if p.get("crawl") else []
    warehouse = str(p["warehouse"])
    shown = "shared-lake" if warehouse.startswith("ducklake:postgres:") else warehouse
    return run_name(shown, [*crawl, *(p.get("sirekap") or []), *(p.get("internal") or []), *(p.get("official") or [])])


@flow(name="rekap-nightly", log_prints=True, flow_run_name=_flow_run_name)
def nightly(
    sirekap: list[Path] | None,
    warehouse: str,
    election_year: int = 2024,
    rules: Path | None = None,
    internal: list[Path] | None = None,
    official: list[Path] | None = None,
    columns: Path | None = None,
    crawl: dict[str, Any] | None = None,
    data_path: str | None = None,
    full_rebuild: bool = False,
) -> RunSummary:
    """Crawl the SIREKAP API (if given), load it with any SIREKAP mirrors, dumps and count files,
    rebuild every model and publish the warehouse (flows.pipeline.run_night); then publish the
    data-quality summary and the reconciliation report as artifacts.

    `warehouse` is a catalog file or `ducklake:postgres:<dsn>` (then `data_path` is required);
    `rules` the data-quality rule pack (None: $REKAP_RULES, else schemas/rules.toml).
    """
    # A plain dict (CrawlSettings' fields) so a scheduled deployment can carry it as JSON.
    crawl_settings = CrawlSettings(**{**crawl, "archive": Path(crawl["archive"])}) if crawl else None
    settings = Settings.from_env(
        warehouse=warehouse, data_path=data_path, sirekap=sirekap or (), election_year=election_year, rules=rules,
        internal=internal or (), official=official or (), columns=columns, crawl=crawl_settings, full_rebuild=full_rebuild,
    )  # fmt: skip
    retried_crawl = None
    if crawl_settings is not None:
        retried_crawl = crawl_task.with_options(retries=crawl_settings.task_retries, retry_delay_seconds=crawl_settings.task_retry_delay)
    summary = pipeline.run_night(settings, on_crawl=retried_crawl)
    logger = get_run_logger()
    logger.info("run finished: %s", {k: v for k, v in asdict(summary).items() if k != "crawl"})
    quality = artifacts_task(str(warehouse), data_path)
    logger.log(logging.INFO, "%s", quality)
    print(quality)
    return summary


def rebuild_from_archive(archive: Path, warehouse: Path) -> list[RunSummary]:
    """Rebuild a warehouse from a crawl archive alone: one night per finished crawl, oldest first,
    as the nightly runs loaded them, into a new warehouse (which must not exist yet)."""
    from flows.sources import api
    from flows.sources.archive import Archive

    crawls = [c for c in Archive(archive).crawls() if c.finished]
    if not crawls:
        raise ValueError(f"{archive}: no finished crawl to rebuild from")
    summaries = []
    for found in crawls:
        year = int(api.ELECTION_ID.match(found.header["election"]).group(2))
        summaries.append(pipeline.run_night(Settings(warehouse=warehouse, sirekap=(found.index,), election_year=year)))
    return summaries
