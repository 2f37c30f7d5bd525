"""A night costs what changed: files the warehouse already holds are recognised without being
parsed, the models are not rebuilt when nothing they read changed, and `--full-rebuild` gives
the same marts both ways."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import orjson
import pytest

import flows.batch
from flows.pipeline import run_night
from flows.settings import Settings
from flows.sources.demo import SirekapErrors, generate_internal_count, generate_mirror, write_withheld_snapshot
from schemas.marts import MART_CONTRACTS
from tests.shared import KALTIM_0100, KALTIM_1015, mini_race
from warehouse import models
from warehouse.checksum import mart_checksum
from warehouse.db import connect, ensure_schema

FILES_1015 = sum(1 for _ in KALTIM_1015.rglob("*.json"))


def marts(warehouse: Path) -> dict[str, str]:
    with connect(warehouse, read_only=True) as con:
        con.begin()  # one snapshot, and one catalog lookup a table rather than one a statement
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
    # The log holds each file's bytes once, and the changed file's new bytes; the current table
    # each file as it is now.
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from raw_files").fetchone() == (FILES_1015 + 1,)
        assert con.execute("select count(distinct bytes_hash) from raw_files where source_file = ?", [str(changed.resolve())]).fetchone() == (2,)
        assert con.execute("select count(*), count(distinct source_file) from raw_files_current").fetchone() == (FILES_1015, FILES_1015)
    assert current_files(warehouse) == files_on_disk(mirror)


def current_files(warehouse: Path) -> dict[str, tuple[int, int, str]]:
    with connect(warehouse, read_only=True) as con:
        rows = con.execute("select source_file, size_bytes, mtime_ns, bytes_hash from raw_files_current").fetchall()
    return {source_file: tuple(stat) for source_file, *stat in rows}


def files_on_disk(mirror: Path) -> dict[str, tuple[int, int, str]]:
    """Each mirror file's size, mtime and BLAKE2b-128 of its bytes, read here."""
    return {
        str(path.resolve()): (path.stat().st_size, path.stat().st_mtime_ns, hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest())
        for path in mirror.rglob("*.json")
    }


@pytest.mark.parametrize("chunk_records", [2, 6])  # each one re-reads files in a later batch
def test_a_folder_given_twice_in_one_night_leaves_one_current_row_a_file(tmp_path: Path, chunk_records: int) -> None:
    """The second listing finds the files of the first source's batches held, but not those of
    its batch still being filled: those are read and recorded again (in a later batch when that
    one fills), and replace their row."""
    mirror = shutil.copytree(KALTIM_0100, tmp_path / "mirror")
    warehouse = tmp_path / "w.sqlite"
    night = run_night(Settings(warehouse=warehouse, sirekap=(mirror, mirror), chunk_records=chunk_records), build_models=False)
    files = files_on_disk(mirror)
    assert night.load.records_read == 2 * len(files)  # each source counts every file, read or known by its stat
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from raw_files_current").fetchone() == (len(files),)
    assert current_files(warehouse) == files


def test_a_lake_from_before_the_current_files_table_gets_it_filled_with_each_files_latest_read(tmp_path: Path) -> None:
    mirror = shutil.copytree(KALTIM_0100, tmp_path / "mirror")
    warehouse = tmp_path / "w.sqlite"
    run_night(Settings(warehouse=warehouse, sirekap=(mirror,)), build_models=False)
    first = files_on_disk(mirror)
    changed = sorted(mirror.rglob("*.json"))[:3]
    for path in changed:  # new bytes (the same JSON): a second raw_files row each
        path.write_bytes(path.read_bytes() + b"\n")
    run_night(Settings(warehouse=warehouse, sirekap=(mirror,)), build_models=False)
    with connect(warehouse) as con:  # as a lake written before raw_files_current was
        con.execute("drop table raw_files_current")
    with connect(warehouse) as con:
        con.begin()
        ensure_schema(con)
        con.commit()
    now = files_on_disk(mirror)
    assert now != first and current_files(warehouse) == now
    with connect(warehouse, read_only=True) as con:
        assert con.execute("select count(*) from raw_files").fetchone() == (len(first) + len(changed),)


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


# --- Keyed models: a night recomputes only the codes whose inputs changed ------------------------

RUN_COLUMNS = frozenset({"run_id", "source_run_id"})  # both warehouses read the same files, in other runs


def model_tables(warehouse: Path) -> dict[str, str]:
    """A checksum of every model's rows but staging's (whose rows are the raw tables')."""
    names = [m.name for m in models.discover() if m.layer != "staging"]
    with connect(warehouse, read_only=True) as con:
        con.begin()
        return {name: mart_checksum(con, name, exclude=RUN_COLUMNS) for name in names}


def edit_json(path: Path, change) -> None:
    payload = orjson.loads(path.read_bytes())
    change(payload)
    path.write_bytes(orjson.dumps(payload))


def test_keyed_models_recomputed_for_the_changed_codes_equal_a_whole_rebuild(tmp_path: Path, monkeypatch) -> None:
    # Every model written by difference (never anew because many rows moved) and the keyed path
    # taken on a small race too, so each keyed model gets its inputs' changed rows.
    monkeypatch.setattr(models, "REPLACE_SHARE", 1.0)
    monkeypatch.setattr(models, "KEYED_ABOVE", -1)  # a race of any size is cut to its changed codes
    keyed_runs: list[str] = []
    scoped_sql = models.scoped_sql
    monkeypatch.setattr(models, "scoped_sql", lambda con, model, *held: keyed_runs.append(model.name) or scoped_sql(con, model, *held))
    # A keyed model stored as a view is never computed: its changes are its SQL over its inputs'.
    view_changes: list[str] = []
    keep_view_changes = models.keep_view_changes
    monkeypatch.setattr(models, "keep_view_changes", lambda con, model, *a: keep_view_changes(con, model, *a) and not view_changes.append(model.name))

    spec = mini_race()
    mirror, withheld = tmp_path / "mirror", tmp_path / "later"
    generate_mirror(spec, mirror, progress=0.75, errors=SirekapErrors(ocr_inflated=1, arithmetic_slips=1, chart_only=1, admin_only=1, seed=3))
    # The campaign's TPS-level count: tps_reconciliation compares it with each TPS's SIREKAP form.
    internal = generate_internal_count(spec, tmp_path / "internal.csv", missing=2, resubmitted=2).path
    tps = sorted(p for p in mirror.rglob("*.json") if len(p.stem) == 13)
    kelurahan = lambda path: path.parent.with_suffix(".json")  # noqa: E731  the file whose table lists the TPS
    first_bytes = tps[0].read_bytes()

    def corrections(_) -> None:
        edit_json(tps[0], lambda p: p["tungsura"]["chart"].update({"7": p["tungsura"]["chart"]["7"] + 3, "5": p["tungsura"]["chart"]["5"] - 3}))
        edit_json(tps[1], lambda p: p["tungsura"]["chart"].update({"7": p["tungsura"]["chart"]["7"] + 50}))  # breaks C1 arithmetic
        edit_json(tps[2], lambda p: p["tungsura"].update({"administrasi": None}))  # chart only now
        edit_json(tps[3], lambda p: p["tungsura"]["chart"].update({"999": 4}))  # an unknown candidate
        # A TPS published tonight (its file had no chart): a sibling's form.
        unpublished = next(p for p in tps if orjson.loads(p.read_bytes())["tungsura"]["chart"] is None)
        sibling = next(p for p in tps if p.parent == unpublished.parent and p != unpublished)
        unpublished.write_bytes(sibling.read_bytes())
        touched = {p.stem for p in (*tps[:4], unpublished)}
        # The kelurahan above tps[0]: its row for it follows the correction.
        def follow(p) -> None:
            row = p["tungsura"]["table"][tps[0].stem]
            row["7"], row["5"] = row["7"] + 3, row["5"] - 3
        edit_json(kelurahan(tps[0]), follow)
        # Another kelurahan's row for a TPS whose own file did not change turns PSU: only the
        # parent's table says so (int_child_rows keyed by the child's code).
        quiet = next(p for p in reversed(tps) if p.stem not in touched and kelurahan(p) != kelurahan(tps[0]))
        edit_json(kelurahan(quiet), lambda p: p["tungsura"]["table"][quiet.stem].update({"psu": "PSU"}))

    def reverted(sources: list[Path]) -> None:
        tps[0].write_bytes(first_bytes)  # A -> B -> A: the first version is the latest again
        write_withheld_snapshot(spec, mirror, withheld)  # a kab/kota's counts all 0 in a later snapshot
        sources.append(withheld)

    incremental, full = tmp_path / "incremental.sqlite", tmp_path / "full.sqlite"
    sources = [mirror]
    for number, night in enumerate((None, corrections, reverted, None), start=1):
        if night is not None:
            night(sources)
        run_night(Settings(warehouse=incremental, sirekap=tuple(sources), internal=(internal,)))
        run_night(Settings(warehouse=full, sirekap=tuple(sources), internal=(internal,), full_rebuild=True))
        ours, whole = model_tables(incremental), model_tables(full)
        assert [name for name in ours if ours[name] != whole[name]] == [], f"night {number}: these tables differ from a whole rebuild"
    # Not vacuous: every keyed model was recomputed for its changed codes on some night, and the
    # comparison had TPS to compare.
    with connect(incremental, read_only=True) as con:
        assert con.execute("select count(distinct tps_code) from tps_reconciliation").fetchone()[0] >= 10
    keyed = [m for m in models.discover() if m.keyed]
    assert {m.name for m in keyed if not m.view} <= set(keyed_runs)
    assert {m.name for m in keyed if m.view} == set(view_changes) == {"int_rule_checks"}


def test_a_night_after_an_upgrade_rebuilds_the_models_whose_sql_changed_not_every_model(tmp_path: Path, monkeypatch) -> None:
    warehouse = tmp_path / "w.sqlite"
    run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_1015,)))
    built: list[set[str]] = []  # the models each night rebuilt
    build = models.build

    def recorded(*args, **kwargs):
        rebuilt = build(*args, **kwargs)
        built.append({m.name for m in rebuilt})
        return rebuilt

    monkeypatch.setattr(models, "build", recorded)
    real = models.code_fingerprints

    def upgraded(*edited: str):  # the fingerprints after an upgrade that edits these files
        monkeypatch.setattr(models, "code_fingerprints", lambda *a, **k: {n: h + "'" if n in edited else h for n, h in real(*a, **k).items()})

    upgraded("int_tps_facts")  # an edit that leaves its rows as they were: nothing downstream moves
    run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_1015,)))
    assert built[-1] == {"int_tps_facts", "corrections", "corrections_summary"}  # the last two: every night's log
    upgraded(models.SHARED)  # a macro, a seed or the rule pack: every model
    run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_1015,)))
    assert built[-1] == {m.name for m in models.discover()}
    monkeypatch.setattr(models, "code_fingerprints", real)  # back to the files as they are: every model changed again
    run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_1015,)))
    assert built[-1] == {m.name for m in models.discover()}
    # A warehouse whose last build kept one hash of all the SQL (before per-model fingerprints) is rebuilt whole once.
    with connect(warehouse) as con:
        con.execute("update model_builds set code_fingerprint = 'c0ffee'")
    run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_1015,)))
    assert built[-1] == {m.name for m in models.discover()}
    run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_1015,)))
    assert built[-1] <= {"corrections", "corrections_summary"}  # and no more: the log of a night that changed nothing
