"""The nightly flow: pull raw exports -> validate -> load -> build models -> audit -> publish.

Thin on purpose: each task opens the run's staging warehouse from its path and calls one plain
function that tests call directly. Logic lives in flows/batch.py, schemas/, warehouse/.
The published warehouse is only ever replaced whole (warehouse/publish.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from flows.settings import Settings, prefect_environment

prefect_environment()

from prefect import flow, get_run_logger, task  # noqa: E402  (Prefect reads its settings at import)
from prefect.artifacts import create_markdown_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from warehouse import models, publish  # noqa: E402
from warehouse.db import connect, ensure_schema  # noqa: E402
from warehouse.load import LoadResult, finish_run, ingest, new_run_id, start_run  # noqa: E402
from warehouse.quality import quality_summary  # noqa: E402


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    warehouse: str
    load: LoadResult
    models_built: int
    audits_passed: int


@task(name="load sources", cache_policy=NO_CACHE)
def load_task(staging: Path, run_id: str, sources: list[Path], election_year: int) -> LoadResult:
    with connect(staging) as con:
        return ingest(con, run_id, sources, election_year)


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


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(staging: Path, warehouse: Path, run_id: str) -> None:
    with connect(staging) as con:
        finish_run(con, run_id, "succeeded")
    publish.publish(staging, warehouse)


@flow(name="rekap-nightly", log_prints=True)
def nightly(sirekap: list[Path], warehouse: Path, election_year: int = 2024, rules: Path | None = None) -> RunSummary:
    """Load SIREKAP mirrors and dumps, rebuild every model, and publish the warehouse atomically.

    `rules`: the data-quality rule pack; None takes REKAP_RULES, else schemas/rules.toml.
    """
    warehouse = Path(warehouse)
    rules = rules if rules is not None else Settings.from_env().rules
    run_id = new_run_id()
    sources = [Path(p) for p in sirekap]
    with publish.writer_lock(warehouse):
        staging = publish.begin(warehouse, run_id)
        try:
            with connect(staging) as con:
                ensure_schema(con)
                start_run(con, run_id, [str(p.resolve()) for p in sources])
            loaded = load_task(staging, run_id, sources, election_year)
            built = build_task(staging, rules)
            audited = audit_task(staging)
            print(quality_task(staging))
            publish_task(staging, warehouse, run_id)
        except BaseException as exc:
            # The last good warehouse stays published; only the failed run's row is added to it.
            publish.record_failed_run(warehouse, staging, run_id, f"{type(exc).__name__}: {exc}")
            publish.discard(staging)
            raise
    summary = RunSummary(run_id, str(warehouse), loaded, built, audited)
    get_run_logger().info("run finished: %s", asdict(summary))
    return summary
