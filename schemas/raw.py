"""Contracts for the raw layer: one pandera model per record shape a SIREKAP export yields.

Column meanings live here, once; the loader copies these descriptions onto the warehouse
tables as column comments. `validate_rows` is the boundary: rows that break a contract take
their whole document to quarantine, so no node is ever half-loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Optional

import pandera.polars as pa
import polars as pl
import pyarrow

from schemas.rows import ADMIN_FIELDS, Rows

# [0-9], not \d: a Unicode-aware \d also matches Arabic-Indic and other digits no code uses.
CODE = r"^(0|[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{10}|[0-9]{13})$"
DIGITS = r"^[0-9]+$"
# Bounds on what a count can possibly be, far above any real figure: a TPS serves at most a few
# hundred voters, so 10^6 at a TPS; no region has more voters than the nation's DPT (about 205
# million in 2024), and no node more TPS than the nation (about 823,000). A document beyond them
# is misread or hostile, and sums of bounded counts cannot overflow the warehouse's integers.
MAX_TPS_COUNT = 1_000_000
MAX_NODE_COUNT = 205_000_000
MAX_TPS_UNDER_NODE = 1_000_000


class RawDocument(pa.DataFrameModel):
    """raw_documents: one row per distinct version of an exported document."""

    version_id: str = pa.Field(unique=True, description="Id of this version: hash of document kind, election, contest, code and content.")
    kind: str = pa.Field(isin=["node", "candidates", "regions"], description="node (a count), candidates (a candidate master) or regions (a region list).")
    election: str = pa.Field(str_matches=r"^(pemilu|pilkada)\d{4}$", description="Election id, e.g. pilkada2024.")
    contest: str = pa.Field(str_matches=r"^[a-z]+$", description="Contest: ppwp (president), pkwkp (governor), pkwkk (regent/mayor), ...")
    code: str = pa.Field(str_matches=CODE, description="Region code of the document (0 = national or contest-wide).")
    content_hash: str = pa.Field(str_length={"min_value": 64, "max_value": 64}, description="SHA-256 of the payload with sorted keys: equal content, equal hash.")
    ts: Optional[str] = pa.Field(nullable=True, description="The publisher's own timestamp (`ts`); a claim, not used for ordering.")


class RawNode(pa.DataFrameModel):
    """raw_nodes: one row per node version (an aggregate region node or a TPS node)."""

    version_id: str = pa.Field(unique=True, description="The node version (raw_documents.version_id).")
    level: str = pa.Field(isin=["nasional", "provinsi", "kabkota", "kecamatan", "kelurahan", "tps"], description="Region level, from the code's length.")
    node_type: str = pa.Field(isin=["aggregate", "tps"], description="aggregate (has a table of children) or tps.")
    mode: Optional[str] = pa.Field(nullable=True, description="Publisher's mode field (hhcw); absent in early files.")
    psu: Optional[str] = pa.Field(nullable=True, description="Re-vote marker: Reguler/null for a normal count.")
    status_suara: Optional[bool] = pa.Field(nullable=True, description="TPS: publisher says the vote count is in.")
    status_adm: Optional[bool] = pa.Field(nullable=True, description="TPS: publisher says the administration block is in.")
    has_chart: bool = pa.Field(description="The node published candidate counts (false = no data, not zero).")
    has_admin: bool = pa.Field(description="TPS: the administrasi block is present.")
    progress_total: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_UNDER_NODE, description="TPS under this node (1 for a TPS).")
    progress_reported: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_UNDER_NODE, description="TPS under this node that reported (a TPS: 1 if it has a chart).")
    images: Optional[Annotated[pl.List, pl.Utf8]] = pa.Field(nullable=True, description="TPS: URLs of the C.HASIL form photos (null slots kept).")


class RawNodeVote(pa.DataFrameModel):
    """raw_node_votes: one row per node version x candidate with a published count."""

    version_id: str = pa.Field(description="The node version.")
    candidate_id: str = pa.Field(str_matches=DIGITS, description="SIREKAP candidate id (not the ballot number).")
    votes: int = pa.Field(ge=0, le=MAX_NODE_COUNT, description="Votes for the candidate in this node's own chart.")


class RawTpsVote(RawNodeVote):
    """raw_node_votes of TPS nodes: the same rows, bounded by what one TPS can count."""

    votes: int = pa.Field(ge=0, le=MAX_TPS_COUNT, description="Votes for the candidate at the TPS.")


class RawChildRow(pa.DataFrameModel):
    """raw_child_rows: one row per aggregate node version x child region in its table."""

    version_id: str = pa.Field(description="The parent node version.")
    child_code: str = pa.Field(str_matches=CODE, description="The child region's code.")
    status_progress: Optional[bool] = pa.Field(nullable=True, description="false = the child has no data yet (its counts are not zeros).")
    psu: Optional[str] = pa.Field(nullable=True, description="Re-vote marker of the child row.")
    progress_total: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_UNDER_NODE, description="TPS under the child (Pilkada rows only).")
    progress_reported: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_UNDER_NODE, description="TPS under the child that reported (Pilkada rows only).")
    has_votes: bool = pa.Field(description="The row carries candidate counts.")


class RawChildVote(pa.DataFrameModel):
    """raw_child_votes: one row per aggregate node version x child region x candidate."""

    version_id: str = pa.Field(description="The parent node version.")
    child_code: str = pa.Field(str_matches=CODE, description="The child region's code.")
    candidate_id: str = pa.Field(str_matches=DIGITS, description="SIREKAP candidate id.")
    votes: int = pa.Field(ge=0, le=MAX_NODE_COUNT, description="Votes for the candidate in the child, as the parent's table states.")


class RawTpsAdmin(pa.DataFrameModel):
    """raw_tps_admin: one row per TPS node version with an administrasi block (C.HASIL page 1)."""

    version_id: str = pa.Field(unique=True, description="The TPS node version.")
    suara_sah: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT, description="Valid votes.")
    suara_tidak_sah: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT, description="Invalid votes.")
    suara_total: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT, description="Ballots cast (valid + invalid).")
    pemilih_dpt_j: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT, description="Registered voters (DPT), total; _l male, _p female below.")
    pemilih_dpt_l: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pemilih_dpt_p: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pengguna_dpt_j: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT, description="Voters from the DPT who voted.")
    pengguna_dpt_l: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pengguna_dpt_p: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pengguna_dptb_j: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT, description="Voters moved in (DPTb) who voted.")
    pengguna_dptb_l: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pengguna_dptb_p: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pengguna_non_dpt_j: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT, description="Voters not on a list (DPK) who voted.")
    pengguna_non_dpt_l: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pengguna_non_dpt_p: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pengguna_total_j: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT, description="All voters who voted.")
    pengguna_total_l: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)
    pengguna_total_p: Optional[int] = pa.Field(nullable=True, ge=0, le=MAX_TPS_COUNT)


class RawCandidate(pa.DataFrameModel):
    """raw_candidates: one row per candidate master version x candidate."""

    version_id: str = pa.Field(description="The master document version.")
    region_code: Optional[str] = pa.Field(nullable=True, description="Race region the master files the candidate under (null: national).")
    candidate_id: str = pa.Field(str_matches=DIGITS, description="SIREKAP candidate id.")
    name: Optional[str] = pa.Field(nullable=True, description="Candidate (pair) name as published.")
    nomor_urut: Optional[int] = pa.Field(nullable=True, ge=1, description="Ballot number.")
    colour: Optional[str] = pa.Field(nullable=True, description="Publisher's display colour.")


class RawRegion(pa.DataFrameModel):
    """raw_regions: one row per region list version x region."""

    version_id: str = pa.Field(description="The region list version.")
    parent_code: str = pa.Field(description="Code of the list's file (the parent region; 0 = national).")
    code: str = pa.Field(str_matches=CODE, description="Region code.")
    name: Optional[str] = pa.Field(nullable=True, description="Region name as published.")
    region_id: Optional[int] = pa.Field(nullable=True, description="Publisher's internal region id.")
    tingkat: Optional[int] = pa.Field(nullable=True, ge=1, le=5, description="Publisher's level: 1 provinsi ... 5 TPS.")


_ADMIN_DTYPES = {f: pl.Int64 for f in ADMIN_FIELDS}
# Table name, Rows attribute, model, polars schema (explicit: an empty batch still has columns).
RAW_TABLES: dict[str, tuple[str, type[pa.DataFrameModel], dict]] = {
    "raw_documents": ("documents", RawDocument, {"version_id": pl.Utf8, "kind": pl.Utf8, "election": pl.Utf8, "contest": pl.Utf8, "code": pl.Utf8, "content_hash": pl.Utf8, "ts": pl.Utf8}),
    "raw_nodes": ("nodes", RawNode, {"version_id": pl.Utf8, "level": pl.Utf8, "node_type": pl.Utf8, "mode": pl.Utf8, "psu": pl.Utf8, "status_suara": pl.Boolean, "status_adm": pl.Boolean, "has_chart": pl.Boolean, "has_admin": pl.Boolean, "progress_total": pl.Int64, "progress_reported": pl.Int64, "images": pl.List(pl.Utf8)}),
    "raw_node_votes": ("node_votes", RawNodeVote, {"version_id": pl.Utf8, "candidate_id": pl.Utf8, "votes": pl.Int64}),
    "raw_child_rows": ("child_rows", RawChildRow, {"version_id": pl.Utf8, "child_code": pl.Utf8, "status_progress": pl.Boolean, "psu": pl.Utf8, "progress_total": pl.Int64, "progress_reported": pl.Int64, "has_votes": pl.Boolean}),
    "raw_child_votes": ("child_votes", RawChildVote, {"version_id": pl.Utf8, "child_code": pl.Utf8, "candidate_id": pl.Utf8, "votes": pl.Int64}),
    "raw_tps_admin": ("tps_admin", RawTpsAdmin, {"version_id": pl.Utf8, **_ADMIN_DTYPES}),
    "raw_candidates": ("candidates", RawCandidate, {"version_id": pl.Utf8, "region_code": pl.Utf8, "candidate_id": pl.Utf8, "name": pl.Utf8, "nomor_urut": pl.Int64, "colour": pl.Utf8}),
    "raw_regions": ("regions", RawRegion, {"version_id": pl.Utf8, "parent_code": pl.Utf8, "code": pl.Utf8, "name": pl.Utf8, "region_id": pl.Int64, "tingkat": pl.Int64}),
}  # fmt: skip


@dataclass
class ValidatedBatch:
    frames: dict[str, pl.DataFrame]  # raw table name -> rows that passed every contract
    # version_id -> (rule, reason), e.g. ("greater_than_or_equal_to(0)", "raw_node_votes.votes: ... failed on -5")
    rejected: dict[str, list[tuple[str, str]]]


def to_frames(rows: Rows) -> dict[str, pl.DataFrame]:
    return {table: _frame(getattr(rows, attr), schema) for table, (attr, _, schema) in RAW_TABLES.items()}


def _frame(records: list[dict], schema: dict) -> pl.DataFrame:
    """Rows as a frame. A list column (a TPS's images) is built apart, through one Arrow list
    array: from the rows' dicts, polars takes 4.4 of a parsed national file's ~50 us on it."""
    lists = [column for column, dtype in schema.items() if isinstance(dtype, pl.List)]
    if not lists or not records:
        return pl.DataFrame(records, schema=schema)
    frame = pl.DataFrame(records, schema={c: t for c, t in schema.items() if c not in lists})
    return frame.with_columns(_list_series(c, [r.get(c) for r in records], schema[c]) for c in lists).select(list(schema))


def _list_series(name: str, lists: list[list | None], dtype: pl.List) -> pl.Series:
    """A list column from Python lists (None: a null list; None in a list: a null element)."""
    offsets, flat, missing = [0], [], []
    for items in lists:
        missing.append(items is None)
        if items is not None:
            flat.extend(items)
        offsets.append(len(flat))
    array = pyarrow.ListArray.from_arrays(pyarrow.array(offsets, pyarrow.int32()), pyarrow.array(flat, pyarrow.string()),
                                          mask=pyarrow.array(missing, pyarrow.bool_()))  # fmt: skip
    return pl.Series(name, array).cast(dtype)


def validate_rows(rows: Rows | dict[str, pl.DataFrame]) -> ValidatedBatch:
    """Validate every raw frame eagerly (pandera skips value checks on LazyFrames) and drop
    every row of any document that broke a contract. `rows` as parsed, or already as frames
    (one per raw table, as `to_frames` makes them)."""
    frames = to_frames(rows) if isinstance(rows, Rows) else rows
    rejected: dict[str, list[tuple[str, str]]] = {}
    tps_versions = frames["raw_nodes"].filter(pl.col("level") == "tps").select("version_id")
    checks = [(table, model, frames[table]) for table, (_, model, _) in RAW_TABLES.items()]
    # A TPS's votes have a tighter bound than an aggregate's: checked on the TPS rows alone.
    checks.append(("raw_node_votes", RawTpsVote, frames["raw_node_votes"].join(tps_versions, on="version_id", how="semi")))
    for table, model, frame in checks:
        if frame.is_empty():  # nothing to check (pandera costs ~50 ms a frame, rows or not)
            continue
        try:
            model.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            cases = err.failure_cases
            if cases["index"].null_count():
                # A whole-frame failure (missing column, wrong dtype) is a bug in the parser.
                raise
            failing = frame.with_row_index("index").join(
                cases.with_columns(pl.col("index").cast(pl.UInt32)), on="index", how="inner"
            )
            for version, column, check, case in failing.select("version_id", "column", "check", "failure_case").iter_rows():
                rejected.setdefault(version, []).append((check, f"{table}.{column}: {check} failed on {case}"))
    if rejected:
        bad = pl.DataFrame({"version_id": list(rejected)}, schema={"version_id": pl.Utf8})
        frames = {table: frame.join(bad, on="version_id", how="anti") for table, frame in frames.items()}
    return ValidatedBatch(frames, rejected)


def column_descriptions() -> dict[str, dict[str, str]]:
    """Table -> column -> description, for the warehouse's column comments."""
    return {table: _descriptions(model) for table, (_, model, _) in RAW_TABLES.items()}


def _descriptions(model: type[pa.DataFrameModel]) -> dict[str, str]:
    return {name: col.description for name, col in model.to_schema().columns.items() if col.description}
