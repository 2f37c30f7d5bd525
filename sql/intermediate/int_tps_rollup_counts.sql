-- int_tps_rollup_counts: one row per election x contest x region with TPS files loaded under it: how many, how many have a chart, and the latest ts and run among them.
-- The one model that counts TPS over a region's whole subtree, so the models reading it can be
-- rebuilt region by region (keyed by code) on a night that changed a few TPS.
with ancestors as (
    select * from int_tps_ancestors
),

tps_nodes as (
    select * from int_nodes where node_type = 'tps'
),

final as (
    select
        ancestors.election,
        ancestors.contest,
        ancestors.ancestor_code as code,
        count(*) as tps_loaded,
        count(*) filter (where tps_nodes.has_chart) as tps_with_chart,
        bool_or(tps_nodes.has_chart) as any_chart,
        max(tps_nodes.source_ts) as source_ts,
        max(tps_nodes.run_id) as run_id
    from ancestors
    inner join tps_nodes
        on tps_nodes.election = ancestors.election
        and tps_nodes.contest = ancestors.contest
        and tps_nodes.code = ancestors.tps_code
    group by ancestors.election, ancestors.contest, ancestors.ancestor_code
)

select * from final
