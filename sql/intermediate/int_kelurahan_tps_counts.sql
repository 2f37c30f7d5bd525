-- int_kelurahan_tps_counts: one row per election x contest x kelurahan with TPS files loaded in it: how many, how many have a chart, and the latest ts and run among them.
-- keyed by code: int_nodes.code[:10]
-- Each TPS lies in exactly one kelurahan (its code's first 10 digits): int_tps_rollup_counts sums
-- these rows for every region above, and a night recounts only the kelurahan whose TPS changed.
with tps_nodes as (
    select * from int_nodes where node_type = 'tps'
),

final as (
    select
        tps_nodes.election,
        tps_nodes.contest,
        region_ancestor(tps_nodes.code, 10) as code,
        count(*) as tps_loaded,
        count(*) filter (where tps_nodes.has_chart) as tps_with_chart,
        bool_or(tps_nodes.has_chart) as any_chart,
        max(tps_nodes.source_ts) as source_ts,
        max(tps_nodes.run_id) as run_id
    from tps_nodes
    group by all
)

select * from final
