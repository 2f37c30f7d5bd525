"""The warehouse's raw and bookkeeping tables: create them, document every column.

Opening the warehouse (a DuckLake) is warehouse/storage.py's; `connect` is re-exported here.
"""

from __future__ import annotations

import duckdb
import polars as pl

from schemas.counts import COUNT_TABLES
from schemas.raw import RAW_TABLES, column_descriptions
from warehouse import storage
from warehouse.storage import connect  # noqa: F401  (the one way in, for callers of warehouse.db)

DUCKDB_TYPES = {pl.Utf8: "VARCHAR", pl.Int64: "BIGINT", pl.Boolean: "BOOLEAN", pl.List(pl.Utf8): "VARCHAR[]", pl.Datetime("us"): "TIMESTAMP"}

# A mirror file as a run loaded it: the columns of raw_files (the log) and raw_files_current.
FILE_COLUMNS = {
    "source_file": ("VARCHAR", "File on disk (raw_observations.source_file)."),
    "size_bytes": ("BIGINT", "Its size when read."),
    "mtime_ns": ("BIGINT", "Its modification time when read (ns since the epoch): same size and time, not read again."),
    "bytes_hash": ("VARCHAR", "BLAKE2b-128 of its bytes: a file rewritten with the same bytes is not parsed again."),
    "version_id": ("VARCHAR", "The document version those bytes are (raw_documents.version_id)."),
    "run_id": ("VARCHAR", "The run that read it."),
    "loaded_at": ("TIMESTAMP", "When (UTC)."),
}

# Tables the loader keeps besides the raw record tables; their columns are documented here.
BOOKKEEPING = {
    "raw_observations": (
        "one row per time a run read a document version from a source file",
        {
            "version_id": ("VARCHAR", "The document version read (raw_documents.version_id)."),
            "run_id": ("VARCHAR", "The run that read it (runs.run_id)."),
            "source_file": ("VARCHAR", "File on disk: a mirror's JSON file or a dump."),
            "source_path": ("VARCHAR", "Endpoint path of the document inside the mirror or dump."),
            "locator": ("VARCHAR", "Where inside the file (a dump's line), empty for a mirror file."),
            "observed_seq": ("BIGINT", "Global order of observation: the latest version of a node has the highest."),
            "observed_at": ("TIMESTAMP", "When the run read it (UTC)."),
        },
    ),
    "raw_files": (
        "one row per mirror file each time a run found new bytes in it (its first read, or changed): which bytes, and the version they are (a log, never rewritten; the same bytes under a new modification time only move raw_files_current)",
        FILE_COLUMNS,
    ),
    "raw_files_current": (
        "one row per mirror file: its latest raw_files row, under the stat the last run that read it found (what the next night compares its listing with)",
        FILE_COLUMNS,
    ),
    "model_builds": (
        "one row per night that built the models: what they were built from",
        {
            "run_id": ("VARCHAR", "The run (runs.run_id)."),
            "code_fingerprint": ("VARCHAR", "JSON: a hash of each model's and audit's SQL file by name (another, and that model is rebuilt whole), and under @shared one of the SQL functions, macros, seeds and rule pack (another, and every model is)."),
            "input_counts": ("VARCHAR", "JSON: row count of each table the models read, after the night (a model is rebuilt when a table it reads moved), and under @observed_seq the last observation loaded (what the next night gained is after it)."),
            "models_built": ("BIGINT", "Models rebuilt that night (the others were current: nothing they read changed)."),
            "built_at": ("TIMESTAMP", "When (UTC)."),
        },
    ),
    "quarantine": (
        "one row per record a run could not load, with the first rule it broke",
        {
            "run_id": ("VARCHAR", "The run that read the record."),
            "source_file": ("VARCHAR", "File on disk the record came from."),
            "source_path": ("VARCHAR", "Endpoint path of the record inside the mirror or dump."),
            "locator": ("VARCHAR", "Where inside the file (a dump's line)."),
            "node_code": ("VARCHAR", "Region or TPS code named by the record's path, if any."),
            "rule": ("VARCHAR", "The rule broken: not_json, unknown_path, unknown_shape, wrong_type, unreadable or a contract check."),
            "reason": ("VARCHAR", "What exactly failed (up to five failures)."),
            "excerpt": ("VARCHAR", "The start of the record, to find it by eye."),
            "quarantined_at": ("TIMESTAMP", "When (UTC)."),
        },
    ),
    "runs": (
        "one row per run: what it read and what became of it (records_read = records_loaded + records_quarantined)",
        {
            "run_id": ("VARCHAR", "Run id: UTC start time and a random suffix."),
            "started_at": ("TIMESTAMP", "Start (UTC)."),
            "ended_at": ("TIMESTAMP", "End (UTC); null while running or if killed."),
            "status": ("VARCHAR", "running, succeeded, failed (see error)."),
            "sources": ("VARCHAR[]", "The mirror folders and dump files read."),
            "files_read": ("BIGINT", "Files opened."),
            "records_read": ("BIGINT", "Documents read (a mirror file or a dump line each)."),
            "records_loaded": ("BIGINT", "Documents accepted (new versions or re-observations of known ones)."),
            "records_quarantined": ("BIGINT", "Documents sent to quarantine."),
            "versions_new": ("BIGINT", "Document versions the warehouse did not have before."),
            "observations_new": ("BIGINT", "Observations added (0 when the same files are loaded again)."),
            "error": ("VARCHAR", "Why the run failed."),
        },
    ),
}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw and bookkeeping tables if missing, with their column comments."""
    existing = storage.lake_tables(con)
    if existing >= {*RAW_TABLES, *COUNT_TABLES, *BOOKKEEPING}:
        return  # commented when created: a night adds no catalog change for them
    descriptions = column_descriptions()
    for table, (_, model, schema) in RAW_TABLES.items():
        columns = ", ".join(f"{name} {DUCKDB_TYPES[dtype]}" for name, dtype in schema.items())
        create_table(con, table, columns, existing)
        comment_table(con, table, (model.__doc__ or "").strip(), descriptions[table])
    for table, (model, schema) in COUNT_TABLES.items():
        columns = ", ".join(f"{name} {DUCKDB_TYPES[dtype]}" for name, dtype in schema.items())
        create_table(con, table, columns, existing)
        described = {n: c.description for n, c in model.to_schema().columns.items() if c.description}
        comment_table(con, table, (model.__doc__ or "").strip().splitlines()[0], described)
    for table, (grain, columns) in BOOKKEEPING.items():
        create_table(con, table, ", ".join(f"{c} {t}" for c, (t, _) in columns.items()), existing)
        comment_table(con, table, f"{table}: {grain}.", {c: d for c, (_, d) in columns.items()})
    if "raw_files_current" not in existing:  # a lake from before it: each file's latest row, once
        fill_current_files(con)


def fill_current_files(con: duckdb.DuckDBPyConnection) -> None:
    """raw_files_current from the raw_files log: each file's latest row (by loaded_at, then run_id).
    A file found again since under a new stat keeps the stat of that row: the next night reads
    and hashes it again, and parses nothing."""
    con.execute("delete from raw_files_current")
    con.execute(
        """insert into raw_files_current by name
           select unnest(arg_max(raw_files, (loaded_at, run_id))) from raw_files group by source_file"""
    )


def create_table(con: duckdb.DuckDBPyConnection, table: str, columns: str, existing: set[str]) -> None:
    """Create a raw or bookkeeping table if missing; empty, with its statistics (storage.give_stats)."""
    if table not in existing:
        con.execute(f"create table {table} ({columns})")
        storage.give_stats(con, table)


def comment_table(con: duckdb.DuckDBPyConnection, table: str, comment: str, columns: dict[str, str], kind: str = "table") -> None:
    """COMMENT ON a table (its columns too) or, with kind="view", a view (whose columns take none)."""
    # COMMENT ON takes no parameters: quote the literal ourselves (the text is ours, not user input).
    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    if comment:
        con.execute(f"comment on {kind} {table} is {literal(comment)}")
    for column, text in columns.items():
        con.execute(f"comment on column {table}.{column} is {literal(text)}")
