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


def write_json(path: Path, payload) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload if isinstance(payload, bytes) else orjson.dumps(payload))
    return path


def load_and_build(warehouse: Path, *sources: Path, election_year: int = 2024):
    """The flow's steps as plain calls (no Prefect): for fast tests of loading and models.

    Returns an open read-write connection; the caller closes it.
    """
    from warehouse import models
    from warehouse.db import connect, ensure_schema
    from warehouse.load import finish_run, ingest, new_run_id, start_run

    con = connect(warehouse)
    ensure_schema(con)
    run_id = new_run_id()
    start_run(con, run_id, [str(s) for s in sources])
    ingest(con, run_id, list(sources), election_year)
    finish_run(con, run_id, "succeeded")
    models.build(con)
    return con


def mini_race():
    """A small synthetic Pilkada race for crawl tests: 2 kab/kota, 4 kecamatan, 8 kelurahan,
    24 TPS; 47 endpoint files (1 candidate master, 7 region lists, 15 aggregates, 24 TPS)."""
    from flows.sources.demo import Candidate, KabKota, Kecamatan, RaceSpec

    return RaceSpec(
        election="pilkada",
        contest="pkwkp",
        province_code="99",
        province_name="DEMO",
        candidates=(Candidate("7", 1, "PAIR A", "#111111"), Candidate("5", 2, "PAIR B", "#222222")),
        kabkota=(
            KabKota("9901", "KAB DEMO", {"7": 1_200, "5": 1_600}, (Kecamatan("990101", "SATU", 5), Kecamatan("990102", "DUA", 6))),
            KabKota("9971", "KOTA DEMO", {"7": 2_000, "5": 1_500}, (Kecamatan("997101", "TIGA", 6), Kecamatan("997102", "EMPAT", 7))),
        ),
        kelurahan_total=8,
        invalid_votes=150,
        dpt_total=10_000,
        ts="2024-11-28 01:00:00",
    )


def load_only(warehouse: Path, *sources: Path, election_year: int = 2024):
    """Read, validate and load sources into the raw layer (no models): an open connection."""
    from warehouse.db import connect, ensure_schema
    from warehouse.load import finish_run, ingest, new_run_id, start_run

    con = connect(warehouse)
    ensure_schema(con)
    run_id = new_run_id()
    start_run(con, run_id, [str(s) for s in sources])
    ingest(con, run_id, list(sources), election_year)
    finish_run(con, run_id, "succeeded")
    return con
