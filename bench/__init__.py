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
