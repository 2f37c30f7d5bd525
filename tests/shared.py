"""Paths to the real data beside the clone, and small helpers tests share."""

from __future__ import annotations

from pathlib import Path

import orjson

from flows.settings import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
KALTIM = SHARED_DATA / "sirekap" / "pilkada2024-kaltim"
KALTIM_0100 = KALTIM / "2024-11-28T01-00"
KALTIM_1015 = KALTIM / "2024-11-28T10-15"
SERIBU = SHARED_DATA / "sirekap" / "pemilu2024-kepulauan-seribu"
WILAYAH_KALTIM = SHARED_DATA / "wilayah" / "pemilu2024-kaltim"
OFFICIAL_RECAP = SHARED_DATA / "kpu-rekap" / "kaltim-pilgub2024-dhasil-prov.csv"
CLAIM = SHARED_DATA / "internal-count" / "kaltim-pilgub2024-claim-rudy-seno.csv"


def write_json(path: Path, payload) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload if isinstance(payload, bytes) else orjson.dumps(payload))
    return path


def load_and_build(warehouse: Path, *sources: Path, election_year: int = 2024, internal=(), official=(), columns: Path | None = None):
    """The flow's steps as plain calls (no Prefect): for fast tests of loading and models.

    Returns an open read-write connection; the caller closes it.
    """
    from warehouse import models
    from warehouse.counts import ingest_counts
    from warehouse.db import connect, ensure_schema
    from warehouse.load import finish_run, ingest, new_run_id, start_run

    con = connect(warehouse)
    ensure_schema(con)
    run_id = new_run_id()
    start_run(con, run_id, [str(s) for s in sources])
    ingest(con, run_id, list(sources), election_year)
    if internal or official:
        ingest_counts(con, run_id, list(internal), list(official), columns, election_year)
    finish_run(con, run_id, "succeeded")
    models.build(con)
    return con
