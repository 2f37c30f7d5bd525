"""Contracts for count files: the internal count and the official recap (D.HASIL).

One model per boundary: `InternalCountRow` and `OfficialRecapRow` check the rows a reader made of
each kind of file, `CountVote` their votes, `RawCountFile` the file itself. The same frames are
what the raw tables `raw_count_files`, `raw_count_rows` and `raw_count_votes` hold, so these
descriptions become the warehouse's column comments. A file breaking any rule is not loaded at
all; `check_count_table` says why, naming file, column and row.
"""

from __future__ import annotations

from typing import Annotated, Optional

import pandera.polars as pa
from pandera.polars import PolarsData
import polars as pl

from schemas.raw import MAX_NODE_COUNT
from schemas.regions import LEVELS as REGION_LEVELS
from schemas.rows import ROW_SCHEMA, VOTE_SCHEMA, CountTable

# [0-9], not \d (which also matches Arabic-Indic digits); counts bounded as in schemas/raw.py.
CODE = r"^([0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{10}|[0-9]{13})$"
LEVELS = REGION_LEVELS[1:]  # a count file names no nation
EXAMPLES = 3


class RawCountFile(pa.DataFrameModel):
    """raw_count_files: one row per version of a count file (same bytes, same race, same column mapping = one version)."""

    version_id: str = pa.Field(unique=True, description="Id of this version: hash of kind, race, column mapping and the file's bytes.")
    source_kind: str = pa.Field(isin=["internal", "official"], description="internal (a campaign's or watchdog's own count) or official (the D.HASIL recap).")
    election: str = pa.Field(str_matches=r"^(pemilu|pilkada)\d{4}$", description="Election id the file's numbers belong to, e.g. pilkada2024.")
    contest: str = pa.Field(str_matches=r"^[a-z]+$", description="Contest the file's numbers belong to, e.g. pkwkp.")
    content_hash: str = pa.Field(str_length={"min_value": 64, "max_value": 64}, description="SHA-256 of the file's bytes.")
    file_format: str = pa.Field(isin=["csv", "xlsx", "parquet"], description="How the file was read.")
    column_map: str = pa.Field(description="Each header and what it was read as (field, candidate NN or ignored), as JSON.")
    data_rows: int = pa.Field(ge=1, description="Data rows in the file (submissions, for a long-form file).")


class _CountRow(pa.DataFrameModel):
    version_id: str = pa.Field(description="The file version (raw_count_files.version_id).")
    row_number: int = pa.Field(ge=2, description="Row in the file, counting the header as row 1 (a long-form submission: its first row).")
    code: str = pa.Field(str_matches=CODE, description="Region or TPS code (2, 4, 6, 10 or 13 digits), as SIREKAP writes it.")
    level: Optional[str] = pa.Field(nullable=True, isin=LEVELS, description="Region level, from the code's length (null only beside a malformed code, which the code rule refuses).")
    name: Optional[str] = pa.Field(nullable=True, description="The row's name as the file gives it (display only; codes join).")
    is_total: bool = pa.Field(description="The recap's total row (its code contains every other row's code).")
    submitted_at: Optional[Annotated[pl.Datetime, "us", None]] = pa.Field(nullable=True, description="When the row was submitted or reported, as the file says.")
    witness_id: Optional[str] = pa.Field(nullable=True, description="Witness (saksi) who submitted the row.")
    suara_sah: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_NODE_COUNT, description="Valid votes as the file gives them; null = not given.")
    suara_tidak_sah: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_NODE_COUNT, description="Invalid votes; null = not given.")
    dpt: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_NODE_COUNT, description="Registered voters (DPT); null = not given.")
    source_note: Optional[str] = pa.Field(nullable=True, description="The file's own note on where the row comes from (sumber).")


class InternalCountRow(_CountRow):
    """raw_count_rows: one row per count file version x data row (a region's or TPS's numbers as one submission)."""

    @pa.dataframe_check
    def no_total_rows(cls, data: PolarsData) -> pl.LazyFrame:
        """An internal count has no total row: each row is its own claim."""
        return data.lazyframe.select(~pl.col("is_total"))


class OfficialRecapRow(_CountRow):
    """raw_count_rows, for an official recap: each region once, at most one total row."""

    @pa.dataframe_check
    def one_row_per_region(cls, data: PolarsData) -> pl.LazyFrame:
        """A recap lists each region once."""
        return data.lazyframe.select(pl.len().over("code") == 1)

    @pa.dataframe_check
    def at_most_one_total_row(cls, data: PolarsData) -> pl.LazyFrame:
        """A recap has one total row at most."""
        return data.lazyframe.select(~pl.col("is_total") | (pl.col("is_total").sum() <= 1))


class CountVote(pa.DataFrameModel):
    """raw_count_votes: one row per count file version x data row x candidate with a number (an empty cell has no row: unknown, not zero)."""

    version_id: str = pa.Field(description="The file version.")
    row_number: int = pa.Field(ge=2, description="The row (raw_count_rows.row_number).")
    nomor_urut: int = pa.Field(ge=1, le=99, description="Ballot number of the candidate (pair), from the column header or the candidate cell.")
    votes: int = pa.Field(ge=0, le=MAX_NODE_COUNT, description="Votes for the candidate in the row.")
    column_name: str = pa.Field(description="The header the number was read from (names beside numbers, e.g. isran_hadi_01).")


# Table name -> (model, polars schema): created by warehouse.db.ensure_schema, filled by warehouse.counts.
COUNT_TABLES: dict[str, tuple[type[pa.DataFrameModel], dict]] = {
    "raw_count_files": (RawCountFile, {"version_id": pl.Utf8, "source_kind": pl.Utf8, "election": pl.Utf8, "contest": pl.Utf8, "content_hash": pl.Utf8, "file_format": pl.Utf8, "column_map": pl.Utf8, "data_rows": pl.Int64}),
    "raw_count_rows": (InternalCountRow, {"version_id": pl.Utf8} | ROW_SCHEMA),
    "raw_count_votes": (CountVote, {"version_id": pl.Utf8} | VOTE_SCHEMA),
}
ROW_MODELS = {"internal": InternalCountRow, "official": OfficialRecapRow}


def check_count_table(table: CountTable, version_id: str = "-") -> list[tuple[str, str, str, str | None]]:
    """Validate a read file eagerly; return (rule, locator, reason, code) for each failure (empty = loadable)."""
    failures = []
    rows = table.rows.with_columns(pl.lit(version_id).alias("version_id"))
    votes = table.votes.with_columns(pl.lit(version_id).alias("version_id"))
    for what, model, frame in (("row", ROW_MODELS[table.kind], rows), ("vote", CountVote, votes)):
        try:
            model.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            cases = err.failure_cases
            for case in cases.head(EXAMPLES).iter_rows(named=True):
                index = case["index"]
                row = frame.row(index, named=True) if index is not None else {}
                where = f"row {row['row_number']}" if row else "the file"
                code = row.get("code")
                column = case["column"] or what
                at = f"{where}{f' (code {code})' if code else ''}"
                rule_doc = getattr(getattr(model, str(case["check"]), None), "__doc__", None)
                if column not in frame.columns and rule_doc:  # a whole-row rule
                    failures.append((case["check"], where, f"{at}: {rule_doc.strip()}", code))
                    continue
                header = _header(table, column, row)
                reason = f"{at}: column {header!r} = {case['failure_case']!r} breaks {case['check']}"
                if column == "code":
                    reason += " (a region code has 2, 4, 6, 10 or 13 digits)"
                failures.append((_rule(case["check"], column), f"{where}, column {header}", reason, code))
    return failures


def _header(table: CountTable, column: str, row: dict) -> str:
    """The file's own header for a canonical column, for messages."""
    if column == "votes" and row.get("column_name"):
        return row["column_name"]
    for header, meaning in table.columns.items():
        if meaning == column:
            return header
    return column


def _rule(check: str, column: str) -> str:
    if column == "code":
        return "not_a_region"
    return check
