-- int_tps_flags: one row per election x contest x TPS loaded (any version): its completeness, the enabled rules it breaks and whether any is error-level.
-- keyed by code: int_node_versions.code, int_tps_facts.code, int_rule_checks.code
-- A TPS seen only in withheld versions has no reported version: its chart counts as missing.
with versions as (
    select * from int_node_versions where node_type = 'tps'
),

facts as (
    select * from int_tps_facts
),

checks as (
    select * from int_rule_checks where broken and enabled
),

latest as (
    select * from versions
    qualify row_number() over (
        partition by versions.election, versions.contest, versions.code
        order by versions.observed_seq desc
    ) = 1
),

broken_rules as (
    select
        checks.election,
        checks.contest,
        checks.code,
        list(checks.rule_id order by checks.rule_id) as rules_broken,
        count(*) filter (where checks.severity = 'error') as error_rules,
        count(*) filter (where checks.severity = 'warning') as warning_rules
    from checks
    group by checks.election, checks.contest, checks.code
),

final as (
    select
        latest.election,
        latest.contest,
        latest.code,
        coalesce(
            facts.completeness,
            case when latest.has_admin then 'admin_only' else 'empty' end
        ) as completeness,
        coalesce(broken_rules.rules_broken, []::varchar[]) as rules_broken,
        coalesce(broken_rules.error_rules, 0) > 0 as error_flagged,
        coalesce(broken_rules.error_rules, 0) + coalesce(broken_rules.warning_rules, 0) > 0 as flagged,
        facts.candidate_sum as votes,
        latest.withheld,
        coalesce(facts.version_id, latest.version_id) as version_id
    from latest
    left join facts
        on facts.election = latest.election
        and facts.contest = latest.contest
        and facts.code = latest.code
    left join broken_rules
        on broken_rules.election = latest.election
        and broken_rules.contest = latest.contest
        and broken_rules.code = latest.code
)

select * from final
