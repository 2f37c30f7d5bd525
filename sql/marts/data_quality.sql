-- data_quality: one row per election x contest x region x rule checked on the TPS under the region (every level above the TPS: nasional, provinsi, kabkota, kecamatan, kelurahan).
-- keyed by region_code: int_kelurahan_rule_counts.region_code[ancestors], int_region_names.code
-- Columns are documented in schemas/marts.py (DataQuality). Rules on aggregate nodes (roll-ups,
-- a region's withheld file) are in anomalies; this mart counts TPS.
with kelurahan as (
    select * from int_kelurahan_rule_counts
),

regions as (
    select * from int_region_names
),

kecamatan as (
    -- Every higher region sums its kelurahan, since each TPS lies in exactly one of them: the
    -- kecamatan first, then the regions above them from the kecamatan (a tenth of the rows).
    select
        kelurahan.election,
        kelurahan.contest,
        region_ancestor(kelurahan.region_code, 6) as region_code,
        kelurahan.rule_id,
        any_value(kelurahan.category) as category,
        any_value(kelurahan.severity) as severity,
        sum(kelurahan.tps_checked) as tps_checked,
        sum(kelurahan.tps_flagged) as tps_flagged,
        sum(kelurahan.votes_in_flagged_tps) as votes_in_flagged_tps
    from kelurahan
    group by all
),

summary as (
    select * from kelurahan
    union all by name
    select * from kecamatan
    union all by name
    select
        kecamatan.election,
        kecamatan.contest,
        region_ancestor(kecamatan.region_code, ancestor_lengths.region_length) as region_code,
        kecamatan.rule_id,
        any_value(kecamatan.category) as category,
        any_value(kecamatan.severity) as severity,
        sum(kecamatan.tps_checked) as tps_checked,
        sum(kecamatan.tps_flagged) as tps_flagged,
        sum(kecamatan.votes_in_flagged_tps) as votes_in_flagged_tps
    from kecamatan
    cross join (values (0), (2), (4)) as ancestor_lengths (region_length)
    group by all
),

final as (
    select
        summary.election,
        summary.contest,
        region_level(summary.region_code) as level,
        summary.region_code,
        regions.region_name,
        summary.rule_id,
        summary.category,
        summary.severity,
        cast(summary.tps_checked as bigint) as tps_checked,
        cast(summary.tps_flagged as bigint) as tps_flagged,
        cast(summary.votes_in_flagged_tps as bigint) as votes_in_flagged_tps
    from summary
    left join regions on regions.code = summary.region_code
)

select * from final
order by election, contest, region_code, rule_id
