"""Contracts of the marts a user sees: every column's meaning, once, and the rules it keeps.

The model runner validates each mart against its contract after building it and copies these
descriptions onto the warehouse's columns (`select * from duckdb_columns()` shows them).
"""

from __future__ import annotations

from typing import Annotated, Optional

import pandera.polars as pa
import polars as pl

from schemas.regions import LEVELS

SOURCE_KINDS = ["node", "parent_table", "tps_rollup"]
CODE = r"^(0|[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{10}|[0-9]{13})$"
SEVERITIES = ["error", "warning", "info"]
RULE_CATEGORIES = ["arithmetic", "plausibility", "withheld", "rollup", "psu", "reference"]
COMPLETENESS = ["complete", "chart_only", "admin_only", "empty"]
TPS_STATUSES = ["valid", "flagged", "incomplete", "empty"]


class _Flagged(pa.DataFrameModel):
    tps_flagged: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS under the region (the TPS itself at level tps) that break an error-level data-quality rule (see anomalies, tps_status); null where no TPS file under the region is loaded. Flagged TPS stay in every total.")


class _Provenance(pa.DataFrameModel):
    tps_reported: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS that have reported counts (null where the source does not say, e.g. a Pemilu table row).")
    tps_total: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS in the region per the source; for a TPS roll-up, the TPS files loaded.")
    progress_pct: Optional[float] = pa.Field(nullable=True, ge=0, le=100, description="100 x tps_reported / tps_total, 2 decimals.")
    source_ts: Optional[str] = pa.Field(nullable=True, description="The publisher's ts of the file the numbers come from (a claim, not an ordering).")
    source_kind: str = pa.Field(isin=SOURCE_KINDS, description="Where the numbers come from: node (the region's own file), parent_table (its row in the parent's file) or tps_rollup (the sum of its TPS files).")
    source_file: Optional[str] = pa.Field(nullable=True, description="The file the numbers come from (null for a TPS roll-up: see the TPS rows).")
    source_run_id: Optional[str] = pa.Field(nullable=True, description="The run that observed that file (runs.run_id).")


class ProvinceTotals(_Flagged, _Provenance):
    """province_totals: one row per election x contest x province x candidate."""

    election: str = pa.Field(description="Election id, e.g. pilkada2024, pemilu2024.")
    contest: str = pa.Field(isin=["ppwp", "pkwkp"], description="Contest decided province-wide (pkwkp) or nationally (ppwp).")
    province_code: str = pa.Field(str_matches=r"^[0-9]{2}$", description="2-digit province code.")
    province_name: Optional[str] = pa.Field(nullable=True, description="Province name from the mirror's region list, else the built-in list.")
    candidate_id: str = pa.Field(str_matches=r"^[0-9]+$", description="SIREKAP candidate id (not the ballot number).")
    nomor_urut: Optional[int] = pa.Field(nullable=True, ge=1, description="Ballot number, from the candidate master (null if no master was loaded).")
    candidate_name: str = pa.Field(description="Candidate (pair) name; 'candidate <id>' without a master.")
    votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Votes as published; null = no data (never zero).")
    share_pct: Optional[float] = pa.Field(nullable=True, ge=0, le=100, description="100 x votes / all candidates' votes in the province, 2 decimals.")
    rank: Optional[int] = pa.Field(nullable=True, ge=1, description="1 = most votes; equal votes share a rank.")
    votes_flagged: Optional[int] = pa.Field(nullable=True, ge=0, description="This candidate's votes in the loaded TPS files under the province that break an error-level rule: how much of the count rests on doubtful TPS. Null where no TPS file under the province is loaded.")

    class Config:
        strict = True
        ordered = False


class RegionWinners(_Flagged, _Provenance):
    """region_winners: one row per election x contest x region, at every level inside the race."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest; pkwkk (regent/mayor) is one race per kab/kota.")
    level: str = pa.Field(isin=LEVELS, description="Region level: provinsi, kabkota, kecamatan, kelurahan, tps (nasional for ppwp's country node).")
    region_code: str = pa.Field(str_matches=r"^(0|[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{10}|[0-9]{13})$", description="Region code (0 = the nation).")
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
    votes_flagged: Optional[int] = pa.Field(nullable=True, ge=0, description="All candidates' votes in the loaded TPS files under the region that break an error-level rule, to set against margin_votes. Null where no TPS file under the region is loaded.")

    class Config:
        strict = True
        ordered = False


class _Snapshot(pa.DataFrameModel):
    source_ts: Optional[str] = pa.Field(nullable=True, description="The publisher's ts of the version the finding was read from (a claim, not an ordering).")
    images: Optional[Annotated[pl.List, pl.Utf8]] = pa.Field(nullable=True, description="TPS: URLs of the C.HASIL form photos in that version, to check the numbers by eye (null slots kept).")
    snapshot: Optional[str] = pa.Field(nullable=True, description="The snapshot the version was last read in: a dump file, or the mirror folder above <election>/hhcw/.")
    source_file: Optional[str] = pa.Field(nullable=True, description="The file the version was last read from.")
    source_run_id: Optional[str] = pa.Field(nullable=True, description="The run that last read it (runs.run_id).")
    version_id: str = pa.Field(description="The node version the finding was read from (raw_documents.version_id); for a table row's code, the parent's version.")


class Anomalies(_Snapshot):
    """anomalies: one row per election x contest x node x broken rule."""

    election: str = pa.Field(description="Election id, e.g. pemilu2024.")
    contest: str = pa.Field(description="Contest, e.g. ppwp, pkwkp, pkwkk.")
    level: str = pa.Field(isin=LEVELS, description="Level of the node: nasional ... tps.")
    code: str = pa.Field(str_matches=CODE, description="Region or TPS code of the node (or of a parent's table row) the finding is about.")
    region_name: Optional[str] = pa.Field(nullable=True, description="Region name from the loaded region lists ('TPS 001' for a TPS).")
    rule_id: str = pa.Field(description="The rule broken (ref_rules, schemas/rules.toml).")
    category: str = pa.Field(isin=RULE_CATEGORIES, description="arithmetic (C1 form sums), plausibility, withheld, rollup, psu or reference.")
    severity: str = pa.Field(isin=SEVERITIES, description="error, warning or info, from the rule pack. Error-level findings count in votes_flagged / tps_flagged.")
    observed: Optional[str] = pa.Field(nullable=True, description="What the node publishes, as text (e.g. the candidate sum, the counts above the cap).")
    expected: Optional[str] = pa.Field(nullable=True, description="What the rule expected, as text (e.g. suara_sah, the cap, the parent's row).")
    message_id: str = pa.Field(description="The finding in Indonesian (the rule pack's message_id with observed and expected filled in).")
    message_en: str = pa.Field(description="The finding in English.")

    class Config:
        strict = True
        ordered = False
        unique = ["election", "contest", "code", "rule_id"]


class TpsStatus(_Snapshot):
    """tps_status: one row per election x contest x TPS loaded."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest.")
    tps_code: str = pa.Field(str_matches=r"^[0-9]{13}$", description="13-digit TPS code (kelurahan code + TPS number).")
    kelurahan_code: str = pa.Field(str_matches=r"^[0-9]{10}$", description="Kelurahan/desa of the TPS.")
    kecamatan_code: str = pa.Field(str_matches=r"^[0-9]{6}$", description="Kecamatan of the TPS.")
    kabkota_code: str = pa.Field(str_matches=r"^[0-9]{4}$", description="Kabupaten/kota of the TPS.")
    province_code: str = pa.Field(str_matches=r"^[0-9]{2}$", description="Province of the TPS.")
    completeness: str = pa.Field(isin=COMPLETENESS, description="Blocks in the reported version: complete (chart and administrasi), chart_only, admin_only, empty (neither). A withheld chart counts as missing.")
    status: str = pa.Field(isin=TPS_STATUSES, description="flagged (breaks an error- or warning-level rule), else empty, incomplete (one block missing) or valid.")
    rules_broken: Annotated[pl.List, pl.Utf8] = pa.Field(description="Every enabled rule the TPS breaks, any severity (details in anomalies).")
    error_flagged: bool = pa.Field(description="Breaks an error-level rule: its votes count in votes_flagged.")
    votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Sum of the candidates' votes in the reported chart; null = no chart (no data, not zero). Always part of the totals.")
    withheld: bool = pa.Field(description="The latest version read withholds the counts (all 0); the counts shown are the earlier version's.")
    psu: Optional[str] = pa.Field(nullable=True, description="Re-vote marker of the reported version (Reguler/null for a normal count).")

    class Config:
        strict = True
        ordered = False
        unique = ["election", "contest", "tps_code"]


class DataQuality(pa.DataFrameModel):
    """data_quality: one row per election x contest x region x rule checked on the TPS under it."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest.")
    level: str = pa.Field(isin=LEVELS[:-1], description="Level of the region: nasional, provinsi, kabkota, kecamatan or kelurahan.")
    region_code: str = pa.Field(str_matches=CODE, description="Region code (0 = the nation).")
    region_name: Optional[str] = pa.Field(nullable=True, description="Region name from the loaded region lists or the built-in province names.")
    rule_id: str = pa.Field(description="The rule (ref_rules, schemas/rules.toml).")
    category: str = pa.Field(isin=RULE_CATEGORIES, description="Rule category.")
    severity: str = pa.Field(isin=SEVERITIES, description="Rule severity from the rule pack.")
    tps_checked: int = pa.Field(ge=1, description="TPS under the region the rule could be checked on (it needs the fields it reads: missing is not zero).")
    tps_flagged: int = pa.Field(ge=0, description="Of those, TPS that break the rule.")
    votes_in_flagged_tps: int = pa.Field(ge=0, description="Candidates' votes in the flagged TPS (reported charts); they stay in every total.")

    class Config:
        strict = True
        ordered = False
        unique = ["election", "contest", "region_code", "rule_id"]


class NodeHistory(pa.DataFrameModel):
    """node_history: one row per election x contest x node x spell of one version."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest.")
    level: str = pa.Field(isin=LEVELS, description="Region level of the node.")
    code: str = pa.Field(description="Node code (region or TPS).")
    spell: int = pa.Field(ge=1, description="1, 2, ...: the node's spells in observation order (a version seen again after another starts a new spell).")
    version_id: str = pa.Field(description="The version (raw_documents.version_id) the node published during the spell.")
    valid_from: pl.Datetime = pa.Field(description="When rekap first observed this version in the spell (UTC load time), not the publisher's ts.")
    valid_to: Optional[pl.Datetime] = pa.Field(nullable=True, description="When the next spell began (null: still current).")
    is_current: bool = pa.Field(description="The spell the node is in now (by observation; a withheld version can be current here while the marts keep its earlier counts).")
    withheld: bool = pa.Field(description="The version's counts were withheld (all zero while progress rose); see the rule pack.")
    has_chart: bool = pa.Field(description="The version published candidate counts.")
    vote_sum: Optional[int] = pa.Field(nullable=True, description="Sum of every candidate count in the version (chart and table rows).")
    progress_reported: Optional[int] = pa.Field(nullable=True, description="TPS reported per the version.")
    progress_total: Optional[int] = pa.Field(nullable=True, description="TPS in the node per the version.")
    source_ts: Optional[str] = pa.Field(nullable=True, description="The publisher's ts of the version.")
    source_run_id: str = pa.Field(description="The run that first observed the version in this spell.")
    source_file: str = pa.Field(description="The file it was first read from in this spell.")
    observations: int = pa.Field(ge=1, description="How many times runs read it during the spell.")

    class Config:
        strict = True
        ordered = False


class Corrections(pa.DataFrameModel):
    """corrections: one row per election x contest x node x candidate the latest run changed."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest.")
    level: str = pa.Field(isin=LEVELS, description="Region level of the node.")
    code: str = pa.Field(description="Node code (region or TPS).")
    change_kind: str = pa.Field(isin=["new", "reported", "changed", "vanished", "withheld"], description="new (first seen), reported (first counts for a node that had none), changed (counts moved), vanished (gone from its parent's table), withheld (counts newly withheld).")
    candidate_id: Optional[str] = pa.Field(nullable=True, description="Candidate whose count is compared; null for a node without candidate counts.")
    votes_before: Optional[int] = pa.Field(nullable=True, description="The count before the latest run (null: no data then).")
    votes_after: Optional[int] = pa.Field(nullable=True, description="The count the latest run observed (null: no data now).")
    delta: Optional[int] = pa.Field(nullable=True, description="votes_after - votes_before (null when either is no data).")
    version_before: Optional[str] = pa.Field(nullable=True, description="The node's version before the run.")
    version_after: Optional[str] = pa.Field(nullable=True, description="The node's version the run observed.")
    run_id: str = pa.Field(description="The latest run (runs.run_id).")

    class Config:
        strict = True
        ordered = False


class CorrectionsSummary(pa.DataFrameModel):
    """corrections_summary: one row per election x contest x kab/kota x change kind in the latest run."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest.")
    kabkota_code: str = pa.Field(str_matches=r"^[0-9]{4}$", description="Kab/kota code the changed nodes are in.")
    change_kind: str = pa.Field(isin=["new", "reported", "changed", "vanished", "withheld"], description="As in corrections.")
    nodes: int = pa.Field(ge=0, description="Nodes (any level at or below the kab/kota) with this change.")
    tps: int = pa.Field(ge=0, description="Of them, TPS.")
    tps_votes_delta: Optional[int] = pa.Field(nullable=True, description="Net change of votes over those TPS, all candidates (null: no TPS count to compare).")
    run_id: str = pa.Field(description="The latest run.")

    class Config:
        strict = True
        ordered = False


SOURCES = ["internal", "sirekap", "official"]
RECONCILIATION_STATUSES = ["match", "mismatch", "missing_internal", "missing_official", "missing_sirekap", "partial"]
PAIR_STATUSES = ["match", "mismatch", "partial"]
CODE = r"^(0|[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{10}|[0-9]{13})$"


class Reconciliation(pa.DataFrameModel):
    """reconciliation: one row per election x contest x region x candidate, at every level where at least two sources have a number."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest.")
    level: str = pa.Field(isin=LEVELS, description="Region level: provinsi, kabkota, kecamatan, kelurahan, tps (nasional for ppwp).")
    region_code: str = pa.Field(str_matches=CODE, description="Region code.")
    region_name: Optional[str] = pa.Field(nullable=True, description="Region name from the loaded region lists.")
    parent_code: Optional[str] = pa.Field(nullable=True, description="Code of the region one level up.")
    race_code: str = pa.Field(description="The race the region belongs to (the province for pkwkp, the kab/kota for pkwkk, '0' for ppwp).")
    nomor_urut: Optional[int] = pa.Field(nullable=True, ge=1, description="Ballot number: what internal counts and recaps name candidates by. Null only for a SIREKAP candidate no master numbers.")
    candidate_id: Optional[str] = pa.Field(nullable=True, description="SIREKAP candidate id the ballot number stands for, from the race's candidate master; null without one.")
    candidate_name: str = pa.Field(description="Candidate (pair) name from the master; 'candidate NN' without one.")
    internal_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="The internal count's number: its own row for the region, or the sum of its rows below (see internal_tps). Null = the source has nothing (never zero).")
    sirekap_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="SIREKAP's published number (int_region_votes: node, parent table or TPS roll-up). Null = nothing published.")
    official_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="The official recap's (D.HASIL) number: its row for the region (the total row for the region above its rows), or the sum of its rows below.")
    internal_minus_sirekap: Optional[int] = pa.Field(nullable=True, description="internal_votes - sirekap_votes (null if either is null).")
    internal_minus_official: Optional[int] = pa.Field(nullable=True, description="internal_votes - official_votes (null if either is null).")
    sirekap_minus_official: Optional[int] = pa.Field(nullable=True, description="sirekap_votes - official_votes (null if either is null).")
    status: str = pa.Field(isin=RECONCILIATION_STATUSES, description="mismatch: two complete sources disagree; missing_internal/missing_official/missing_sirekap: a source with numbers at this level of the race has none here for this candidate; partial: a source covers only part of the region's TPS (see coverage); match: all sources present agree. Checked in that order.")
    internal_vs_sirekap: Optional[str] = pa.Field(nullable=True, isin=PAIR_STATUSES, description="The pair alone: match, mismatch, or partial (either side incomplete); null if either has no number.")
    internal_vs_official: Optional[str] = pa.Field(nullable=True, isin=PAIR_STATUSES, description="The pair alone, as internal_vs_sirekap.")
    sirekap_vs_official: Optional[str] = pa.Field(nullable=True, isin=PAIR_STATUSES, description="The pair alone, as internal_vs_sirekap.")
    internal_tps: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS the internal number covers (a region row covers all of the region's TPS).")
    sirekap_tps: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS SIREKAP has published in the region (tps_reported).")
    official_tps: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS the official number covers.")
    tps_total: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS in the region, per SIREKAP.")
    coverage: Optional[str] = pa.Field(nullable=True, description="For each partial source, how much it covers, e.g. 'SIREKAP 1,342 of 1,447 TPS'.")
    internal_submissions_disagree: bool = pa.Field(description="The internal count has several submissions for this region whose numbers differ (the latest is used).")

    class Config:
        strict = True
        ordered = False


class TpsReconciliation(pa.DataFrameModel):
    """tps_reconciliation: one row per election x contest x TPS x candidate, in races where the internal count has TPS-level rows."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest.")
    race_code: str = pa.Field(description="The race the TPS belongs to.")
    kabkota_code: str = pa.Field(str_matches=r"^[0-9]{4}$", description="The TPS's kab/kota.")
    kecamatan_code: str = pa.Field(str_matches=r"^[0-9]{6}$", description="The TPS's kecamatan.")
    kelurahan_code: str = pa.Field(str_matches=r"^[0-9]{10}$", description="The TPS's kelurahan/desa.")
    tps_code: str = pa.Field(str_matches=r"^[0-9]{13}$", description="TPS code (kelurahan code + 3-digit TPS number).")
    nomor_urut: Optional[int] = pa.Field(nullable=True, ge=1, description="Ballot number.")
    candidate_id: Optional[str] = pa.Field(nullable=True, description="SIREKAP candidate id (null if no master maps the ballot number).")
    candidate_name: str = pa.Field(description="Candidate (pair) name.")
    internal_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="The internal count's latest submission for the TPS; null = none (never zero).")
    sirekap_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="SIREKAP's published count at the TPS; null = not published.")
    delta: Optional[int] = pa.Field(nullable=True, description="internal_votes - sirekap_votes.")
    status: str = pa.Field(isin=["match", "mismatch", "missing_internal", "missing_sirekap"], description="match, mismatch, missing_internal (only SIREKAP has a number) or missing_sirekap (only the internal count has one).")
    internal_submissions: Optional[int] = pa.Field(nullable=True, ge=1, description="Submissions the internal count has for the TPS (all kept; the latest is used).")
    internal_submissions_disagree: Optional[bool] = pa.Field(nullable=True, description="The TPS's internal submissions give different numbers.")
    witness_id: Optional[str] = pa.Field(nullable=True, description="Witness of the submission used.")
    submitted_at: Optional[Annotated[pl.Datetime, "us", None]] = pa.Field(nullable=True, description="When the submission used was sent.")
    internal_source_file: Optional[str] = pa.Field(nullable=True, description="Internal count file of the submission used.")
    internal_row_number: Optional[int] = pa.Field(nullable=True, ge=2, description="Its row in that file (header = row 1).")
    sirekap_published: bool = pa.Field(description="SIREKAP has published the TPS's counts.")
    image_urls: Optional[Annotated[pl.List, pl.Utf8]] = pa.Field(nullable=True, description="SIREKAP's photos of the TPS's C.HASIL form: the evidence to settle a mismatch.")
    sirekap_source_file: Optional[str] = pa.Field(nullable=True, description="The SIREKAP file of the TPS.")
    anomaly_status: Optional[str] = pa.Field(nullable=True, description="The TPS's data-quality status from tps_status (valid, flagged, incomplete, empty); null for a TPS SIREKAP has no file for.")
    anomaly_rules: Optional[Annotated[pl.List, pl.Utf8]] = pa.Field(nullable=True, description="The data-quality rules the TPS breaks (tps_status.rules_broken; details in anomalies).")

    class Config:
        strict = True
        ordered = False


class OutcomeRisk(pa.DataFrameModel):
    """outcome_risk: one row per race (election x contest x area where a winner is decided)."""

    election: str = pa.Field(description="Election id.")
    contest: str = pa.Field(description="Contest.")
    race_level: str = pa.Field(isin=LEVELS, description="Where the winner is decided: nasional (ppwp), provinsi (pkwkp), kabkota (pkwkk).")
    race_code: str = pa.Field(str_matches=CODE, description="The race's area code.")
    race_name: Optional[str] = pa.Field(nullable=True, description="The area's name.")
    leader_nomor_urut: Optional[int] = pa.Field(nullable=True, ge=1, description="Ballot number of the leader all sources with a leader agree on; null if they disagree or none names one.")
    leader_candidate_id: Optional[str] = pa.Field(nullable=True, description="That leader's SIREKAP candidate id.")
    leader_name: Optional[str] = pa.Field(nullable=True, description="That leader's name.")
    internal_leader: Optional[str] = pa.Field(nullable=True, description="Leader under the internal count: ballot number ('02'), or 'id <candidate id>' without a master; null without a full count or on a tie.")
    sirekap_leader: Optional[str] = pa.Field(nullable=True, description="Leader under SIREKAP, as internal_leader.")
    official_leader: Optional[str] = pa.Field(nullable=True, description="Leader under the official recap, as internal_leader.")
    internal_margin_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Leader minus runner-up under the internal count.")
    sirekap_margin_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Leader minus runner-up under SIREKAP (as published so far).")
    official_margin_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Leader minus runner-up under the official recap.")
    internal_margin_pct: Optional[float] = pa.Field(nullable=True, ge=0, le=100, description="internal_margin_votes as % of that source's valid votes.")
    sirekap_margin_pct: Optional[float] = pa.Field(nullable=True, ge=0, le=100, description="sirekap_margin_votes as % of that source's valid votes.")
    official_margin_pct: Optional[float] = pa.Field(nullable=True, ge=0, le=100, description="official_margin_votes as % of that source's valid votes.")
    sirekap_tps_reported: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS SIREKAP has published in the race.")
    sirekap_tps_total: Optional[int] = pa.Field(nullable=True, ge=0, description="TPS in the race per SIREKAP.")
    discrepancy_votes: int = pa.Field(ge=0, description="Votes the sources disagree on: the larger of the race-level sum over candidates of the largest gap between two complete sources, and the sum of |internal - SIREKAP| over the race's TPS.")
    tps_mismatched: int = pa.Field(ge=0, description="TPS where the internal count and SIREKAP disagree (tps_reconciliation).")
    unreported_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Estimated votes in TPS SIREKAP has not published: its votes per reported TPS x TPS still out. Null without SIREKAP.")
    flagged_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="Votes in the race's TPS that break an error-level data-quality rule (tps_status.error_flagged, as votes_flagged in province_totals); null where no TPS file of the race is loaded (counted as 0).")
    votes_at_stake: int = pa.Field(ge=0, description="discrepancy_votes + unreported_votes + flagged_votes: how many votes could still move.")
    margin_votes: Optional[int] = pa.Field(nullable=True, ge=0, description="The smallest margin any source gives (the one the verdict is judged against).")
    margin_source: Optional[str] = pa.Field(nullable=True, isin=SOURCES, description="The source giving that margin.")
    verdict: str = pa.Field(isin=["safe", "at_risk", "flips"], description="flips: sources name different leaders; at_risk: votes_at_stake exceed margin_votes, or a source is tied or cannot name a leader; safe otherwise.")
    verdict_reason: str = pa.Field(description="The verdict in one sentence, with the numbers.")

    class Config:
        strict = True
        ordered = False


MART_CONTRACTS: dict[str, type[pa.DataFrameModel]] = {
    "province_totals": ProvinceTotals,
    "region_winners": RegionWinners,
    "reconciliation": Reconciliation,
    "tps_reconciliation": TpsReconciliation,
    "outcome_risk": OutcomeRisk,
    "anomalies": Anomalies,
    "tps_status": TpsStatus,
    "data_quality": DataQuality,
    "node_history": NodeHistory,
    "corrections": Corrections,
    "corrections_summary": CorrectionsSummary,
}
