-- int_region_sources: one row per election x contest x region x source kind that has something to say about the region.
-- keyed by code: int_nodes.code, int_child_rows.child_code, int_tps_rollup_counts.code
-- Source kinds: node (the region's own file), parent_table (its row in the parent's table),
-- tps_rollup (the sum of the TPS files loaded under it, for mirrors that hold only TPS files).
with nodes as (
    select * from int_nodes
),

child_rows as (
    select * from int_child_rows
),

own_node as (
    select
        nodes.election,
        nodes.contest,
        nodes.code,
        'node' as source_kind,
        -- An aggregate file without candidate counts (pkwkk's province file) defers to other sources.
        nodes.node_type = 'tps' or nodes.has_chart as has_votes,
        nodes.progress_reported as tps_reported,
        nodes.progress_total as tps_total,
        nodes.psu,
        nodes.source_ts,
        nodes.source_file,
        nodes.run_id
    from nodes
),

parent_row as (
    select
        child_rows.election,
        child_rows.contest,
        child_rows.child_code as code,
        'parent_table' as source_kind,
        child_rows.has_votes,
        child_rows.progress_reported as tps_reported,
        child_rows.progress_total as tps_total,
        child_rows.psu,
        child_rows.source_ts,
        child_rows.source_file,
        child_rows.run_id
    from child_rows
),

tps_counts as (
    select * from int_tps_rollup_counts
),

tps_rollup as (
    select
        tps_counts.election,
        tps_counts.contest,
        tps_counts.code,
        'tps_rollup' as source_kind,
        tps_counts.any_chart as has_votes,
        tps_counts.tps_with_chart as tps_reported,
        tps_counts.tps_loaded as tps_total,
        null as psu,
        tps_counts.source_ts,
        null as source_file,
        tps_counts.run_id
    from tps_counts
),

final as (
    select * from own_node
    union all by name
    select * from parent_row
    union all by name
    select * from tps_rollup
)

select
    election,
    contest,
    code,
    source_kind,
    has_votes,
    cast(tps_reported as bigint) as tps_reported,
    cast(tps_total as bigint) as tps_total,
    cast(psu as varchar) as psu,
    source_ts,
    cast(source_file as varchar) as source_file,
    run_id
from final
