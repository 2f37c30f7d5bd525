"""The warehouse as a DuckLake: `rekap query` reads it in a sandbox (nothing written, nothing read
outside it, no query without end), `--at` reads an earlier snapshot, retention keeps storage
bounded, an old single-file warehouse migrates, and bad `--warehouse` values say so."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.pipeline import run_night
from flows.settings import Settings
from schemas.marts import MART_CONTRACTS
from tests.shared import KALTIM_0100, KALTIM_1015
from warehouse import storage
from warehouse.checksum import mart_checksum
from warehouse.db import connect
from warehouse.storage import default_data_path

GOVERNOR = "select votes from province_totals where contest = 'pkwkp' order by nomor_urut"


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    """A warehouse after two nights: 01:00, then 10:15."""
    warehouse = tmp_path_factory.mktemp("lake") / "w.sqlite"
    run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_0100,)))
    run_night(Settings(warehouse=warehouse, sirekap=(KALTIM_1015,)))
    return warehouse


def rekap(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def tree_digest(*roots: Path) -> dict[str, str]:
    """Every file below the roots (and the roots themselves), by content."""
    found = {}
    for root in roots:
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


# Every way DuckDB offers to write a file, reach outside the warehouse or change the sandbox,
# as a hostile analyst would try them against `rekap query`.
HOSTILE = {
    "copy over the catalog": "copy (select 'x') to '{catalog}' (format csv)",
    "copy into the data folder": "copy (select 1) to '{data}/x.parquet' (format parquet)",
    "copy elsewhere": "copy (select 1) to '{outside}/x.csv'",
    "export database": "export database '{outside}/export'",
    "attach the catalog read-write": "attach 'ducklake:sqlite:{catalog}' as again",
    "attach the catalog as sqlite": "attach '{catalog}' as raw_catalog (type sqlite)",
    "attach a new file": "attach '{outside}/new.duckdb' as fresh",
    "attach another file read-write": "attach '{outside}/other.duckdb' as other (read_write)",
    "insert": "insert into runs (run_id) values ('hostile')",
    "create a table": "create table hostile as select 1",
    "drop a mart": "drop table province_totals",
    "update": "update runs set status = 'x'",
    "log queries to a file": "set log_query_path = '{outside}/log'",
    "lift the sandbox": "set enable_external_access = true",
    "unlock": "set lock_configuration = false",
    "install an extension": "install httpfs",
    "load an extension": "load '{outside}/evil.duckdb_extension'",
    "call a lake function": "call ducklake_cleanup_old_files('lake', cleanup_all => true)",
    "checkpoint": "checkpoint",
    "read_csv outside": "select * from read_csv('/etc/passwd')",
    "read_text outside": "select * from read_text('/etc/passwd')",
    "read_blob outside": "select * from read_blob('/etc/hostname')",
    "glob the disk": "select * from glob('/**')",
    "two statements": "select 1; copy (select 1) to '{outside}/y.csv'",
}


@pytest.mark.parametrize("attempt", sorted(HOSTILE))
def test_rekap_query_refuses_every_write_and_every_read_outside_the_warehouse(attempt: str, lake: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    duckdb.connect(str(outside / "other.duckdb")).close()
    data = default_data_path(lake)
    before, files_outside = tree_digest(lake, data), sorted(outside.rglob("*"))
    sql = HOSTILE[attempt].format(catalog=lake, data=data, outside=outside)

    result = rekap("query", "--warehouse", lake, sql)

    assert result.exit_code == 1, result.output
    # The first line says why (rekap's refusal, or DuckDB's sandbox); DuckDB may add where in the query.
    why = result.output.splitlines()[0]
    assert why.startswith("Error: ") and ("refused: rekap query" in why or "disabled by configuration" in why), result.output
    assert "Traceback" not in result.output
    assert tree_digest(lake, data) == before
    assert sorted(outside.rglob("*")) == files_outside
    assert rekap("query", "--warehouse", lake, "--format", "csv", GOVERNOR).output.split() == ["votes", "766850", "962804"]


def test_a_query_without_end_is_stopped_by_the_timeout(lake: Path) -> None:
    result = rekap("query", "--warehouse", lake, "--timeout", "1", "select count(*) from range(1000000000000)")
    assert result.exit_code == 1 and "stopped after 1 s (--timeout)" in result.output


def test_a_query_over_the_memory_limit_fails_with_a_message(lake: Path) -> None:
    result = rekap("query", "--warehouse", lake, "--memory-limit", "20MB",
                   "select list(range) from range(100000000)")  # fmt: skip
    assert result.exit_code == 1 and "Error:" in result.output and "Traceback" not in result.output


def test_exports_are_written_by_rekap_never_inside_the_warehouse(lake: Path, tmp_path: Path) -> None:
    out = tmp_path / "winners.parquet"
    result = rekap("query", "--warehouse", lake, "--format", "parquet", "--output", out, "select * from region_winners")
    assert result.exit_code == 0, result.output
    import polars as pl

    frame = pl.read_parquet(out)
    assert frame.height > 0 and "region_code" in frame.columns
    csv = rekap("query", "--warehouse", lake, "--format", "csv", "select * from region_winners where level = 'provinsi'")
    assert csv.exit_code == 0, csv.output  # list columns (tied_nomor_urut) become JSON text
    for target in (lake, default_data_path(lake) / "x.csv"):
        refused = rekap("query", "--warehouse", lake, "--format", "csv", "--output", target, "select 1")
        assert refused.exit_code == 1 and "warehouse's own storage" in refused.output


def test_query_at_reads_an_earlier_snapshot_by_number_run_id_or_time(lake: Path) -> None:
    with connect(lake, read_only=True) as con:
        published = con.execute(
            "select snapshot_id, commit_message, snapshot_time::varchar from lake.snapshots() where commit_message like 'rekap run %' order by snapshot_id"
        ).fetchall()  # fmt: skip
    (first, message, time), (second, _, _) = published
    run_id = message.removeprefix("rekap run ")
    # ../shared/data/README.md: the governor race at 01:00 and at 10:15.
    for at in (str(first), run_id, time):
        assert rekap("query", "--warehouse", lake, "--at", at, "--format", "csv", GOVERNOR).output.split() == ["votes", "758326", "952185"], at
    assert rekap("query", "--warehouse", lake, "--at", str(second), "--format", "csv", GOVERNOR).output.split() == ["votes", "766850", "962804"]
    missing = rekap("query", "--warehouse", lake, "--at", "20240101T000000Z-abcdef", GOVERNOR)
    assert missing.exit_code == 1 and "no published run with that id" in missing.output


def storage_bytes(warehouse: Path) -> int:
    return warehouse.stat().st_size + sum(p.stat().st_size for p in default_data_path(warehouse).rglob("*") if p.is_file())


def test_retention_expires_old_mart_snapshots_and_keeps_every_raw_version(tmp_path: Path) -> None:
    nights = [(KALTIM_0100,), (KALTIM_1015,), (KALTIM_0100,), (KALTIM_1015,)]
    bounded, unbounded = tmp_path / "bounded.sqlite", tmp_path / "unbounded.sqlite"
    for sources in nights:  # every model rebuilt every night: the most a night can add
        run_night(Settings(warehouse=bounded, sirekap=sources, keep_nights=2, full_rebuild=True))
        run_night(Settings(warehouse=unbounded, sirekap=sources, keep_nights=100, full_rebuild=True))
    with connect(bounded, read_only=True) as con:
        published = [s for (s,) in con.execute(
            "select snapshot_id from lake.snapshots() where commit_message like 'rekap run %' order by snapshot_id").fetchall()]  # fmt: skip
        versions = con.execute("select count(*) from raw_documents").fetchone()[0]
    assert len(published) == 2  # the last two nights stay readable; the first two expired
    # Every file of both snapshots is a version but the two identical in both (test_load.py): kept forever.
    files = sum(1 for _ in KALTIM_0100.rglob("*.json")) + sum(1 for _ in KALTIM_1015.rglob("*.json"))
    assert versions == files - 2
    assert rekap("query", "--warehouse", bounded, "--at", str(published[0]), "select 1").exit_code == 0
    assert rekap("query", "--warehouse", bounded, "--at", str(published[0] - 1), "select 1").exit_code == 1
    assert storage_bytes(bounded) < storage_bytes(unbounded)


def test_migrate_copies_an_old_single_file_warehouse_into_a_lake(lake: Path, tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    # A single-file warehouse as rekap wrote it before DuckLake: the same tables in one DuckDB file.
    with connect(lake, read_only=True) as con:
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where database_name = 'lake'").fetchall()]
        reference = {mart: mart_checksum(con, mart) for mart in MART_CONTRACTS}
        con.execute(f"attach '{old}' as old_file")
        for table in tables:
            con.execute(f"create table old_file.main.{table} as select * from lake.main.{table}")
        con.execute("detach old_file")

    refused = rekap("query", "--warehouse", old, "select 1")
    assert refused.exit_code == 1 and f"rekap migrate {old}" in refused.output

    new = tmp_path / "new.sqlite"
    result = rekap("migrate", old, "--warehouse", new)
    assert result.exit_code == 0, result.output
    with connect(new, read_only=True) as con:
        assert {mart: mart_checksum(con, mart) for mart in MART_CONTRACTS} == reference
        assert con.execute(GOVERNOR).fetchall() == [(766_850,), (962_804,)]
    again = rekap("migrate", old, "--warehouse", new)
    assert again.exit_code == 1 and "migrate into a new warehouse" in again.output


def test_a_warehouse_that_is_a_folder_or_not_a_lake_is_refused_before_anything_starts(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    other = tmp_path / "notes.txt"
    other.write_text("not a warehouse")
    for target, message in ((folder, "is a folder"), (other, "is not a rekap warehouse")):
        result = rekap("run", "--warehouse", target, "--sirekap", KALTIM_1015)
        assert result.exit_code == 1 and message in result.output, result.output
        assert not list(tmp_path.glob("*staging*")) and not list(tmp_path.glob("*.data"))
    assert other.read_text() == "not a warehouse"


def test_rekap_query_on_a_missing_warehouse_says_how_to_make_one(tmp_path: Path) -> None:
    result = rekap("query", "--warehouse", tmp_path / "none.sqlite", "select 1")
    assert result.exit_code == 1 and "no warehouse at" in result.output
    assert not (tmp_path / "none.sqlite").exists()


def test_a_copied_lake_opens_where_it_was_copied(lake: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite"
    shutil.copyfile(lake, copy)
    shutil.copytree(default_data_path(lake), default_data_path(copy))
    with connect(copy, read_only=True) as con:
        assert con.execute(GOVERNOR).fetchall() == [(766_850,), (962_804,)]


def test_a_night_holds_duckdb_to_its_memory_limit_and_spills_outside_the_working_folder() -> None:
    from warehouse import storage

    con = storage.new_connection()
    with storage.spill_folder() as folder:
        storage.bound_memory(con, "300MB", folder)
        spill = Path(con.execute("select current_setting('temp_directory')").fetchone()[0])
        assert spill.is_dir() and spill.name.startswith("rekap-spill-")
        assert con.execute("select current_setting('memory_limit')").fetchone()[0] in ("286.1 MiB", "300.0 MB")
        con.close()
    assert not spill.exists()
    with pytest.raises(storage.WarehouseError, match="memory limit 'lots'"):
        storage.bound_memory(storage.new_connection(), "lots", str(spill))


# A night's spill folder, held until the process is told to stop (or killed).
HOLDS_A_SPILL_FOLDER = """
import sys, time
from pathlib import Path
from warehouse import storage
with storage.spill_folder(sys.argv[1]) as folder:
    (Path(folder) / "duckdb_temp_storage-0.tmp").write_bytes(b"spilled")
    print(folder, flush=True)
    time.sleep(600)
"""


def test_a_killed_nights_spill_folder_is_removed_by_the_next_night_and_a_running_ones_kept(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from warehouse import storage

    def holder() -> tuple[subprocess.Popen, Path]:
        process = subprocess.Popen([sys.executable, "-c", HOLDS_A_SPILL_FOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        return process, Path(process.stdout.readline().strip())

    killed, killed_folder = holder()
    running, running_folder = holder()
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert (killed_folder / "duckdb_temp_storage-0.tmp").exists()  # nothing cleaned up after a SIGKILL
        old_unowned, new_unowned = tmp_path / "rekap-spill-old", tmp_path / "rekap-spill-new"
        old_unowned.mkdir(), new_unowned.mkdir()
        hours_ago = os.stat(old_unowned).st_mtime - 2 * storage.UNOWNED_SPILL_SECONDS
        os.utime(old_unowned, (hours_ago, hours_ago))
        with storage.spill_folder(tmp_path) as mine:
            assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running_folder.name, new_unowned.name, Path(mine).name])
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running_folder.name, new_unowned.name])
        assert (running_folder / "duckdb_temp_storage-0.tmp").exists()
    finally:
        running.kill()
        running.wait(timeout=30)
    assert storage.remove_stale_spill_folders(tmp_path) == [str(running_folder)]


# A night that spilled, then failed: its transaction is rolled back as the connection closes.
SPILLED_AND_FAILED = """
import sys
from warehouse import storage
try:
    with storage.spill_folder() as spill, storage.connect(storage.Location.parse(sys.argv[1])) as con:
        storage.bound_memory(con, "100MB", spill)
        con.begin()
        con.execute("create table written as select 1 as i")
        con.execute("create temp table spilled as select range as i, md5(range::varchar) || md5((range + 1)::varchar) as s from range(3000000)")
        assert con.execute("select count(*) from duckdb_temporary_files()").fetchone()[0] > 0, "nothing spilled"
        raise RuntimeError("the night fails")
except RuntimeError as exc:
    print(exc)
"""


def test_a_night_that_spilled_and_failed_is_rolled_back_and_its_spill_folder_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    # A DuckDB fatal error would end the process, so the night runs in one of its own.
    result = subprocess.run([sys.executable, "-c", SPILLED_AND_FAILED, str(tmp_path / "w.sqlite")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("the night fails"), result.stdout + result.stderr
    with connect(tmp_path / "w.sqlite", read_only=True) as con:
        assert con.execute("select count(*) from duckdb_tables() where table_name = 'written'").fetchone() == (0,)


def test_staging_models_and_those_stored_as_views_are_views_and_the_others_tables(lake: Path) -> None:
    from warehouse import models

    with connect(lake, read_only=True) as con:
        kinds = dict(con.execute(
            "select table_name, table_type from information_schema.tables where table_catalog = current_database()"
        ).fetchall())  # fmt: skip
    expected = {m.name: "VIEW" if m.layer == "staging" or m.name == "int_rule_checks" else "BASE TABLE" for m in models.discover()}
    assert {name: kinds.get(name) for name in expected} == expected


def test_an_extension_file_is_signature_checked_once_per_process_and_again_when_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse import storage

    real = storage.extension_dir()
    folder = tmp_path / "extensions"
    folder.mkdir()
    for name in ("ducklake", "sqlite_scanner"):
        shutil.copyfile(real / f"{name}.duckdb_extension", folder / f"{name}.duckdb_extension")
    monkeypatch.setattr(storage, "extension_dir", lambda: folder)
    monkeypatch.setattr(storage, "_SIGNED", {})
    storage.new_connection("sqlite").close()  # checked, then remembered
    assert set(storage._SIGNED) == {folder / "ducklake.duckdb_extension", folder / "sqlite_scanner.duckdb_extension"}
    storage.new_connection("sqlite").close()

    # The file changed since its check (one byte of its code, so its signature no longer holds): checked again, refused.
    target = folder / "ducklake.duckdb_extension"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.unlink()
    target.write_bytes(bytes(data))
    with pytest.raises(duckdb.Error, match="signature"):
        storage.new_connection("sqlite")


def test_upkeep_merges_a_table_s_small_files_once_they_pile_up_and_never_for_files_with_deletes(tmp_path: Path) -> None:
    from warehouse import publish, storage

    class Calls:  # the connection, with the statements upkeep runs written down
        def __init__(self, con) -> None:
            self.con, self.sql = con, []

        def execute(self, sql, *args):
            self.sql.append(sql)
            return self.con.execute(sql, *args)

    def merged(con) -> tuple[int, bool]:
        calls = Calls(con)
        upkeep = publish.maintain(calls, keep_nights=0)
        return upkeep.files_merged, any("merge_adjacent_files" in sql for sql in calls.sql)

    con = storage.connect(tmp_path / "w.sqlite")
    files = ("select t.table_name, count(*) from __ducklake_metadata_lake.ducklake_data_file f join __ducklake_metadata_lake.ducklake_table t"
             " using (table_id) where f.end_snapshot is null group by all order by 1")  # fmt: skip
    big = "select data_file_id from __ducklake_metadata_lake.ducklake_data_file where end_snapshot is null and record_count = 1000000"
    con.execute("create table appended (i int); create table edited (i int)")
    con.execute("insert into appended select range + 1000000 from range(1000000)")  # a first night: ~4 MB, past MERGE_BELOW_BYTES
    (first_file,) = con.execute(big).fetchone()
    con.execute("insert into appended select range from range(1000)")
    for night in range(8):  # a model table: each night's file gains deletes (too many to inline in the catalog)
        con.execute(f"insert into edited select range + {night * 1000} from range(1000)")
        con.execute(f"delete from edited where i between {night * 1000} and {night * 1000 + 499}")
    # Eight files with deletes: DuckLake would merge none of them, so no merge is tried.
    assert publish.mergeable_files(con) == 1
    assert merged(con) == (0, False)
    for night in range(1, 6):
        con.execute(f"insert into appended select range + {night * 1000} from range(1000)")
    # Six small appended files: merged into one; the big first file is left as it was (not rewritten).
    assert publish.mergeable_files(con) == 6
    assert merged(con) == (1, True)
    assert con.execute(files).fetchall() == [("appended", 2), ("edited", 8)]
    assert con.execute(big).fetchone() == (first_file,)
    assert con.execute("select count(*), sum(i) from appended").fetchone() == (1_006_000, sum(range(6000)) + sum(range(1000000, 2000000)))
    con.close()


def test_a_catalog_replaced_takes_its_log_along_and_never_the_replaced_ones(tmp_path: Path) -> None:
    """`rekap rebuild --replace` moves the new catalog over the old: the old one's write-ahead log
    must not stay beside it (SQLite would replay it onto the new file), and the new one's must
    come along (it may hold the last commits)."""
    import sqlite3

    from warehouse.storage import replace_catalog

    def table_of(path: Path, rows: int):
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("pragma journal_mode = wal")
        db.execute("pragma wal_autocheckpoint = 0")  # the rows stay in the log while db is open
        db.execute("create table t (x)")
        db.executemany("insert into t values (?)", [(i,) for i in range(rows)])
        return db

    old, new = tmp_path / "old.sqlite", tmp_path / "new.sqlite"
    holding_old, holding_new = table_of(old, 7), table_of(new, 3)
    assert Path(f"{old}-wal").stat().st_size > 0 and Path(f"{new}-wal").stat().st_size > 0
    # Copies of the files as they are now, each log still holding its rows, with no one holding them.
    target, source = tmp_path / "w.sqlite", tmp_path / "w.sqlite.rebuild"
    for a, b in ((old, target), (new, source)):
        for suffix in ("", "-wal"):
            shutil.copyfile(f"{a}{suffix}", f"{b}{suffix}")
    holding_old.close()
    holding_new.close()

    replace_catalog(source, target)

    assert not Path(f"{source}-wal").exists() and not source.exists()
    db = sqlite3.connect(target)
    assert db.execute("select count(*) from t").fetchone() == (3,)  # the new catalog's rows, from its log
    assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    db.close()


def test_a_connection_draws_no_progress_bar_of_duckdbs_own() -> None:
    # A statement past 2 s would draw one on stdout, in the middle of `rekap run`'s output.
    assert storage.new_connection().execute("select current_setting('enable_progress_bar')").fetchone() == (False,)
