-- int_kelurahan_rule_counts: one row per election x contest x kelurahan x rule checked on the TPS in it: TPS checked, TPS flagged and their votes.
-- keyed by region_code: int_rule_checks.code[:10], int_tps_flags.code[:10]
-- Each TPS lies in exactly one kelurahan (its code's first 10 digits), so data_quality sums these
-- rows for every region above, and a night recounts only the kelurahan whose TPS changed.
with checks as (
    select * from int_rule_checks where level = 'tps' and enabled
),

tps as (
    select * from int_tps_flags
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

final as (
    select
        tps_checks.election,
        tps_checks.contest,
        region_ancestor(tps_checks.code, 10) as region_code,
        tps_checks.rule_id,
        any_value(tps_checks.category) as category,
        any_value(tps_checks.severity) as severity,
        cast(count(*) as bigint) as tps_checked,
        cast(count(*) filter (where tps_checks.broken) as bigint) as tps_flagged,
        cast(coalesce(sum(tps.votes) filter (where tps_checks.broken), 0) as bigint) as votes_in_flagged_tps
    from tps_checks
    left join tps
        on tps.election = tps_checks.election
        and tps.contest = tps_checks.contest
        and tps.code = tps_checks.code
    group by all
)

select * from final
