-- int_child_votes: one row per election x contest x child region x candidate, as its parent's last observed table states.
-- keyed by parent_code: int_child_rows.parent_code, stg_child_votes.version_id@stg_documents.code
with child_rows as (
    select * from int_child_rows
),

votes as (
    select * from stg_child_votes
),

final as (
    select
        child_rows.election,
        child_rows.contest,
        child_rows.parent_code,
        child_rows.child_code,
        votes.candidate_id,
        votes.votes
    from child_rows
    inner join votes
        on votes.version_id = child_rows.parent_version_id
        and votes.child_code = child_rows.child_code
)

select * from final
