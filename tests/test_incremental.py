"""A night costs what changed: files the warehouse already holds are recognised without being
parsed, the models are not rebuilt when nothing they read changed, and `--full-rebuild` gives
the same marts both ways."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import flows.batch
from flows.pipeline import run_night
from flows.settings import Settings
from tests.shared import KALTIM_0100, KALTIM_1015
from warehouse.checksum import mart_checksum
from warehouse.db import connect
from schemas.marts import MART_CONTRACTS

FILES_1015 = sum(1 for _ in KALTIM_1015.rglob("*.json"))


def marts(warehouse: Path) -> dict[str, str]:
    with connect(warehouse, read_only=True) as con:
        return {mart: mart_checksum(con, mart) for mart in MART_CONTRACTS}


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Every document the run parses (the parser is what an unchanged file must not cost)."""
    seen: list[str] = []
    original = flows.batch.parse_document

    def counting(path, *args, **kwargs):
        seen.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(flows.batch, "parse_document", counting)
    return seen


def test_an_unchanged_mirror_is_counted_not_parsed_and_only_the_run_dependent_models_are_rebuilt(tmp_path: Path, parses) -> None:
    mirror = shutil.copytree(KALTIM_1015, tmp_path / "mirror")
    warehouse = tmp_path / "w.sqlite"
    first = run_night(Settings(warehouse=warehouse, sirekap=(mirror,)))
    assert len(parses) == FILES_1015 and first.models_built > 0
    before = marts(warehouse)

    parses.clear()
    again = run_night(Settings(warehouse=warehouse, sirekap=(mirror,)))
    assert parses == []
    assert (again.load.records_read, again.load.records_loaded, again.load.versions_new) == (FILES_1015, FILES_1015, 0)
    assert again.models_built == 2  # corrections and corrections_summary: what the latest night changed
    after = marts(warehouse)
    night_log = {"corrections", "corrections_summary"}
    assert {m: c for m, c in after.items() if m not in night_log} == {m: c for m, c in before.items() if m not in night_log}
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from corrections").fetchone() == (0,)  # a quiet night changed nothing


def test_a_mirror_downloaded_again_whole_is_read_but_only_changed_files_are_parsed(tmp_path: Path, parses) -> None:
    mirror = shutil.copytree(KALTIM_1015, tmp_path / "mirror")
    warehouse = tmp_path / "w.sqlite"
    run_night(Settings(warehouse=warehouse, sirekap=(mirror,)))
    files = sorted(mirror.rglob("*.json"))
    for path in files:  # every file rewritten: new mtime, same bytes...
        path.write_bytes(path.read_bytes())
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    changed = mirror / "pilkada/paslon/pkwkp.json"  # ...but one, whose content changes
    changed.write_bytes(changed.read_bytes().replace(b'"nomor_urut"', b' "nomor_urut"', 1))

    parses.clear()
    night = run_night(Settings(warehouse=warehouse, sirekap=(mirror,)))
    assert parses == ["pilkada/paslon/pkwkp.json"]
    # Same JSON content (only a space added): a re-observation, not a new version.
    assert (night.load.records_read, night.load.records_loaded, night.load.versions_new) == (FILES_1015, FILES_1015, 0)

    # The new mtimes are remembered: the night after, no file is even opened.
    opened: list[str] = []
    real_open = open
    import builtins

    def counting_open(path, *args, **kwargs):
        if str(path).startswith(str(mirror)):
            opened.append(str(path))
        return real_open(path, *args, **kwargs)

    builtins.open = counting_open
    try:
        quiet = run_night(Settings(warehouse=warehouse, sirekap=(mirror,)))
    finally:
        builtins.open = real_open
    assert opened == [] and quiet.load.records_loaded == FILES_1015


def test_a_quarantined_file_is_read_again_each_night(tmp_path: Path, parses) -> None:
    mirror = tmp_path / "mirror"
    bad = mirror / "pilkada/hhcw/pkwkp/64.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"tungsura": {"chart": {"1000054": -5}}}')
    warehouse = tmp_path / "w.sqlite"
    for _ in range(2):
        night = run_night(Settings(warehouse=warehouse, sirekap=(mirror,)))
        assert (night.load.records_read, night.load.records_quarantined) == (1, 1)


def test_incremental_nights_and_full_rebuilds_give_identical_marts_both_ways(tmp_path: Path) -> None:
    incremental, full = tmp_path / "incremental.sqlite", tmp_path / "full.sqlite"
    for sources in ((KALTIM_0100,), (KALTIM_1015,), (KALTIM_1015,)):
        run_night(Settings(warehouse=incremental, sirekap=sources))
        run_night(Settings(warehouse=full, sirekap=sources, full_rebuild=True))
        assert marts(incremental) == marts(full)
    # And a full rebuild of the incremental warehouse changes nothing.
    before = marts(incremental)
    assert run_night(Settings(warehouse=incremental, sirekap=(KALTIM_1015,), full_rebuild=True)).models_built > 0
    assert marts(incremental) == before
