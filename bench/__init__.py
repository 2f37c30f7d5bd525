"""`make bench`: what a night costs (bench/__main__.py)."""

from __future__ import annotations

import resource
import time
from pathlib import Path


def one_night(warehouse: str, mirror: str, queue) -> None:
    """Run one night through `run_night` in this (spawned) process; its figures go to `queue`.
    Here, not in bench/__main__.py: a spawned process finds its target by its module's name."""
    from flows.pipeline import run_night
    from flows.settings import Settings

    started = time.perf_counter()
    summary = run_night(Settings(warehouse=Path(warehouse), sirekap=(Path(mirror),)))
    queue.put({
        "seconds": time.perf_counter() - started, "steps": summary.seconds, "records": summary.load.records_read,
        "versions_new": summary.load.versions_new, "models_built": summary.models_built,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })  # fmt: skip


def flow_night(warehouse: str, mirror: str, queue) -> None:
    """The same night through the Prefect flow `rekap run` calls (flows/nightly.py), in this
    (spawned) process: its wall time, Prefect's import, and the pipeline function's own seconds
    inside it. The rest is what the flow adds around the night (Prefect's temporary server, the
    flow and task runs, the artifacts), which the bench reports apart from the ratios."""
    started = time.perf_counter()
    from flows.nightly import nightly  # Prefect and its settings with it

    imported = time.perf_counter()
    summary = nightly([Path(mirror)], warehouse)
    queue.put({
        "seconds": time.perf_counter() - started, "import_s": imported - started, "night_s": sum(summary.seconds.values()),
        "records": summary.load.records_read, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })  # fmt: skip
