-- stg_count_votes: one row per count file version x data row x ballot number with a number, as loaded into raw_count_votes.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_count_votes
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.row_number as bigint) as row_number,
        cast(source.nomor_urut as bigint) as nomor_urut,
        cast(source.votes as bigint) as votes,
        cast(source.column_name as varchar) as column_name
    from source
)

select * from final
