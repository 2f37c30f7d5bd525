"""Contracts of the marts a user sees: every column's meaning, once, and the rules it keeps.

The model runner validates each mart against its contract after building it and copies these
descriptions onto the warehouse's columns (`select * from duckdb_columns()` shows them).
"""

from __future__ import annotations

from typing import Annotated, Optional

import pandera.polars as pa
import polars as pl

LEVELS = ["nasional", "provinsi", "kabkota", "kecamatan", "kelurahan", "tps"]
SOURCE_KINDS = ["node", "parent_table", "tps_rollup"]


class _Provenance(pa.DataFrameModel):
    tps_reported: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS that have reported counts (null where the source does not say, e.g. a Pemilu table row).")
    tps_total: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS in the region per the source; for a TPS roll-up, the TPS files loaded.")
    progress_pct: Optional[float] = pa.Field(nullable=True, ge=0, le=100, description="100 x tps_reported / tps_total, 2 decimals.")
    source_ts: Optional[str] = pa.Field(nullable=True, description="The publisher's ts of the file the numbers come from (a claim, not an ordering).")
    source_kind: str = pa.Field(isin=SOURCE_KINDS, description="Where the numbers come from: node (the region's own file), parent_table (its row in the parent's file) or tps_rollup (the sum of its TPS files).")
    source_file: Optional[str] = pa.Field(nullable=True, description="The file the numbers come from (null for a TPS roll-up: see the TPS rows).")
    source_run_id: Optional[str] = pa.Field(nullable=True, description="The run that observed that file (runs.run_id).")


class ProvinceTotals(_Provenance):
    """province_totals: one row per election x contest x province x candidate."""

    election: str = pa.Field(description="Election id, e.g. pilkada2024, pemilu2024.")
    contest: str = pa.Field(isin=["ppwp", "pkwkp"], description="Contest decided province-wide (pkwkp) or nationally (ppwp).")
    province_code: str = pa.Field(str_matches=r"^\d{2}$", description="2-digit province code.")
    province_name: Optional[str] = pa.Field(nullable=True, description="Province name from the mirror's region list, else the built-in list.")
    candidate_id: str = pa.Field(str_matches=r"^\d+$", description="SIREKAP candidate id (not the ballot number).")
    nomor_urut: Optional[int] = pa.Field(nullable=True, ge=1, description="Ballot number, from the candidate master (null if no master was loaded).")
    candidate_name: str = pa.Field(description="Candidate (pair) name; 'candidate <id>' without a master.")
    votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Votes as published; null = no data (never zero).")
    share_pct: Optional[float] = pa.Field(nullable=True, ge=0, le=100, description="100 x votes / all candidates' votes in the province, 2 decimals.")
    rank: Optional[int] = pa.Field(nullable=True, ge=1, description="1 = most votes; equal votes share a rank.")

    class Config:
        strict = True
        ordered = False


class RegionWinners(_Provenance):
    """region_winners: one row per election x contest x region, at every level inside the race."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest; pkwkk (regent/mayor) is one race per kab/kota.")
    level: str = pa.Field(isin=LEVELS, description="Region level: provinsi, kabkota, kecamatan, kelurahan, tps (nasional for ppwp's country node).")
    region_code: str = pa.Field(str_matches=r"^(0|\d{2}|\d{4}|\d{6}|\d{10}|\d{13})$", description="Region code (0 = the nation).")
    region_name: Optional[str] = pa.Field(nullable=True, description="Region name from the loaded region lists ('TPS 001' for a TPS); null if no list names it.")
    parent_code: Optional[str] = pa.Field(nullable=True, description="Code of the region one level up ('0' for a province).")
    race_code: str = pa.Field(description="The race the region belongs to: '0' national, the province for pkwkp, the kab/kota for pkwkk.")
    winner_candidate_id: Optional[str] = pa.Field(nullable=True, description="Leader's candidate id; null on a tie or without counts.")
    winner_nomor_urut: Optional[int] = pa.Field(nullable=True, ge=1, description="Leader's ballot number; null on a tie or without counts.")
    winner_name: Optional[str] = pa.Field(nullable=True, description="Leader's name (KOLOM KOSONG, the empty box, can lead).")
    winner_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Most votes any candidate has in the region (the tied count on a tie).")
    runner_up_candidate_id: Optional[str] = pa.Field(nullable=True, description="Second place's candidate id; null on a tie.")
    runner_up_nomor_urut: Optional[int] = pa.Field(nullable=True, ge=1, description="Second place's ballot number; null on a tie.")
    runner_up_name: Optional[str] = pa.Field(nullable=True, description="Second place's name; null on a tie.")
    runner_up_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Second-most votes.")
    margin_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="winner_votes - runner_up_votes (0 on a tie).")
    margin_pct: Optional[float] = pa.Field(nullable=True, ge=0, le=100, description="100 x margin_votes / valid_votes, 2 decimals.")
    valid_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Sum of all candidates' votes in the region; null = no data.")
    tie: Optional[bool] = pa.Field(nullable=True, description="Two or more candidates share the most votes; null without counts.")
    tied_nomor_urut: Optional[Annotated[pl.List, pl.Int64]] = pa.Field(nullable=True, description="Ballot numbers sharing first place, on a tie.")

    class Config:
        strict = True
        ordered = False


MART_CONTRACTS: dict[str, type[pa.DataFrameModel]] = {
    "province_totals": ProvinceTotals,
    "region_winners": RegionWinners,
}
