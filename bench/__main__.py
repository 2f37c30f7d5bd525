"""Speed and memory of one run at scale: `make bench` (or `python -m bench --tps 823236`).

Generates a synthetic SIREKAP mirror with the demo generator (Kaltim's real structure, copied
under other region codes until it holds --tps TPS), then times each step of a run as plain
calls, without Prefect: read + parse, validate, load, build models, audits. Prints seconds,
records per second and peak memory, and compares with bench/baseline.json when it exists.
Run by hand, not by `make test`: timings move with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from flows.sources.demo import KALTIM_2024, KabKota, Kecamatan, RaceSpec, generate_mirror
from warehouse import models
from warehouse.db import connect, ensure_schema
from warehouse.load import finish_run, ingest, new_run_id, start_run

BASELINE = Path(__file__).with_name("baseline.json")
PROVINCE_CODES = [f"{n}" for n in range(11, 100)]


def scaled_spec(province_code: str, copies: int) -> RaceSpec:
    """Kaltim's ten kab/kota copied `copies` times (<= 10) into one synthetic province."""
    kabkota = []
    for copy in range(copies):
        for index, kab in enumerate(KALTIM_2024.kabkota):
            code = f"{province_code}{copy}{index}"
            kecamatan = tuple(Kecamatan(code + k.code[4:], k.name, k.tps) for k in kab.kecamatan)
            kabkota.append(KabKota(code, f"{kab.name} {copy}", dict(kab.votes), kecamatan))
    return replace(
        KALTIM_2024,
        province_code=province_code,
        province_name=f"PROVINSI {province_code}",
        kabkota=tuple(kabkota),
        kelurahan_total=KALTIM_2024.kelurahan_total * copies,
        invalid_votes=KALTIM_2024.invalid_votes * copies,
        dpt_total=KALTIM_2024.dpt_total * copies,
    )


def build_mirror(root: Path, tps: int) -> tuple[int, float]:
    per_copy = KALTIM_2024.tps_total
    copies_needed = max(1, round(tps / per_copy))
    started = time.perf_counter()
    written = 0
    for n, province in enumerate(PROVINCE_CODES):
        if copies_needed <= 0:
            break
        copies = min(10, copies_needed)
        manifest = generate_mirror(scaled_spec(province, copies), root / province, seed=2024 + n)
        written += manifest.tps_total
        copies_needed -= copies
    return written, time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--tps", type=int, default=100_000, help="TPS in the synthetic mirror (national: 823236).")
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"), help="Where the mirror and warehouse go.")
    parser.add_argument("--chunk", type=int, default=50_000, help="Records loaded per batch (memory bound).")
    parser.add_argument("--save-baseline", action="store_true", help="Write this run's figures to bench/baseline.json.")
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    mirror, warehouse = args.workdir / "mirror", args.workdir / "bench.duckdb"
    # Generated in a child process, so the peak memory reported below is the run's alone.
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
        tps, generate_s = pool.submit(build_mirror, mirror, args.tps).result()
    print(f"mirror: {tps:,} TPS generated in {generate_s:.1f} s (not part of the run)")

    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    with connect(warehouse) as con:
        ensure_schema(con)
        run_id = new_run_id()
        start_run(con, run_id, [])
        loaded = ingest(con, run_id, sorted(p for p in mirror.iterdir()), 2024, chunk_records=args.chunk)
        finish_run(con, run_id, "succeeded")
        step("read + parse + validate + load")
        models.build(con)
        step("build models")
        failure = models.audit_failures(models.run_audits(con))
        step("audits")
    total = sum(steps.values())
    results = {
        "tps": tps, "records": loaded.records_read, "seconds": {k: round(v, 2) for k, v in steps.items()},
        "total_seconds": round(total, 2), "records_per_second": round(loaded.records_read / total),
        "peak_rss_mb": round(peak_rss_mb()), "warehouse_mb": round(warehouse.stat().st_size / 2**20),
    }  # fmt: skip
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    print(f"{'step':<32}{'seconds':>10}{'baseline':>10}")
    for name, seconds in steps.items():
        base = baseline["seconds"].get(name) if baseline and baseline["tps"] == tps else None
        print(f"{name:<32}{seconds:>10.2f}{'' if base is None else f'{base:>10.2f}'}")
    print(f"{'total':<32}{total:>10.2f}")
    print(f"{loaded.records_read:,} records, {results['records_per_second']:,} records/s, "
          f"peak memory {results['peak_rss_mb']:,} MB, warehouse {results['warehouse_mb']:,} MB")  # fmt: skip
    if failure:
        print(f"audits failed:\n{failure}", file=sys.stderr)
        sys.exit(1)
    if args.save_baseline:
        BASELINE.write_text(json.dumps(results, indent=2) + "\n")
        print(f"baseline saved to {BASELINE}")


if __name__ == "__main__":
    main()
