-- int_region_sources: one row per election x contest x region x source kind that has something to say about the region.
-- Source kinds: node (the region's own file), parent_table (its row in the parent's table),
-- tps_rollup (the sum of the TPS files loaded under it, for mirrors that hold only TPS files).
with nodes as (
    select * from int_nodes
),

node_votes as (
    select * from int_node_votes
),

child_rows as (
    select * from int_child_rows
),

tps_nodes as (
    select * from int_nodes where node_type = 'tps'
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

ancestors as (
    select * from int_tps_ancestors
),

tps_rollup as (
    select
        ancestors.election,
        ancestors.contest,
        ancestors.ancestor_code as code,
        'tps_rollup' as source_kind,
        bool_or(tps_nodes.has_chart) as has_votes,
        count(*) filter (where tps_nodes.has_chart) as tps_reported,
        count(*) as tps_total,
        null as psu,
        max(tps_nodes.source_ts) as source_ts,
        null as source_file,
        max(tps_nodes.run_id) as run_id
    from ancestors
    inner join tps_nodes
        on tps_nodes.election = ancestors.election
        and tps_nodes.contest = ancestors.contest
        and tps_nodes.code = ancestors.tps_code
    group by ancestors.election, ancestors.contest, ancestors.ancestor_code
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
