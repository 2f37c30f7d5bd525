-- int_rule_checks: one row per node (or table row's code) x rule it was checked against, broken or not, with the rule pack's severity.
-- keyed by code: int_rule_arithmetic.code, int_rule_plausibility.code, int_rule_withheld.code, int_rule_rollup.code, int_rule_psu.code, int_rule_reference.code; whole: ref_rules
-- The union of the int_rule_* models; observed and expected are filled where the rule is broken.
-- stored as a view: each row is one row of an int_rule_* model with its rule's pack entry, so a
-- stored copy would repeat 11 million national rows (3-4 s of a night to write or diff).
with arithmetic as (
    select * from int_rule_arithmetic
),

plausibility as (
    select * from int_rule_plausibility
),

withheld as (
    select * from int_rule_withheld
),

rollup as (
    select * from int_rule_rollup
),

psu as (
    select * from int_rule_psu
),

reference as (
    select * from int_rule_reference
),

rules as (
    select * from ref_rules
),

checks as (
    select * from arithmetic
    union all by name
    select * from plausibility
    union all by name
    select * from withheld
    union all by name
    select * from rollup
    union all by name
    select * from psu
    union all by name
    select * from reference
),

final as (
    select
        checks.election,
        checks.contest,
        checks.code,
        region_level(checks.code) as level,
        checks.rule_id,
        rules.category,
        rules.severity,
        rules.enabled,
        coalesce(checks.broken, false) as broken,
        case when checks.broken then checks.observed end as observed,
        case when checks.broken then checks.expected end as expected,
        checks.version_id
    from checks
    inner join rules on rules.rule_id = checks.rule_id
)

select * from final
