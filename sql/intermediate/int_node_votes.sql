-- int_node_votes: one row per election x contest x node x candidate in the node's own chart, as last observed.
-- keyed by code: int_nodes.code, stg_node_votes.version_id@stg_documents.code
with nodes as (
    select * from int_nodes
),

votes as (
    select * from stg_node_votes
),

final as (
    select
        nodes.election,
        nodes.contest,
        nodes.code,
        votes.candidate_id,
        votes.votes
    from nodes
    inner join votes on votes.version_id = nodes.version_id
)

select * from final
