-- int_region_candidate_flags: one row per election x contest x region holding loaded TPS files x candidate: the candidate's votes in TPS with an error-level finding.
with tps as (
    select * from int_tps_flags
),

node_votes as (
    select * from int_node_votes
),

regions as (
    select
        tps.*,
        unnest([0, 2, 4, 6, 10, 13]) as region_length
    from tps
),

final as (
    select
        regions.election,
        regions.contest,
        region_ancestor(regions.code, regions.region_length) as region_code,
        node_votes.candidate_id,
        cast(coalesce(sum(node_votes.votes) filter (where regions.error_flagged), 0) as bigint) as votes_flagged
    from regions
    inner join node_votes
        on node_votes.election = regions.election
        and node_votes.contest = regions.contest
        and node_votes.code = regions.code
    group by all
)

select * from final
