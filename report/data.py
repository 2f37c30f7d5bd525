"""What the reconciliation report says, read from the warehouse's marts into plain frames.

Rendering (report/html.py, report/markdown.py, CSV) only formats these frames, so what a reader
sees is exactly what `rekap query` would show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import polars as pl

from warehouse.storage import lake_tables

SOURCES = ("internal", "sirekap", "official")
SOURCE_LABELS = {"internal": "Internal count", "sirekap": "SIREKAP", "official": "Official recap (D.HASIL)"}
PAIRS = (("internal", "sirekap"), ("internal", "official"), ("sirekap", "official"))
RANKED_LEVELS = ("nasional", "provinsi", "kabkota", "tps")  # kecamatan/kelurahan rows repeat what these show: see the CSV
DISCREPANCIES_SHOWN = 25


@dataclass
class Report:
    generated_at: str
    warehouse: str
    races: pl.DataFrame  # outcome_risk + contest name
    race_votes: pl.DataFrame  # race area x source x candidate
    regions: pl.DataFrame  # the kab/kota table: election x contest x kab/kota x source x candidate
    candidates: pl.DataFrame  # election x contest x race x candidate: name, colour
    discrepancies: pl.DataFrame  # region x pair, ranked by effect on the race margin
    quality: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.races.is_empty()


def collect(con: duckdb.DuckDBPyConnection, warehouse: str = "") -> Report:
    tables = lake_tables(con)
    if "outcome_risk" not in tables:
        raise LookupError("the warehouse has no outcome_risk table: run `rekap run` (or `rekap demo`) first")
    races = con.execute(
        """select outcome_risk.*, int_contests.contest_name
           from outcome_risk inner join int_contests on int_contests.contest = outcome_risk.contest
           order by int_contests.race_code_length, outcome_risk.election, outcome_risk.contest, outcome_risk.race_code"""
    ).pl()
    race_votes = con.execute(
        """select election, contest, race_code, source, candidate_key, nomor_urut, candidate_id, votes, complete, tps_covered, tps_total
           from int_source_votes where region_code = race_code order by election, contest, race_code, source, candidate_key"""
    ).pl()
    # The kab/kota table: a province-wide race's kab/kota, or the kab/kota races themselves.
    regions = con.execute(
        """select int_source_votes.election, int_source_votes.contest, int_source_votes.race_code, int_source_votes.region_code,
                  coalesce(int_region_names.region_name, int_source_votes.region_code) as region_name,
                  int_source_votes.source, int_source_votes.candidate_key, int_source_votes.votes, int_source_votes.complete,
                  int_source_votes.tps_covered, int_source_votes.tps_total
           from int_source_votes left join int_region_names on int_region_names.code = int_source_votes.region_code
           where int_source_votes.level = 'kabkota'
           order by int_source_votes.election, int_source_votes.contest, int_source_votes.region_code, int_source_votes.source, int_source_votes.candidate_key"""
    ).pl()
    candidates = con.execute(
        """with keys as (select distinct election, contest, race_code, candidate_key, nomor_urut, candidate_id from int_source_votes)
           select keys.election, keys.contest, keys.race_code, keys.candidate_key,
                  any_value(keys.nomor_urut) as nomor_urut, any_value(keys.candidate_id) as candidate_id,
                  coalesce(any_value(int_candidates.candidate_name), 'candidate ' || keys.candidate_key) as candidate_name,
                  any_value(int_candidates.colour) as colour
           from keys left join int_candidates
               on int_candidates.election = keys.election and int_candidates.contest = keys.contest
               and int_candidates.candidate_id = keys.candidate_id
           group by keys.election, keys.contest, keys.race_code, keys.candidate_key
           order by keys.election, keys.contest, keys.race_code, keys.candidate_key"""
    ).pl()
    discrepancies = _discrepancies(con)
    return Report(
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        warehouse=warehouse,
        races=races,
        race_votes=race_votes,
        regions=regions,
        candidates=candidates,
        discrepancies=discrepancies,
        quality=_quality(con, tables),
    )


def _discrepancies(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Each region x pair of complete sources that disagree, with what switching from one to the other
    does to the race's margin (leader's change minus runner-up's), largest effect first."""
    pairs = " union all ".join(
        f"""select election, contest, level, region_code, region_name, race_code, nomor_urut, candidate_id,
                   '{a}' as source_a, '{b}' as source_b, {a}_votes as votes_a, {b}_votes as votes_b, {a}_minus_{b} as delta
            from reconciliation where {a}_vs_{b} = 'mismatch'"""
        for a, b in PAIRS
    )
    return con.execute(
        f"""
        with mismatched as ({pairs}),
        reference as (
            -- The race's leader and runner-up, under the source the verdict uses (else any with a leader).
            select int_source_leaders.election, int_source_leaders.contest, int_source_leaders.race_code,
                   int_source_leaders.leader_key, int_source_leaders.runner_up_key,
                   row_number() over (partition by int_source_leaders.election, int_source_leaders.contest, int_source_leaders.race_code
                                      order by (int_source_leaders.source = outcome_risk.margin_source) desc,
                                               case int_source_leaders.source when 'official' then 1 when 'sirekap' then 2 else 3 end) as preference
            from int_source_leaders
            inner join outcome_risk on outcome_risk.election = int_source_leaders.election and outcome_risk.contest = int_source_leaders.contest
                and outcome_risk.race_code = int_source_leaders.race_code
            where int_source_leaders.region_code = int_source_leaders.race_code and int_source_leaders.leader_key is not null
        ),
        keyed as (
            select mismatched.*, coalesce(lpad(cast(mismatched.nomor_urut as varchar), 2, '0'), 'id ' || mismatched.candidate_id) as candidate_key
            from mismatched
        ),
        effects as (
            select keyed.election, keyed.contest, keyed.race_code, keyed.level, keyed.region_code, any_value(keyed.region_name) as region_name,
                   keyed.source_a, keyed.source_b,
                   string_agg(keyed.candidate_key || ' ' || printf('%+d', keyed.delta), ', ' order by keyed.candidate_key) as deltas,
                   cast(sum(abs(keyed.delta)) as bigint) as votes_disputed,
                   cast(sum(case when keyed.candidate_key = reference.leader_key then keyed.delta
                            when keyed.candidate_key = reference.runner_up_key then -keyed.delta else 0 end) as bigint) as margin_effect,
                   any_value(reference.leader_key) as leader_key
            from keyed
            left join reference on reference.election = keyed.election and reference.contest = keyed.contest
                and reference.race_code = keyed.race_code and reference.preference = 1
            group by keyed.election, keyed.contest, keyed.race_code, keyed.level, keyed.region_code, keyed.source_a, keyed.source_b
        )
        select effects.*, tps.image_urls
        from effects
        left join (select distinct on (election, contest, tps_code) election, contest, tps_code, image_urls from tps_reconciliation) as tps
            on tps.election = effects.election and tps.contest = effects.contest and tps.tps_code = effects.region_code
        order by abs(effects.margin_effect) desc, effects.votes_disputed desc, effects.region_code, effects.source_a, effects.source_b
        """
    ).pl()


def _quality(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, pl.DataFrame]:
    quality = {
        "last_run": con.execute(
            """select run_id, started_at, status, files_read, records_read, records_loaded, records_quarantined
               from runs order by started_at desc limit 1"""
        ).pl(),
        "quarantine": con.execute(
            """select source_file, locator, rule, reason from quarantine
               where run_id = (select run_id from runs order by started_at desc limit 1)
               order by source_file, locator limit 50"""
        ).pl(),
        "total_checks": con.execute(
            "select source_file, total_code, nomor_urut, total_votes, rows_votes, difference from int_official_total_checks where not matches"
        ).pl(),
        "submissions": con.execute(
            """select election, contest, count(*) filter (where submissions > 1) as codes_with_several_submissions,
                      count(*) filter (where submissions_disagree) as codes_whose_submissions_disagree
               from int_count_regions where source_kind = 'internal' group by election, contest
               having count(*) filter (where submissions > 1) > 0"""
        ).pl(),
        "sirekap_progress": con.execute(
            """select election, contest, race_code, race_name, sirekap_tps_reported, sirekap_tps_total
               from outcome_risk where sirekap_tps_total is not null and sirekap_tps_reported < sirekap_tps_total
               order by election, contest, race_code"""
        ).pl(),
    }
    if "tps_status" in tables:
        quality["tps_status"] = con.execute(
            "select election, contest, status, count(*) as tps from tps_status group by all order by election, contest, status"
        ).pl()
    return quality
