-- data_quality: one row per election x contest x region x rule checked on the TPS under the region (every level above the TPS: nasional, provinsi, kabkota, kecamatan, kelurahan).
-- Columns are documented in schemas/marts.py (DataQuality). Rules on aggregate nodes (roll-ups,
-- a region's withheld file) are in anomalies; this mart counts TPS.
with checks as (
    select * from int_rule_checks where level = 'tps' and enabled
),

tps as (
    select * from int_tps_flags
),

regions as (
    select * from stg_regions
),

region_checks as (
    select
        checks.*,
        tps.votes,
        unnest([0, 2, 4, 6, 10]) as region_length
    from checks
    left join tps
        on tps.election = checks.election
        and tps.contest = checks.contest
        and tps.code = checks.code
),

summary as (
    select
        region_checks.election,
        region_checks.contest,
        region_ancestor(region_checks.code, region_checks.region_length) as region_code,
        region_checks.rule_id,
        any_value(region_checks.category) as category,
        any_value(region_checks.severity) as severity,
        count(distinct region_checks.code) as tps_checked,
        count(distinct region_checks.code) filter (where region_checks.broken) as tps_flagged,
        coalesce(sum(region_checks.votes) filter (where region_checks.broken), 0) as votes_in_flagged_tps
    from region_checks
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
