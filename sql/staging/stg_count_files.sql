-- stg_count_files: one row per version of a count file (internal count or official recap), as loaded into raw_count_files.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_count_files
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.source_kind as varchar) as source_kind,
        cast(source.election as varchar) as election,
        cast(source.contest as varchar) as contest,
        cast(source.content_hash as varchar) as content_hash,
        cast(source.file_format as varchar) as file_format,
        cast(source.column_map as varchar) as column_map,
        cast(source.data_rows as bigint) as data_rows
    from source
)

select * from final
