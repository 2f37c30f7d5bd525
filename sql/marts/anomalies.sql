-- anomalies: one row per election x contest x node x broken rule (enabled in the rule pack), with what was found, what was expected and where to look.
-- keyed by version_id: int_rule_checks.version_id, int_node_versions.version_id; whole: ref_rules, int_region_names
-- Columns are documented in schemas/marts.py (Anomalies). Findings flag a node; they never remove it from the totals.
with checks as (
    select * from int_rule_checks where broken and enabled
),

rules as (
    select * from ref_rules
),

versions as (
    select * from int_node_versions
),

regions as (
    select * from int_region_names
),

final as (
    select
        checks.election,
        checks.contest,
        checks.level,
        checks.code,
        coalesce(
            regions.region_name,
            case when length(checks.code) = 13 then 'TPS ' || right(checks.code, 3) end
        ) as region_name,
        checks.rule_id,
        checks.category,
        checks.severity,
        checks.observed,
        checks.expected,
        replace(replace(rules.message_id, '{observed}', coalesce(checks.observed, '?')), '{expected}', coalesce(checks.expected, '?')) as message_id,
        replace(replace(rules.message_en, '{observed}', coalesce(checks.observed, '?')), '{expected}', coalesce(checks.expected, '?')) as message_en,
        versions.source_ts,
        versions.images,
        versions.snapshot,
        versions.source_file,
        versions.run_id as source_run_id,
        checks.version_id
    from checks
    inner join rules on rules.rule_id = checks.rule_id
    left join versions on versions.version_id = checks.version_id
    left join regions on regions.code = checks.code
)

select * from final
order by election, contest, code, rule_id
