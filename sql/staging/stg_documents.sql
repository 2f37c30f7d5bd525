-- stg_documents: one row per version of an exported document (node, candidate master or region list), as loaded into raw_documents.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_documents
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.kind as varchar) as kind,
        cast(source.election as varchar) as election,
        cast(source.contest as varchar) as contest,
        cast(source.code as varchar) as code,
        cast(source.content_hash as varchar) as content_hash,
        cast(source.ts as varchar) as ts
    from source
)

select * from final
