"""Load a validated batch into the raw layer; record runs and quarantine.

Versions are append-only: a document version (same node, same content) is stored once, and
every later reading of it is an observation. Loading the same files again adds nothing.
Every write here happens inside the run's one transaction (flows/pipeline.py commits it), so
a run that fails or is killed leaves no trace but its `runs` row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from schemas.raw import RAW_TABLES
from schemas.rows import FILE_SCHEMA
from warehouse.checkpoints import pause_point

OBSERVATION_SCHEMA = {"version_id": pl.Utf8, "source_file": pl.Utf8, "source_path": pl.Utf8, "locator": pl.Utf8, "position": pl.Int64}
QUARANTINE_SCHEMA = {c: pl.Utf8 for c in ("source_file", "source_path", "locator", "node_code", "rule", "reason", "excerpt")}


@dataclass(frozen=True)
class LoadResult:
    records_read: int
    records_loaded: int
    records_quarantined: int
    versions_new: int
    observations_new: int


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, sources: list[str]) -> None:
    con.execute(
        "insert into runs (run_id, started_at, status, sources) values (?, ?, 'running', ?)",
        [run_id, utc_now(), sources],
    )


def loaded_sources(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every source path a succeeded run has loaded (as `runs.sources` records it)."""
    rows = con.execute("select distinct unnest(sources) from runs where status = 'succeeded'").fetchall()
    return {source for (source,) in rows}


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, error: str | None = None) -> None:
    con.execute("update runs set ended_at = ?, status = ?, error = ? where run_id = ?", [utc_now(), status, error, run_id])


def load_batch(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    frames: dict[str, pl.DataFrame],
    observations: list[dict],
    quarantine: list[dict],
    files_read: int,
    records_read: int,
    known_records: int = 0,
    refreshed_files: list[pl.DataFrame] | None = None,
) -> LoadResult:
    """Insert what is new (inside the caller's transaction). `known_records` were recognised by
    their bytes as versions this warehouse already holds from the same files: loaded, not new."""
    now = utc_now()
    # A batch of known files read under a new stat (a mirror downloaded again) holds no rows and
    # no observation: each statement below would still read the raw tables it compares with.
    new_versions = pl.DataFrame(schema={"version_id": pl.Utf8})
    documents = frames["raw_documents"]
    if documents.height:
        new_versions = con.sql("select version_id from documents anti join raw_documents using (version_id)").pl()
    for table in RAW_TABLES:
        fresh = frames[table].join(new_versions, on="version_id", how="semi")
        if fresh.is_empty():  # an insert of nothing still costs a lake write
            continue
        # Read by name from this frame: a frame registered (con.register) stays held by the
        # transaction until it commits, every batch's rows of the night (1 GB nationally).
        con.execute(f"insert into {table} by name select * from fresh")

    observations_new = insert_observations(con, run_id, observations, now) if observations else 0
    record_files(con, run_id, observations, refreshed_files or [])

    if quarantine:
        quarantined = pl.DataFrame([{k: q.get(k) for k in QUARANTINE_SCHEMA} for q in quarantine], schema=QUARANTINE_SCHEMA)
        con.execute("insert into quarantine by name select ? as run_id, *, ? as quarantined_at from quarantined", [run_id, now])

    result = LoadResult(records_read, len(observations) + known_records, len(quarantine), new_versions.height, observations_new)
    add_to_run(con, run_id, files_read, result)
    pause_point("load")  # everything written, nothing committed
    return result


def insert_observations(con: duckdb.DuckDBPyConnection, run_id: str, observations: list[dict], now: datetime) -> int:
    """Record each reading of a version from a file (once per version, file and path); how many were new."""
    # Column by column: a dict a row cost 4 s of a national first night, the columns 2.3 s.
    observed = pl.DataFrame(
        {k: [o[k] for o in observations] for k in OBSERVATION_SCHEMA}, schema=OBSERVATION_SCHEMA
    ).unique(["version_id", "source_file", "source_path"], keep="last", maintain_order=True)
    base = con.execute("select coalesce(max(observed_seq), 0) from raw_observations").fetchone()[0]
    before = con.execute("select count(*) from raw_observations").fetchone()[0]
    con.execute(
        """
        insert into raw_observations by name
        select observed.version_id, ? as run_id, observed.source_file, observed.source_path, observed.locator,
               ? + observed.position + 1 as observed_seq, ? as observed_at
        from observed
        anti join raw_observations using (version_id, source_file, source_path)
        """,
        [run_id, base, now],
    )
    return con.execute("select count(*) from raw_observations").fetchone()[0] - before


def count_known(con: duckdb.DuckDBPyConnection, run_id: str, files_read: int, records_read: int, known_records: int) -> LoadResult:
    """A batch of files the warehouse holds byte for byte: loaded (their observations exist), nothing new."""
    result = LoadResult(records_read, known_records, 0, 0, 0)
    add_to_run(con, run_id, files_read, result)
    return result


def add_to_run(con: duckdb.DuckDBPyConnection, run_id: str, files_read: int, result: LoadResult) -> None:
    # Added, not set: a run loads its sources batch by batch (and count files after them).
    con.execute(
        """update runs set files_read = coalesce(files_read, 0) + ?, records_read = coalesce(records_read, 0) + ?,
                  records_loaded = coalesce(records_loaded, 0) + ?, records_quarantined = coalesce(records_quarantined, 0) + ?,
                  versions_new = coalesce(versions_new, 0) + ?, observations_new = coalesce(observations_new, 0) + ?
           where run_id = ?""",
        [files_read, result.records_read, result.records_loaded, result.records_quarantined,
         result.versions_new, result.observations_new, run_id],
    )  # fmt: skip


def record_files(con: duckdb.DuckDBPyConnection, run_id: str, observations: list[dict], refreshed: list[pl.DataFrame]) -> None:
    """Remember which bytes each mirror file held when it loaded, so the next night recognises
    an unchanged file without parsing it. The files observed (bytes the warehouse did not hold
    from that file) are appended to the raw_files log; they and the `refreshed` ones (the same
    bytes found again under a new stat, FILE_SCHEMA) replace each file's row in
    raw_files_current."""
    observed = pl.DataFrame(
        [(o["source_file"], *o["stat"], o["version_id"]) for o in observations if o.get("stat")], schema=FILE_SCHEMA, orient="row"
    )  # fmt: skip
    files = pl.concat([observed, *refreshed])
    if not files.height:
        return
    stamp = [run_id, utc_now()]
    # A refreshed file is not logged: its bytes, and so its hash and version, are those of its
    # row already in the log, and only its stat moved. A mirror downloaded again whole each
    # night would otherwise log every file again: 79 MB a night nationally, kept for ever.
    if observed.height:
        con.execute("insert into raw_files by name select *, ? as run_id, ? as loaded_at from observed", stamp)
    latest = files.unique("source_file", keep="last")  # a file read twice in one batch: one current row
    # Each file's earlier row replaced: deleted by a join on the file (0.2 s for 250,000 files at
    # a million rows; 0.9 s over a national first night's 20 batches, which could skip it but for
    # a folder given twice, or inside another source, whose files a later batch reads again).
    con.execute("delete from raw_files_current where source_file in (select source_file from latest)")
    con.execute("insert into raw_files_current by name select *, ? as run_id, ? as loaded_at from latest", stamp)


def held_files(con: duckdb.DuckDBPyConnection, root: str) -> pl.DataFrame:
    """What the warehouse last loaded from each file below the folder `root`: source_file,
    size_bytes, mtime_ns, bytes_hash, version_id. Only files whose version loaded: a
    quarantined file is read again."""
    # raw_files_current, not the latest row of each file in the raw_files log: a mirror
    # downloaded again whole adds a row for every file, and finding each file's latest among
    # them cost 0.8 s at a million rows, 2.0-2.4 s at two million.
    return con.execute(
        "select source_file, size_bytes, mtime_ns, bytes_hash, version_id from raw_files_current where starts_with(source_file, ?)",
        [_below(root)],
    ).pl()


def holds_files(con: duckdb.DuckDBPyConnection, root: str) -> bool:
    """Whether `held_files` would give any row, without reading them."""
    return con.execute("select exists (select 1 from raw_files_current where starts_with(source_file, ?))", [_below(root)]).fetchone()[0]


def _below(root: str) -> str:
    return root.rstrip("/") + "/"
