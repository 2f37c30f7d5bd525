"""Where the warehouse lives and how to open it: a DuckLake (a catalog database plus Parquet files).

The embedded default is a SQLite catalog file with its Parquet files in a folder beside it, so no
server is needed and a reader attaching while a run writes gets the last committed snapshot (a
DuckDB-file catalog would lock every other process out, as the single-file warehouse did). A team
that shares one warehouse puts the catalog in PostgreSQL (`ducklake:postgres:dbname=... host=...`)
and the data in a folder every machine reaches.

A run publishes by committing: what it rebuilt appears in one snapshot, all or nothing, and every
earlier snapshot stays readable (`rekap query --at`) until retention expires it.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

LAKE = "lake"  # the attached catalog's name inside every connection
SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of a DuckDB database file
# Extensions ship in PyPI packages (duckdb-extension-<name>); LOAD derives the entry point from the
# file name, so the sqlite and postgres ones must be loaded under their scanner names.
ATTACH_TRIES = 5
EXTENSIONS = {"ducklake": "ducklake", "sqlite": "sqlite_scanner", "postgres": "postgres_scanner"}


class WarehouseError(RuntimeError):
    """A warehouse that cannot be opened as asked: missing, of the old kind, not a warehouse, busy."""


@dataclass(frozen=True)
class Location:
    """A warehouse's catalog and data folder, from `--warehouse` / `--data-path`.

    `catalog` is what follows `ducklake:` in an ATTACH (`sqlite:/abs/w.sqlite` or
    `postgres:dbname=...`); `data_path` holds the Parquet files.
    """

    catalog: str
    data_path: Path

    @classmethod
    def parse(cls, warehouse: str | Path, data_path: str | Path | None = None) -> "Location":
        text = str(warehouse)
        if text.startswith("ducklake:"):
            text = text.removeprefix("ducklake:")
            if text.startswith("sqlite:"):
                path = Path(text.removeprefix("sqlite:")).resolve()
                return cls(f"sqlite:{path}", Path(data_path).resolve() if data_path else default_data_path(path))
            if text.startswith("postgres:"):
                if data_path is None:
                    raise WarehouseError(f"{warehouse}: a PostgreSQL catalog needs --data-path (or $REKAP_DATA_PATH), the folder every machine shares for the Parquet files")
                return cls(text, Path(data_path).resolve())
            raise WarehouseError(f"{warehouse}: only ducklake:sqlite:PATH, ducklake:postgres:DSN or a plain path are warehouses")
        path = Path(text).resolve()
        return cls(f"sqlite:{path}", Path(data_path).resolve() if data_path else default_data_path(path))

    @property
    def catalog_file(self) -> Path | None:
        """The embedded catalog's file (None for a PostgreSQL catalog)."""
        return Path(self.catalog.removeprefix("sqlite:")) if self.catalog.startswith("sqlite:") else None

    @property
    def kind(self) -> str:
        return self.catalog.split(":", 1)[0]

    def __str__(self) -> str:
        file = self.catalog_file
        if file is not None:
            return str(file)
        # Never print a password a DSN may carry.
        return "ducklake:postgres:" + " ".join(p for p in self.catalog.removeprefix("postgres:").split() if not p.startswith("password="))

    def exists(self) -> bool:
        file = self.catalog_file
        return file.exists() if file is not None else True  # a server catalog: ATTACH says

    def check(self, must_exist: bool) -> None:
        """Refuse what is not a lake before anything starts: a folder, an old single-file DuckDB
        warehouse, any other file; and a missing warehouse where one must exist."""
        file = self.catalog_file
        if file is None:
            return
        if file.is_dir():
            raise WarehouseError(f"--warehouse {file} is a folder: give the catalog file (e.g. {file / 'rekap.sqlite'})")
        if not file.exists():
            if must_exist:
                raise WarehouseError(f"no warehouse at {file}: run `rekap run` or `rekap demo` first")
            return
        with open(file, "rb") as handle:
            head = handle.read(16)
        if head[8:12] == DUCKDB_MAGIC:
            raise WarehouseError(f"{file} is a single-file DuckDB warehouse from before DuckLake: "
                                 f"copy it into a lake with `rekap migrate {file} --warehouse NEW.sqlite`")  # fmt: skip
        if head and head != SQLITE_MAGIC:
            raise WarehouseError(f"{file} is not a rekap warehouse (a DuckLake SQLite catalog)")


def default_data_path(catalog_file: Path) -> Path:
    return catalog_file.with_name(catalog_file.name + ".data")


def write_ahead_log(catalog_file: Path) -> None:
    """Keep a SQLite catalog in write-ahead-log mode, so that readers never hold up a commit.

    In SQLite's default (rollback-journal) mode a reader locks the catalog for as long as its
    query runs, and a night that commits meanwhile fails with "database is locked" (measured: an
    analyst's 18-second query failed the night that committed during it). In WAL mode readers
    read the last commit while the writer appends the next. The mode is kept in the file.

    Python's own sqlite3 must not open a catalog this process's DuckDB may hold: two SQLite
    libraries in one process release each other's POSIX locks on close, and one then deletes
    the log the other reads ("disk I/O error", seen). So a new catalog is created here, before
    DuckDB can hold it; one from before is switched by a separate process (once; if a reader
    holds it right now, the next night switches it)."""
    if not catalog_file.exists():
        db = sqlite3.connect(catalog_file, isolation_level=None)
        try:
            db.execute("pragma journal_mode = wal")
        finally:
            db.close()
        return
    if journal_mode(catalog_file) == "delete":
        subprocess.run([sys.executable, "-c", _SWITCH_TO_WAL, str(catalog_file)], capture_output=True, timeout=30)


def journal_mode(catalog_file: Path) -> str | None:
    """"wal" or "delete" (rollback journal) for a SQLite file, from its header (bytes 18-19, the
    read and write format versions: 2 in WAL mode); None for anything else."""
    with open(catalog_file, "rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:16] != SQLITE_MAGIC:
        return None
    return "wal" if header[18:20] == b"\x02\x02" else "delete"


# Beside a WAL catalog: its log (which may still hold the last commits) and the log's index.
WAL_FILES = ("-wal", "-shm")


def replace_catalog(source: Path, target: Path) -> None:
    """Move a closed catalog file over another with its write-ahead log, which may still hold its
    last commits; the target's own log goes (SQLite would replay it onto the new file)."""
    for suffix in WAL_FILES:
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    wal = Path(f"{source}-wal")
    if wal.exists():
        os.replace(wal, f"{target}-wal")
    Path(f"{source}-shm").unlink(missing_ok=True)  # rebuilt from the log by the next opener
    os.replace(source, target)


_SWITCH_TO_WAL = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=1, isolation_level=None)
db.execute("pragma journal_mode = wal")
db.close()
"""


def extension_dir() -> Path:
    """A folder holding the extension binaries under the names LOAD needs (links, made once)."""
    target = Path(sys.prefix) / "share" / "rekap" / f"duckdb-{duckdb.__version__}-extensions"
    if all((target / f"{name}.duckdb_extension").exists() for name in EXTENSIONS.values()):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for package, name in EXTENSIONS.items():
        source = _extension_binary(package)
        link = target / f"{name}.duckdb_extension"
        if not link.exists():
            tmp = link.with_name(f".{link.name}.{os.getpid()}")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(source)
            os.replace(tmp, link)
    return target


def _extension_binary(package: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(f"duckdb_extension_{package}")
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError(f"the DuckDB extension package duckdb-extension-{package}=={duckdb.__version__} is not installed (see requirements.lock)")
    path = Path(list(spec.submodule_search_locations)[0]) / "extensions" / f"v{duckdb.__version__}" / f"{package}.duckdb_extension"
    if not path.exists():
        raise WarehouseError(f"{path} is missing: duckdb-extension-{package} must match duckdb {duckdb.__version__}")
    return path


# Extension files whose signature DuckDB checked in this process: path -> the file's identity then.
_SIGNED: dict[Path, tuple[int, int, int, int]] = {}


def _identity(path: Path) -> tuple[int, int, int, int]:
    """The file a link leads to: device, inode, size, mtime."""
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def new_connection(catalog_kind: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake extensions loaded; nothing is ever downloaded.

    DuckDB checks an extension's signature by hashing its 35-40 MB file on every LOAD, about
    0.12 s each, and one `rekap run` opens four connections. So the first connection of a process
    loads them with the check; a later one loads the same files (same inode, size and mtime)
    without it. `catalog_kind` ("sqlite" or "postgres", Location.kind) loads only ducklake and
    that catalog's scanner; None loads all three."""
    folder = extension_dir()
    files = [folder / f"{name}.duckdb_extension" for package, name in EXTENSIONS.items()
             if catalog_kind is None or package in ("ducklake", catalog_kind)]  # fmt: skip
    identities = [_identity(path) for path in files]
    checked = all(_SIGNED.get(path) == identity for path, identity in zip(files, identities))
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False,
                                 "allow_unsigned_extensions": checked})  # fmt: skip
    # No progress bar of DuckDB's own on stdout under a statement that runs past 2 s: a night
    # shows its steps' progress itself (flows/progress.py), on stderr, to a person watching.
    con.execute("set enable_progress_bar = false")
    for path in files:
        con.execute(f"load '{path}'")
    if catalog_kind in (None, "sqlite"):
        # Every scan of a lake table first reads the catalog's file lists through SQLite, a few
        # rows each. Scanned by two threads, each opens the catalog file again: a small table's
        # scan takes 4-5 ms instead of 2 (GLOBAL: DuckLake reads its catalog on a connection of
        # its own). The tables' own Parquet files are still read by every thread.
        con.execute("set global sqlite_disable_multithreaded_scans = true")
    if not checked:
        _SIGNED.update(zip(files, identities))
    return con


def attach_sql(location: Location, read_only: bool, at: int | datetime | str | None = None) -> tuple[str, list]:
    """The one ATTACH that opens the lake (the README shows it for the DuckDB CLI)."""
    options = ["DATA_PATH ?", "OVERRIDE_DATA_PATH TRUE"]
    params: list = [str(location.data_path) + "/"]
    if read_only:
        options.append("READ_ONLY")
    if isinstance(at, int):
        options.append(f"SNAPSHOT_VERSION {int(at)}")
    elif at is not None:
        options.append("SNAPSHOT_TIME ?")
        params.append(str(at))
    # ATTACH takes no parameter for the path: the catalog string is ours or the user's own
    # --warehouse, quoted as a literal.
    literal = "'" + f"ducklake:{location.catalog}".replace("'", "''") + "'"
    return f"attach {literal} as {LAKE} ({', '.join(options)})", params


def connect(warehouse: str | Path | Location, read_only: bool = False, at: int | datetime | str | None = None,
            data_path: str | Path | None = None) -> duckdb.DuckDBPyConnection:  # fmt: skip
    """A connection whose default database is the lake (`lake`), with rekap's SQL functions.

    `read_only` attaches the catalog read-only (and refuses a missing warehouse); `at` opens an
    earlier snapshot (a version number or a timestamp), read-only.
    """
    location = warehouse if isinstance(warehouse, Location) else Location.parse(warehouse, data_path or os.environ.get("REKAP_DATA_PATH") or None)
    read_only = read_only or at is not None
    location.check(must_exist=read_only)
    if not read_only:
        if location.catalog_file is not None:
            location.catalog_file.parent.mkdir(parents=True, exist_ok=True)
            write_ahead_log(location.catalog_file)
        location.data_path.mkdir(parents=True, exist_ok=True)
    con = new_connection(location.kind)
    sql, params = attach_sql(location, read_only, at)
    for attempt in range(1, ATTACH_TRIES + 1):
        try:
            con.execute(sql, params)
            break
        except duckdb.Error as exc:
            # Two machines attaching a new PostgreSQL catalog at once both create its tables: the
            # loser sees PostgreSQL's duplicate-key error; the catalog exists by then.
            if "Failed to initialize DuckLake" in str(exc) and location.kind == "postgres" and attempt < ATTACH_TRIES:
                time.sleep(0.2 * attempt)
                continue
            con.close()
            first = str(exc).splitlines()[0]
            file = location.catalog_file
            if file is not None and file.exists() and journal_mode(file) == "wal" and not os.access(file.parent, os.W_OK):
                # SQLite reads a write-ahead-log catalog through a shared-memory file beside it.
                raise WarehouseError(f"cannot open the warehouse {location}: its folder {file.parent} is read-only, and SQLite reads the catalog "
                                     f"(kept in write-ahead-log mode) only where it may write the index file beside it: copy the catalog "
                                     f"and its data folder somewhere writable, or publish a copy switched back with "
                                     f"`sqlite3 COPY.sqlite 'pragma journal_mode = delete'`") from exc  # fmt: skip
            raise WarehouseError(f"cannot open the warehouse {location}: {first}") from exc
    con.execute(f"use {LAKE}")
    from warehouse.models import create_macros  # models imports storage: import when used

    create_macros(con, folder="functions")
    create_macros(con, folder="macros", before_models=True)
    return con


SPILL_PREFIX = "rekap-spill-"
SPILL_OWNER = ".rekap-owner"  # in a spill folder: locked (flock) for as long as its night runs
# A spill folder with no owner file this old is one an earlier rekap left (before owner files).
UNOWNED_SPILL_SECONDS = 3600


@contextmanager
def spill_folder(parent: str | Path | None = None):
    """A temporary folder for what DuckDB cannot hold in memory during a night (not the working
    directory's `.tmp`, DuckDB's default), removed afterwards. Open it before the connection
    that spills into it: the connection must be closed first, since rolling back a transaction
    frees blocks in files DuckDB expects to find (a folder removed under it is a fatal error).

    A night that is killed cannot remove its folder, and a national night spills gigabytes: each
    night holds a lock on its folder's owner file, and the next one (remove_stale_spill_folders)
    removes every folder whose lock no process holds. A lock, not a process id: it is released
    when its process dies however it dies, and holds across containers sharing one /tmp."""
    parent = str(parent or tempfile.gettempdir())
    remove_stale_spill_folders(parent)
    with tempfile.TemporaryDirectory(prefix=SPILL_PREFIX, dir=parent) as folder:
        # Locked before it is named as the owner file: a folder's owner file, once there, is held.
        with open(os.path.join(folder, SPILL_OWNER + ".new"), "w") as owner:
            fcntl.flock(owner, fcntl.LOCK_EX)
            os.rename(owner.name, os.path.join(folder, SPILL_OWNER))
            yield folder


def remove_stale_spill_folders(parent: str | Path) -> list[str]:
    """Remove the spill folders in `parent` that no running night owns (their owner file's lock
    is free, or, from an earlier rekap, they have no owner file and are over an hour old); the
    folders removed. A folder just made, whose owner file is not written yet, is left alone."""
    removed = []
    try:
        candidates = [entry for entry in os.scandir(parent) if entry.name.startswith(SPILL_PREFIX) and entry.is_dir(follow_symlinks=False)]
    except OSError:
        return removed
    for entry in candidates:
        owner_path = os.path.join(entry.path, SPILL_OWNER)
        try:
            owner = open(owner_path)
        except FileNotFoundError:
            try:
                if time.time() - entry.stat(follow_symlinks=False).st_mtime > UNOWNED_SPILL_SECONDS:
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed.append(entry.path)
            except OSError:
                pass
            continue
        except OSError:
            continue
        with owner:
            try:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a running night holds it
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


def bound_memory(con: duckdb.DuckDBPyConnection, memory_limit: str, spill: str) -> None:
    """Hold DuckDB to `memory_limit` for a night; what does not fit spills to folder `spill`."""
    try:
        con.execute("set memory_limit = ?", [memory_limit])
    except duckdb.Error as exc:
        raise WarehouseError(f"memory limit {memory_limit!r}: {str(exc).splitlines()[0]} (use e.g. 1300MB or 4GB)") from exc
    con.execute("set temp_directory = ?", [spill])
    # Memory a query freed goes back to the system when it was more than this, not kept by
    # DuckDB's allocator for the next model (512MB by default): a national first night's peak
    # 2.1 -> 1.9 GB, its models ~10% slower.
    con.execute(f"set allocator_bulk_deallocation_flush_threshold = '{FLUSH_THRESHOLD}'")


FLUSH_THRESHOLD = "16MB"


def sandbox(con: duckdb.DuckDBPyConnection, location: Location, memory_limit: str, threads: int | None = None) -> None:
    """Lock a read-only connection so that the SQL a user types can read the lake and nothing
    else: no file outside the lake's data folder read, no file written, no setting changed
    back (the configuration is locked last)."""
    con.execute("set memory_limit = ?", [memory_limit])
    if threads:
        con.execute(f"set threads = {int(threads)}")
    con.execute("set temp_directory = ''")  # spilling would write files: a query over the limit fails instead
    con.execute("set allowed_directories = ?", [[str(location.data_path) + "/"]])
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")


@contextmanager
def statement_timeout(con: duckdb.DuckDBPyConnection, seconds: float | None):
    """Interrupt the connection's running statement after `seconds` (DuckDB has no timeout of its
    own). Yields a callable saying whether the timeout fired."""
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, interrupt) if seconds else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield fired.is_set
    finally:
        if timer:
            timer.cancel()


@contextmanager
def writer_lock(location: Location):
    """One run at a time per embedded warehouse: a second fails at once with a message, instead of
    meeting SQLite's lock mid-run. A PostgreSQL catalog takes concurrent runs (conflicts retried)."""
    file = location.catalog_file
    if file is None:
        yield
        return
    lock_path = file.with_name(file.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseError(f"the warehouse {file} is busy: another rekap run is writing it (lock {lock_path}); try again when it ends") from None
        yield


def is_out_of_memory(exc: BaseException) -> bool:
    """DuckDB could not fit a statement in the night's memory limit (an ordered aggregate or a
    join that cannot spill); the error may be wrapped (a model's ModelError)."""
    while exc is not None:
        if isinstance(exc, duckdb.OutOfMemoryException):
            return True
        exc = exc.__cause__
    return False


MEMORY_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def raised_memory_limit(limit: str) -> str | None:
    """Twice `limit` (a DuckDB size such as 1300MB or 4GB), held to half of this machine's memory;
    None when it cannot be read or is there already."""
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]+)\s*", limit.lower())
    if found is None or found.group(2) not in MEMORY_UNITS:
        return None
    current = float(found.group(1)) * MEMORY_UNITS[found.group(2)]
    ceiling = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    if current >= ceiling:
        return None
    return f"{min(2 * current, ceiling) / 10**6:.0f}MB"


def is_conflict(exc: BaseException) -> bool:
    """A commit refused because a concurrent transaction changed the same tables (PostgreSQL
    catalog, two machines): the unit of work is retried on the new state."""
    return isinstance(exc, duckdb.Error) and "Transaction conflict" in str(exc)


def lake_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables of the connection's warehouse, as committed (not those created by its open
    transaction). DuckLake's own listing costs ~8 ms; `duckdb_tables()` first loads every table's
    statistics, ~150 ms on a connection's first call, a third of a quiet small night. On a plain
    DuckDB database (model tests), its tables."""
    if con.execute("select current_database()").fetchone()[0] == LAKE:
        return {name for (name,) in con.execute(f"select table_name from ducklake_table_info('{LAKE}')").fetchall()}
    return {name for (name,) in con.execute("select table_name from duckdb_tables() where database_name = current_database()").fetchall()}


def snapshot_id(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute(f"select max(snapshot_id) from {LAKE}.snapshots()").fetchone()[0]


def give_stats(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Give a table just created empty its statistics (a record count of 0).

    DuckLake 1.5.5 plans every query on a table that has no statistics with one catalog query per
    column read, about 5 ms each, every time (duckdb/ducklake#1313, fixed after 1.5.5): an empty
    25-column table costs 100-200 ms a scan against 10 ms once it has held a row. A row inserted
    and deleted in the writer's transaction (every rekap write is one) writes them; no snapshot
    ever holds the row.
    """
    con.execute(f"insert into {table} default values")
    con.execute(f"delete from {table}")
