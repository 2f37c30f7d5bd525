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
    select * from int_region_names
),

tps_checks as (
    -- One row per TPS x rule, so a TPS counts once however many rows a check gave it.
    select
        checks.election,
        checks.contest,
        checks.code,
        checks.rule_id,
        any_value(checks.category) as category,
        any_value(checks.severity) as severity,
        bool_or(checks.broken) as broken
    from checks
    group by all
),

kelurahan_summary as (
    -- Counted once at the level just above the TPS; every higher region sums its kelurahan,
    -- since each TPS lies in exactly one of them (no fan-out of every check to five levels).
    select
        tps_checks.election,
        tps_checks.contest,
        region_ancestor(tps_checks.code, 10) as region_code,
        tps_checks.rule_id,
        any_value(tps_checks.category) as category,
        any_value(tps_checks.severity) as severity,
        count(*) as tps_checked,
        count(*) filter (where tps_checks.broken) as tps_flagged,
        coalesce(sum(tps.votes) filter (where tps_checks.broken), 0) as votes_in_flagged_tps
    from tps_checks
    left join tps
        on tps.election = tps_checks.election
        and tps.contest = tps_checks.contest
        and tps.code = tps_checks.code
    group by all
),

summary as (
    select * from kelurahan_summary
    union all
    select
        kelurahan_summary.election,
        kelurahan_summary.contest,
        region_ancestor(kelurahan_summary.region_code, ancestor_lengths.region_length) as region_code,
        kelurahan_summary.rule_id,
        any_value(kelurahan_summary.category) as category,
        any_value(kelurahan_summary.severity) as severity,
        sum(kelurahan_summary.tps_checked) as tps_checked,
        sum(kelurahan_summary.tps_flagged) as tps_flagged,
        sum(kelurahan_summary.votes_in_flagged_tps) as votes_in_flagged_tps
    from kelurahan_summary
    cross join (values (0), (2), (4), (6)) as ancestor_lengths (region_length)
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
