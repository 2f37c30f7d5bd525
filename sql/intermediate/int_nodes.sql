-- int_nodes: one row per election x contest x node code (aggregate or TPS), as last observed.
-- keyed by code: int_latest_documents.code, stg_nodes.version_id@stg_documents.code
with latest as (
    select * from int_latest_documents where kind = 'node'
),

nodes as (
    select * from stg_nodes
),

final as (
    select
        latest.election,
        latest.contest,
        latest.code,
        nodes.level,
        nodes.node_type,
        nodes.psu,
        nodes.has_chart,
        nodes.has_admin,
        nodes.progress_total,
        nodes.progress_reported,
        nodes.images,
        latest.version_id,
        latest.source_ts,
        latest.source_file,
        latest.run_id
    from latest
    inner join nodes on nodes.version_id = latest.version_id
)

select * from final
