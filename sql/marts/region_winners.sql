-- region_winners: one row per election x contest x region, at every level the data reaches inside the race (provinsi, kabkota, kecamatan, kelurahan, tps).
-- keyed by region_code: int_regions.region_code, int_region_votes.region_code, int_region_flags.region_code
-- Ties are flagged (tie = true, winner left empty, the tied ballot numbers listed), never broken.
-- A region without counts keeps its row with null winner and null valid_votes: no data, not zero.
-- Columns are documented in schemas/marts.py (RegionWinners).
with regions as (
    select * from int_regions where within_race
),

region_votes as (
    select * from int_region_votes where votes is not null
),

region_flags as (
    select * from int_region_flags
),

ranked as (
    select
        region_votes.*,
        rank() over (
            partition by region_votes.election, region_votes.contest, region_votes.region_code
            order by region_votes.votes desc
        ) as place,
        row_number() over (
            partition by region_votes.election, region_votes.contest, region_votes.region_code
            order by region_votes.votes desc, region_votes.nomor_urut, region_votes.candidate_id
        ) as position
    from region_votes
),

summary as (
    select
        ranked.election,
        ranked.contest,
        ranked.region_code,
        cast(sum(ranked.votes) as bigint) as valid_votes,
        count(*) filter (where ranked.place = 1) > 1 as tie,
        any_value(ranked.candidate_id) filter (where ranked.position = 1) as first_candidate_id,
        any_value(ranked.nomor_urut) filter (where ranked.position = 1) as first_nomor_urut,
        any_value(ranked.candidate_name) filter (where ranked.position = 1) as first_name,
        any_value(ranked.votes) filter (where ranked.position = 1) as first_votes,
        any_value(ranked.candidate_id) filter (where ranked.position = 2) as second_candidate_id,
        any_value(ranked.nomor_urut) filter (where ranked.position = 2) as second_nomor_urut,
        any_value(ranked.candidate_name) filter (where ranked.position = 2) as second_name,
        any_value(ranked.votes) filter (where ranked.position = 2) as second_votes
    from ranked
    group by ranked.election, ranked.contest, ranked.region_code
),

-- The tied leaders' ballot numbers, for the tied regions only: an ordered list over every
-- region's leaders cost more memory than a 1100MB night has at national scale.
tied_lists as (
    select
        ranked.election,
        ranked.contest,
        ranked.region_code,
        list(ranked.nomor_urut order by ranked.nomor_urut) as tied_nomor_urut
    from ranked
    semi join summary
        on summary.election = ranked.election
        and summary.contest = ranked.contest
        and summary.region_code = ranked.region_code
        and summary.tie
    where ranked.place = 1
    group by ranked.election, ranked.contest, ranked.region_code
),

final as (
    select
        regions.election,
        regions.contest,
        regions.level,
        regions.region_code,
        regions.region_name,
        regions.parent_code,
        regions.race_code,
        case when not summary.tie then summary.first_candidate_id end as winner_candidate_id,
        cast(case when not summary.tie then summary.first_nomor_urut end as bigint) as winner_nomor_urut,
        case when not summary.tie then summary.first_name end as winner_name,
        summary.first_votes as winner_votes,
        case when not summary.tie then summary.second_candidate_id end as runner_up_candidate_id,
        cast(case when not summary.tie then summary.second_nomor_urut end as bigint) as runner_up_nomor_urut,
        case when not summary.tie then summary.second_name end as runner_up_name,
        summary.second_votes as runner_up_votes,
        summary.first_votes - coalesce(summary.second_votes, 0) as margin_votes,
        cast(round(100.0 * (summary.first_votes - coalesce(summary.second_votes, 0)) / nullif(summary.valid_votes, 0), 2) as double) as margin_pct,
        summary.valid_votes,
        summary.tie,
        tied_lists.tied_nomor_urut,
        regions.tps_reported,
        regions.tps_total,
        cast(round(100.0 * regions.tps_reported / nullif(regions.tps_total, 0), 2) as double) as progress_pct,
        region_flags.votes_flagged,
        region_flags.tps_flagged,
        regions.source_ts,
        regions.source_kind,
        regions.source_file,
        regions.run_id as source_run_id
    from regions
    left join summary
        on summary.election = regions.election
        and summary.contest = regions.contest
        and summary.region_code = regions.region_code
    left join region_flags
        on region_flags.election = regions.election
        and region_flags.contest = regions.contest
        and region_flags.region_code = regions.region_code
    left join tied_lists
        on tied_lists.election = regions.election
        and tied_lists.contest = regions.contest
        and tied_lists.region_code = regions.region_code
)

select * from final
order by election, contest, region_code
