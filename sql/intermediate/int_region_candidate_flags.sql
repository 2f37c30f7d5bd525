-- int_region_candidate_flags: one row per election x contest x region x candidate with votes in a TPS with an error-level finding under the region (the TPS itself and every region above it): those votes.
-- A region whose TPS have no error-level finding has no row here: int_region_flags says whether
-- it holds loaded TPS (province_totals: 0 votes flagged then, null when it holds none).
with flagged as (
    select * from int_tps_flags where error_flagged
),

node_votes as (
    select * from int_node_votes
),

regions as (
    select
        flagged.*,
        unnest([0, 2, 4, 6, 10, 13]) as region_length
    from flagged
),

final as (
    select
        regions.election,
        regions.contest,
        region_ancestor(regions.code, regions.region_length) as region_code,
        node_votes.candidate_id,
        cast(sum(node_votes.votes) as bigint) as votes_flagged
    from regions
    inner join node_votes
        on node_votes.election = regions.election
        and node_votes.contest = regions.contest
        and node_votes.code = regions.code
    group by all
)

select * from final
