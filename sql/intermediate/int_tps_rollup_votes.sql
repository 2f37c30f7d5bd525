-- int_tps_rollup_votes: one row per election x contest x region x candidate: the sum of the latest counts of the TPS files loaded under the region.
with ancestors as (
    select * from int_tps_ancestors
),

node_votes as (
    select * from int_node_votes
),

final as (
    select
        ancestors.election,
        ancestors.contest,
        ancestors.ancestor_code as code,
        node_votes.candidate_id,
        cast(sum(node_votes.votes) as bigint) as votes
    from ancestors
    inner join node_votes
        on node_votes.election = ancestors.election
        and node_votes.contest = ancestors.contest
        and node_votes.code = ancestors.tps_code
    group by ancestors.election, ancestors.contest, ancestors.ancestor_code, node_votes.candidate_id
)

select * from final
