"""Parsing in worker processes gives exactly the batches parsing in this process gives: same
records in the same order, same versions and rows, same positions, same quarantine."""

from __future__ import annotations

import gzip
import shutil
import threading
from pathlib import Path

import polars as pl
import pytest

from flows import batch as batching
from flows.batch import iter_batches
from flows.pipeline import run_night
from flows.settings import Settings
from flows.sources.mirror import nothing_held
from tests.shared import KALTIM_0100, KALTIM_1015
from warehouse.db import connect

TPS = "pilkada/hhcw/pkwkp/64/6401/640101/6401011001"


def hostile_mirror(root: Path) -> Path:
    """Both Kaltim snapshots (two files byte-identical between them) plus bad files of every
    kind a worker meets: not JSON, a broken gzip, an unknown contest, a negative count."""
    shutil.copytree(KALTIM_0100, root / "a")
    shutil.copytree(KALTIM_1015, root / "b")
    bad = root / "c" / TPS
    bad.mkdir(parents=True)
    (bad / "6401011001001.json").write_bytes(b'{"chart": {"100025": 7,')
    (bad / "6401011001002.json.gz").write_bytes(gzip.compress(b'{"chart": {}}')[:-6])
    (bad / "6401011001003.json").write_bytes(b'{"chart": {"100025": -5}, "administrasi": null}')
    other = root / "c" / "pilkada" / "hhcw" / "pkwkx" / "64.json"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"{}")
    return root


def batches(root: Path, workers: int, chunk_records: int | None) -> list[dict]:
    """Each batch's counts, observations (in read order, with positions), quarantine and rows
    (as sets: a document repeated across a task cut may sit elsewhere in the frame)."""
    out = []
    for b in iter_batches([root], 2024, chunk_records, held=nothing_held, workers=workers):
        frames = b.frames()
        out.append({
            "counts": (b.files_read, b.records_read, b.known_records),
            "observations": b.observations, "quarantine": b.quarantine,
            "frames": {table: frame.sort(frame.columns).to_dicts() for table, frame in frames.items()},
        })  # fmt: skip
    return out


@pytest.mark.parametrize("chunk_records", [None, 7])
def test_workers_give_the_batches_of_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_records) -> None:
    root = hostile_mirror(tmp_path / "mirror")
    sequential = batches(root, 1, chunk_records)
    monkeypatch.setattr(batching, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr(batching, "FILES_PER_TASK", 3)  # tasks cut across batches and across duplicate files
    parallel = batches(root, 2, chunk_records)
    assert parallel == sequential
    quarantine = [q for b in parallel for q in b["quarantine"]]
    assert {(Path(q["source_file"]).name, q["rule"]) for q in quarantine} == {
        ("6401011001001.json", "not_json"), ("6401011001002.json.gz", "unreadable"), ("64.json", "unknown_contest"),
    }  # fmt: skip
    # The negative count is a contract break, found when the batch is validated, not by the parser.
    assert sum(b["counts"][1] for b in parallel) == sum(len(b["observations"]) + len(b["quarantine"]) for b in parallel)


def test_a_night_parsed_by_workers_loads_the_same_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = hostile_mirror(tmp_path / "mirror")

    def night(name: str) -> dict:
        warehouse = tmp_path / f"{name}.duckdb"
        run_night(Settings(warehouse=warehouse, sirekap=(root,), chunk_records=10), build_models=False)
        with connect(warehouse, read_only=True) as con:
            tables = ("raw_documents", "raw_nodes", "raw_node_votes", "raw_child_votes", "raw_tps_admin", "raw_files")
            found = {t: con.sql(f"select * exclude (run_id, loaded_at) from {t}" if t == "raw_files" else f"select * from {t}").pl() for t in tables}
            found["raw_observations"] = con.sql("select version_id, source_file, observed_seq from raw_observations").pl()
            found["quarantine"] = con.sql("select source_file, locator, node_code, rule, reason from quarantine").pl()
            found["runs"] = con.sql("select files_read, records_read, records_loaded, records_quarantined, versions_new from runs").pl()
        return {t: frame.sort(frame.columns).to_dicts() for t, frame in found.items()}

    sequential = night("sequential")
    monkeypatch.setattr(batching, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr(batching, "FILES_PER_TASK", 4)
    parallel = night("parallel")
    assert parallel == sequential
    assert {q["rule"] for q in parallel["quarantine"]} >= {"not_json", "unreadable", "unknown_contest", "greater_than_or_equal_to(0)"}
    (run,) = parallel["runs"]
    assert run["records_read"] == run["records_loaded"] + run["records_quarantined"]


def test_what_the_warehouse_holds_is_read_while_the_mirror_is_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "mirror"
    shutil.copytree(KALTIM_0100, root)
    warehouse = tmp_path / "w.duckdb"
    run_night(Settings(warehouse=warehouse, sirekap=(root,)), build_models=False)
    with connect(warehouse, read_only=True) as con:
        from warehouse.load import held_files, holds_files

        held = held_files(con, str(root.resolve()))
        assert holds_files(con, str(root.resolve())) and not holds_files(con, str(tmp_path / "elsewhere"))
    monkeypatch.setattr(batching, "PARALLEL_MIN_FILES", 0)
    files = sum(1 for _ in root.rglob("*.json"))
    # Every file as loaded: each known by its stat, none read, from what a thread read.
    on_main_thread = []
    holding = lambda root: on_main_thread.append(threading.current_thread() is threading.main_thread()) or held  # noqa: E731
    (batch,) = iter_batches([root], 2024, None, held=holding, holds_any=lambda root: True, workers=2)
    assert on_main_thread == [False] and (batch.records_read, batch.known_records, batch.observations) == (files, files, [])
    # Nothing held below the mirror: it is not asked for, and every file is read.
    (batch,) = iter_batches([root], 2024, None, held=lambda root: pytest.fail("read"), holds_any=lambda root: False, workers=2)
    assert (batch.records_read, batch.known_records, len(batch.observations)) == (files, 0, files)


def test_known_files_are_recognised_by_workers_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mirror downloaded again whole (every mtime new, same bytes): each file is read and
    hashed, none parsed, and every one is remembered under its new stat."""
    root = tmp_path / "mirror"
    shutil.copytree(KALTIM_0100, root)
    warehouse = tmp_path / "w.duckdb"
    run_night(Settings(warehouse=warehouse, sirekap=(root,)), build_models=False)
    for path in root.rglob("*.json"):
        path.write_bytes(path.read_bytes())
    monkeypatch.setattr(batching, "PARALLEL_MIN_FILES", 0)
    monkeypatch.setattr(batching, "FILES_PER_TASK", 4)
    with connect(warehouse, read_only=True) as con:
        from warehouse.load import held_files

        held = held_files(con, str(root.resolve()))
    known = {row["source_file"]: (row["size_bytes"], row["bytes_hash"]) for row in held.iter_rows(named=True)}
    (batch,) = iter_batches([root], 2024, None, held=lambda root: held, workers=2)
    files = sum(1 for _ in root.rglob("*.json"))
    refreshed = pl.concat(batch.refreshed_files)
    assert (batch.records_read, batch.known_records, refreshed.height, batch.observations) == (files, files, files, [])
    assert refreshed["source_file"].n_unique() == files == len(known)
    assert all((size, digest) == known[source_file] for source_file, size, digest in refreshed.select("source_file", "size_bytes", "bytes_hash").iter_rows())
    # They hold no parsed rows: batches of 10 parsed records hold them all in one ...
    (batch,) = iter_batches([root], 2024, 10, held=lambda root: held, workers=2)
    assert (batch.records_read, pl.concat(batch.refreshed_files).height) == (files, files)
    # ... up to REFRESHED_PER_BATCH of their stats, a task (4) at a time.
    monkeypatch.setattr(batching, "REFRESHED_PER_BATCH", 10)
    batches = list(iter_batches([root], 2024, 10, held=lambda root: held, workers=2))
    held_stats = [sum(part.height for part in b.refreshed_files) for b in batches]
    assert len(batches) >= -(-files // 13) and all(stats <= 10 + 4 - 1 for stats in held_stats)
    assert sum(part.height for b in batches for part in b.refreshed_files) == files
