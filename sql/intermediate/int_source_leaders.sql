-- int_source_leaders: one row per election x contest x region x source with numbers there: who leads under that source, and by how much.
-- keyed by region_code: int_source_votes.region_code
-- A source that lacks a number for a candidate another source has in the region cannot name a
-- leader (an unknown count could be anything): leader and margin stay null, has_all_candidates false.
-- Ties are flagged, never broken.
with source_votes as (
    select * from int_source_votes
),

region_candidates as (
    select election, contest, region_code, count(distinct candidate_key) as candidates
    from source_votes
    group by election, contest, region_code
),

ranked as (
    select
        source_votes.*,
        rank() over (
            partition by source_votes.election, source_votes.contest, source_votes.region_code, source_votes.source
            order by source_votes.votes desc
        ) as place,
        row_number() over (
            partition by source_votes.election, source_votes.contest, source_votes.region_code, source_votes.source
            order by source_votes.votes desc, source_votes.candidate_key
        ) as position
    from source_votes
),

summary as (
    select
        ranked.election,
        ranked.contest,
        ranked.region_code,
        ranked.source,
        any_value(ranked.level) as level,
        any_value(ranked.race_code) as race_code,
        count(*) as candidates_with_numbers,
        cast(sum(ranked.votes) as bigint) as valid_votes,
        count(*) filter (where ranked.place = 1) > 1 as tie,
        any_value(ranked.candidate_key) filter (where ranked.position = 1) as first_key,
        any_value(ranked.nomor_urut) filter (where ranked.position = 1) as first_nomor_urut,
        any_value(ranked.candidate_id) filter (where ranked.position = 1) as first_candidate_id,
        any_value(ranked.votes) filter (where ranked.position = 1) as first_votes,
        any_value(ranked.candidate_key) filter (where ranked.position = 2) as second_key,
        any_value(ranked.votes) filter (where ranked.position = 2) as second_votes,
        bool_and(ranked.complete) as complete,
        max(ranked.tps_covered) as tps_covered,
        max(ranked.tps_total) as tps_total
    from ranked
    group by ranked.election, ranked.contest, ranked.region_code, ranked.source
),

final as (
    select
        summary.election,
        summary.contest,
        summary.level,
        summary.region_code,
        summary.race_code,
        summary.source,
        summary.candidates_with_numbers = region_candidates.candidates as has_all_candidates,
        summary.complete,
        summary.tps_covered,
        summary.tps_total,
        summary.valid_votes,
        summary.tie and summary.candidates_with_numbers = region_candidates.candidates as tie,
        case when summary.candidates_with_numbers = region_candidates.candidates and not summary.tie then summary.first_key end as leader_key,
        case when summary.candidates_with_numbers = region_candidates.candidates and not summary.tie then summary.first_nomor_urut end as leader_nomor_urut,
        case when summary.candidates_with_numbers = region_candidates.candidates and not summary.tie then summary.first_candidate_id end as leader_candidate_id,
        case when summary.candidates_with_numbers = region_candidates.candidates then summary.first_votes end as leader_votes,
        case when summary.candidates_with_numbers = region_candidates.candidates and not summary.tie then summary.second_key end as runner_up_key,
        case when summary.candidates_with_numbers = region_candidates.candidates then summary.second_votes end as runner_up_votes,
        case when summary.candidates_with_numbers = region_candidates.candidates
             then summary.first_votes - coalesce(summary.second_votes, 0) end as margin_votes
    from summary
    inner join region_candidates
        on region_candidates.election = summary.election
        and region_candidates.contest = summary.contest
        and region_candidates.region_code = summary.region_code
)

select * from final
