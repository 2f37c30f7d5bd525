"""Load a validated batch into the raw layer; record runs and quarantine.

Versions are append-only: a document version (same node, same content) is stored once, and
every later reading of it is an observation. Loading the same files again adds nothing.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from flows.batch import iter_batches
from schemas.raw import RAW_TABLES, validate_rows
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
) -> LoadResult:
    """Insert what is new, in one transaction: a failure leaves the warehouse as it was."""
    now = utc_now()
    con.begin()
    try:
        documents = frames["raw_documents"]
        new_versions = con.sql("select version_id from documents anti join raw_documents using (version_id)").pl()
        for table in RAW_TABLES:
            fresh = frames[table].join(new_versions, on="version_id", how="semi")
            con.register("fresh", fresh.to_arrow())
            con.execute(f"insert into {table} by name select * from fresh")
            con.unregister("fresh")

        observed = pl.DataFrame(
            [{k: o[k] for k in OBSERVATION_SCHEMA} for o in observations], schema=OBSERVATION_SCHEMA
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
        observations_new = con.execute("select count(*) from raw_observations").fetchone()[0] - before

        quarantined = pl.DataFrame([{k: q.get(k) for k in QUARANTINE_SCHEMA} for q in quarantine], schema=QUARANTINE_SCHEMA)
        con.execute("insert into quarantine by name select ? as run_id, *, ? as quarantined_at from quarantined", [run_id, now])

        result = LoadResult(records_read, len(observations), len(quarantine), new_versions.height, observations_new)
        # Added, not set: a run loads its sources batch by batch (and count files after them).
        con.execute(
            """update runs set files_read = coalesce(files_read, 0) + ?, records_read = coalesce(records_read, 0) + ?,
                      records_loaded = coalesce(records_loaded, 0) + ?, records_quarantined = coalesce(records_quarantined, 0) + ?,
                      versions_new = coalesce(versions_new, 0) + ?, observations_new = coalesce(observations_new, 0) + ?
               where run_id = ?""",
            [files_read, records_read, result.records_loaded, result.records_quarantined,
             result.versions_new, result.observations_new, run_id],
        )  # fmt: skip
        pause_point("load")  # everything written, nothing committed
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return result


def ingest(
    con: duckdb.DuckDBPyConnection, run_id: str, sources: list, election_year: int, chunk_records: int | None = 50_000
) -> LoadResult:
    """Read, validate and load every source of a run (the pull -> validate -> load steps), one
    batch of at most `chunk_records` records at a time."""
    totals = LoadResult(0, 0, 0, 0, 0)
    for number, batch in enumerate(iter_batches(sources, election_year, chunk_records)):
        if number == 0:
            con.execute("update runs set sources = ? where run_id = ?", [batch.sources, run_id])
        validated = validate_rows(batch.rows)
        batch.quarantine_versions(validated.rejected)
        loaded = load_batch(con, run_id, validated.frames, batch.observations, batch.quarantine, batch.files_read, batch.records_read)
        totals = LoadResult(*(a + b for a, b in zip(dataclasses.astuple(totals), dataclasses.astuple(loaded))))
    return totals
