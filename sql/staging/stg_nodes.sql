-- stg_nodes: one row per node version (an aggregate region node or a TPS node), as loaded into raw_nodes.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_nodes
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.level as varchar) as level,
        cast(source.node_type as varchar) as node_type,
        cast(source.mode as varchar) as mode,
        cast(source.psu as varchar) as psu,
        cast(source.status_suara as boolean) as status_suara,
        cast(source.status_adm as boolean) as status_adm,
        cast(source.has_chart as boolean) as has_chart,
        cast(source.has_admin as boolean) as has_admin,
        cast(source.progress_total as bigint) as progress_total,
        cast(source.progress_reported as bigint) as progress_reported,
        cast(source.images as varchar[]) as images
    from source
)

select * from final
