-- int_rule_plausibility: one row per TPS x plausibility rule its reported version can be checked against (broken or not).
-- keyed by code: int_tps_facts.code, int_node_votes.code; whole: ref_rule_params
-- Thresholds come from the rule pack (ref_rule_params), never from this file.
with tps as (
    select * from int_tps_facts
),

node_votes as (
    select * from int_node_votes
),

params as (
    select * from ref_rule_params
),

thresholds as (
    select
        max(params.value) filter (where params.rule_id = 'candidate_over_cap' and params.param = 'pemilu') as cap_pemilu,
        max(params.value) filter (where params.rule_id = 'candidate_over_cap' and params.param = 'pilkada') as cap_pilkada,
        max(params.value) filter (where params.rule_id = 'votes_over_dpt' and params.param = 'tolerance') as dpt_tolerance
    from params
),

tps_caps as (
    select
        tps.election,
        tps.contest,
        tps.code,
        tps.version_id,
        case
            when tps.election like 'pemilu%' then thresholds.cap_pemilu
            when tps.election like 'pilkada%' then thresholds.cap_pilkada
        end as cap
    from tps
    cross join thresholds
    where tps.candidate_max is not null
),

cap_checks as (
    select
        tps_caps.election,
        tps_caps.contest,
        tps_caps.code,
        tps_caps.version_id,
        bool_or(node_votes.votes > tps_caps.cap) as broken,
        max(node_votes.votes) as max_votes,
        any_value(tps_caps.cap) as cap
    from tps_caps
    inner join node_votes
        on node_votes.election = tps_caps.election
        and node_votes.contest = tps_caps.contest
        and node_votes.code = tps_caps.code
    where tps_caps.cap is not null
    group by tps_caps.election, tps_caps.contest, tps_caps.code, tps_caps.version_id
),

-- The candidates over the cap, for the broken TPS only: an ordered string_agg over every
-- TPS's candidates costs most of this rule at national scale, over the broken few nothing.
cap_texts as (
    select
        cap_checks.election,
        cap_checks.contest,
        cap_checks.code,
        cap_checks.version_id,
        string_agg(node_votes.candidate_id || ': ' || node_votes.votes, ', ' order by node_votes.candidate_id)
            filter (where node_votes.votes > cap_checks.cap) as observed
    from cap_checks
    inner join node_votes
        on node_votes.election = cap_checks.election
        and node_votes.contest = cap_checks.contest
        and node_votes.code = cap_checks.code
    where cap_checks.broken
    group by cap_checks.election, cap_checks.contest, cap_checks.code, cap_checks.version_id
),

candidate_over_cap as (
    select
        cap_checks.election,
        cap_checks.contest,
        cap_checks.code,
        cap_checks.version_id,
        'candidate_over_cap' as rule_id,
        cap_checks.broken,
        coalesce(cap_texts.observed, 'max ' || cap_checks.max_votes) as observed,
        case
            when cap_checks.cap = floor(cap_checks.cap) then cast(cast(cap_checks.cap as bigint) as varchar)
            else cast(cap_checks.cap as varchar)
        end as expected
    from cap_checks
    left join cap_texts
        on cap_texts.election = cap_checks.election
        and cap_texts.contest = cap_checks.contest
        and cap_texts.code = cap_checks.code
        and cap_texts.version_id = cap_checks.version_id
),

dpt_bounds as (
    select
        tps.*,
        -- Rounded so that 1.02 x 100 is 102, not 102.00000000000001.
        round(tps.pemilih_dpt_j * (1 + thresholds.dpt_tolerance), 6) as bound,
        thresholds.dpt_tolerance
    from tps
    cross join thresholds
    where tps.candidate_sum is not null and tps.pemilih_dpt_j is not null
),

votes_over_dpt as (
    select
        dpt_bounds.election,
        dpt_bounds.contest,
        dpt_bounds.code,
        dpt_bounds.version_id,
        'votes_over_dpt' as rule_id,
        dpt_bounds.candidate_sum > dpt_bounds.bound as broken,
        cast(dpt_bounds.candidate_sum as varchar) as observed,
        dpt_bounds.pemilih_dpt_j || ' x ' || (1 + dpt_bounds.dpt_tolerance) || ' = ' || dpt_bounds.bound as expected
    from dpt_bounds
),

registered as (
    select
        tps.*,
        tps.pemilih_dpt_j + tps.pengguna_dptb_j + tps.pengguna_non_dpt_j as capacity
    from tps
    where tps.pemilih_dpt_j is not null
        and tps.pengguna_dptb_j is not null
        and tps.pengguna_non_dpt_j is not null
        and (tps.candidate_sum is not null or tps.suara_total is not null)
),

counts_over_registered as (
    select
        registered.election,
        registered.contest,
        registered.code,
        registered.version_id,
        'counts_over_registered' as rule_id,
        -- greatest() skips nulls: a TPS without a chart is still checked on suara_total.
        greatest(registered.candidate_sum, registered.suara_total) > registered.capacity as broken,
        concat_ws(
            ', ',
            'candidate votes ' || registered.candidate_sum,
            'suara_total ' || registered.suara_total
        ) as observed,
        registered.pemilih_dpt_j || ' + ' || registered.pengguna_dptb_j || ' + ' || registered.pengguna_non_dpt_j
            || ' = ' || registered.capacity as expected
    from registered
),

final as (
    select * from candidate_over_cap
    union all
    select * from votes_over_dpt
    union all
    select * from counts_over_registered
)

select * from final
