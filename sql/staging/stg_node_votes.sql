-- stg_node_votes: one row per node version x candidate with a count in the node's own chart, as loaded into raw_node_votes.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_node_votes
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.candidate_id as varchar) as candidate_id,
        cast(source.votes as bigint) as votes
    from source
)

select * from final
