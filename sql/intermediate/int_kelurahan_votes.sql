-- int_kelurahan_votes: one row per election x contest x kelurahan x candidate: the sum of the latest counts of the TPS files loaded in the kelurahan.
-- keyed by code: int_nodes.code[:10], int_node_votes.code[:10]
-- int_tps_rollup_votes sums these rows for every region above; a night re-adds only the
-- kelurahan whose TPS changed.
with tps_nodes as (
    select * from int_nodes where node_type = 'tps'
),

node_votes as (
    select * from int_node_votes
),

final as (
    select
        tps_nodes.election,
        tps_nodes.contest,
        region_ancestor(tps_nodes.code, 10) as code,
        node_votes.candidate_id,
        cast(sum(node_votes.votes) as bigint) as votes
    from tps_nodes
    inner join node_votes
        on node_votes.election = tps_nodes.election
        and node_votes.contest = tps_nodes.contest
        and node_votes.code = tps_nodes.code
    group by all
)

select * from final
