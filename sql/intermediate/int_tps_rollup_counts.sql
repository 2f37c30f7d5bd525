-- int_tps_rollup_counts: one row per election x contest x region with TPS files loaded under it: how many, how many have a chart, and the latest ts and run among them.
-- The one model that counts TPS over a region's whole subtree, so the models reading it can be
-- rebuilt region by region (keyed by code) on a night that changed a few TPS. Each TPS lies in
-- exactly one kelurahan: a region above sums its kelurahan (int_kelurahan_tps_counts).
with kelurahan as (
    select * from int_kelurahan_tps_counts
),

above as (
    select
        kelurahan.election,
        kelurahan.contest,
        region_ancestor(kelurahan.code, ancestor_lengths.region_length) as code,
        cast(sum(kelurahan.tps_loaded) as bigint) as tps_loaded,
        cast(sum(kelurahan.tps_with_chart) as bigint) as tps_with_chart,
        bool_or(kelurahan.any_chart) as any_chart,
        max(kelurahan.source_ts) as source_ts,
        max(kelurahan.run_id) as run_id
    from kelurahan
    cross join (values (0), (2), (4), (6)) as ancestor_lengths (region_length)
    group by all
),

final as (
    select * from kelurahan
    union all
    select * from above
)

select * from final
