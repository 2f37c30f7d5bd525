-- int_region_votes: one row per election x contest x region (inside its race) x candidate of the race, with votes from the region's chosen source.
-- keyed by region_code: int_regions.region_code, int_node_votes.code, int_child_votes.child_code, int_tps_rollup_votes.code; whole: int_candidates
-- votes is null where that source has no count for the candidate: no data, never zero.
with regions as (
    select * from int_regions where within_race
),

candidates as (
    select * from int_candidates
),

node_votes as (
    select * from int_node_votes
),

child_votes as (
    select * from int_child_votes
),

tps_rollup_votes as (
    select * from int_tps_rollup_votes
),

source_votes as (
    select election, contest, code, 'node' as source_kind, candidate_id, votes from node_votes
    union all
    select election, contest, child_code as code, 'parent_table' as source_kind, candidate_id, votes from child_votes
    union all
    select election, contest, code, 'tps_rollup' as source_kind, candidate_id, votes from tps_rollup_votes
),

chosen_votes as (
    select
        regions.election,
        regions.contest,
        regions.region_code,
        source_votes.candidate_id,
        source_votes.votes
    from regions
    inner join source_votes
        on source_votes.election = regions.election
        and source_votes.contest = regions.contest
        and source_votes.code = regions.region_code
        and source_votes.source_kind = regions.source_kind
),

race_candidates as (
    -- The race's candidates from the master, plus any id the counts name (an unknown id still counts).
    select regions.election, regions.contest, regions.region_code, candidates.candidate_id
    from regions
    inner join candidates
        on candidates.election = regions.election
        and candidates.contest = regions.contest
        and (candidates.region_code = regions.race_code or candidates.region_code is null)
    union
    select chosen_votes.election, chosen_votes.contest, chosen_votes.region_code, chosen_votes.candidate_id
    from chosen_votes
),

final as (
    select
        regions.election,
        regions.contest,
        regions.level,
        regions.region_code,
        regions.race_code,
        race_candidates.candidate_id,
        candidates.nomor_urut,
        coalesce(candidates.candidate_name, 'candidate ' || race_candidates.candidate_id) as candidate_name,
        cast(chosen_votes.votes as bigint) as votes
    from regions
    inner join race_candidates
        on race_candidates.election = regions.election
        and race_candidates.contest = regions.contest
        and race_candidates.region_code = regions.region_code
    left join chosen_votes
        on chosen_votes.election = regions.election
        and chosen_votes.contest = regions.contest
        and chosen_votes.region_code = regions.region_code
        and chosen_votes.candidate_id = race_candidates.candidate_id
    left join candidates
        on candidates.election = regions.election
        and candidates.contest = regions.contest
        and candidates.candidate_id = race_candidates.candidate_id
)

select * from final
