"""The nightly flow: pull raw exports -> validate -> load -> build models -> audit.

Thin on purpose: each task opens the warehouse from its path and calls one plain function
that tests call directly. Logic lives in flows/batch.py, schemas/, warehouse/.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from flows.settings import prefect_environment

prefect_environment()

from prefect import flow, get_run_logger, task  # noqa: E402  (Prefect reads its settings at import)
from prefect.cache_policies import NO_CACHE  # noqa: E402

from warehouse import models  # noqa: E402
from warehouse.db import connect, ensure_schema  # noqa: E402
from warehouse.load import LoadResult, finish_run, ingest, new_run_id, start_run  # noqa: E402


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    warehouse: str
    load: LoadResult
    models_built: int
    audits_passed: int


@task(name="load sources", cache_policy=NO_CACHE)
def load_task(warehouse: Path, run_id: str, sources: list[Path], election_year: int) -> LoadResult:
    with connect(warehouse) as con:
        return ingest(con, run_id, sources, election_year)


@task(name="build models", cache_policy=NO_CACHE)
def build_task(warehouse: Path) -> int:
    with connect(warehouse) as con:
        return len(models.build(con))


@task(name="run audits", cache_policy=NO_CACHE)
def audit_task(warehouse: Path) -> int:
    with connect(warehouse) as con:
        results = models.run_audits(con)
    failure = models.audit_failures(results)
    if failure:
        raise models.ModelError(failure)
    return len(results)


@flow(name="rekap-nightly", log_prints=True)
def nightly(sirekap: list[Path], warehouse: Path, election_year: int = 2024) -> RunSummary:
    """Load SIREKAP mirrors and dumps into the warehouse and rebuild every model."""
    warehouse = Path(warehouse)
    run_id = new_run_id()
    with connect(warehouse) as con:
        ensure_schema(con)
        start_run(con, run_id, [str(Path(p).resolve()) for p in sirekap])
    try:
        loaded = load_task(warehouse, run_id, [Path(p) for p in sirekap], election_year)
        built = build_task(warehouse)
        audited = audit_task(warehouse)
    except BaseException as exc:
        with connect(warehouse) as con:
            finish_run(con, run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    with connect(warehouse) as con:
        finish_run(con, run_id, "succeeded")
    summary = RunSummary(run_id, str(warehouse), loaded, built, audited)
    get_run_logger().info("run finished: %s", asdict(summary))
    return summary
