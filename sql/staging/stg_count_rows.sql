-- stg_count_rows: one row per count file version x data row, as loaded into raw_count_rows.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_count_rows
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.row_number as bigint) as row_number,
        cast(source.code as varchar) as code,
        cast(source.level as varchar) as level,
        cast(source.name as varchar) as name,
        cast(source.is_total as boolean) as is_total,
        cast(source.submitted_at as timestamp) as submitted_at,
        cast(source.witness_id as varchar) as witness_id,
        cast(source.suara_sah as bigint) as suara_sah,
        cast(source.suara_tidak_sah as bigint) as suara_tidak_sah,
        cast(source.dpt as bigint) as dpt,
        cast(source.source_note as varchar) as source_note
    from source
)

select * from final
