-- stg_child_votes: one row per aggregate node version x child region x candidate in its table, as loaded into raw_child_votes.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_child_votes
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.child_code as varchar) as child_code,
        cast(source.candidate_id as varchar) as candidate_id,
        cast(source.votes as bigint) as votes
    from source
)

select * from final
