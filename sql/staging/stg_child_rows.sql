-- stg_child_rows: one row per aggregate node version x child region in its table, as loaded into raw_child_rows.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_child_rows
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.child_code as varchar) as child_code,
        cast(source.status_progress as boolean) as status_progress,
        cast(source.psu as varchar) as psu,
        cast(source.progress_total as bigint) as progress_total,
        cast(source.progress_reported as bigint) as progress_reported,
        cast(source.has_votes as boolean) as has_votes
    from source
)

select * from final
