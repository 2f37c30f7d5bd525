-- outcome_risk: one row per race (election x contest x area where a winner is decided): the leader and margin under each source, the votes still at stake, and a verdict.
-- votes_at_stake = discrepancy_votes + unreported_votes + flagged_votes, where
--   discrepancy_votes: the larger of (a) the sum over candidates of the largest disagreement between
--     two complete sources for the whole race area and (b) the sum of |internal - SIREKAP| over the
--     race's TPS (the same disagreement seen at two levels is not counted twice);
--   unreported_votes: SIREKAP's votes per reported TPS times the TPS it has not published yet;
--   flagged_votes: votes in the race's TPS that break an error-level data-quality rule (tps_status,
--     as votes_flagged in province_totals); null where no TPS file of the race is loaded.
-- verdict: flips (two sources name different leaders), at_risk (the stake exceeds the smallest
-- margin any source gives, or some source is tied or names no leader), safe otherwise.
-- Columns are documented in schemas/marts.py (OutcomeRisk).
with leaders as (
    select * from int_source_leaders
),

reconciled as (
    select * from reconciliation
),

tps_reconciled as (
    select * from tps_reconciliation
),

contests as (
    select * from int_contests
),

region_names as (
    select * from int_region_names
),

candidates as (
    select * from int_candidates
),

tps_checks as (
    select * from tps_status
),

race_leaders as (
    select * from leaders where region_code = race_code
),

per_source as (
    select
        race_leaders.election,
        race_leaders.contest,
        race_leaders.race_code,
        max(race_leaders.leader_key) filter (where race_leaders.source = 'internal') as internal_leader,
        max(race_leaders.leader_key) filter (where race_leaders.source = 'sirekap') as sirekap_leader,
        max(race_leaders.leader_key) filter (where race_leaders.source = 'official') as official_leader,
        max(race_leaders.margin_votes) filter (where race_leaders.source = 'internal') as internal_margin_votes,
        max(race_leaders.margin_votes) filter (where race_leaders.source = 'sirekap') as sirekap_margin_votes,
        max(race_leaders.margin_votes) filter (where race_leaders.source = 'official') as official_margin_votes,
        max(round(100.0 * race_leaders.margin_votes / nullif(race_leaders.valid_votes, 0), 2)) filter (where race_leaders.source = 'internal') as internal_margin_pct,
        max(round(100.0 * race_leaders.margin_votes / nullif(race_leaders.valid_votes, 0), 2)) filter (where race_leaders.source = 'sirekap') as sirekap_margin_pct,
        max(round(100.0 * race_leaders.margin_votes / nullif(race_leaders.valid_votes, 0), 2)) filter (where race_leaders.source = 'official') as official_margin_pct,
        max(race_leaders.tps_covered) filter (where race_leaders.source = 'sirekap') as sirekap_tps_reported,
        max(race_leaders.tps_total) filter (where race_leaders.source = 'sirekap') as sirekap_tps_total,
        max(race_leaders.valid_votes) filter (where race_leaders.source = 'sirekap') as sirekap_valid_votes,
        count(*) as sources,
        count(distinct race_leaders.leader_key) as distinct_leaders,
        count(*) filter (where race_leaders.leader_key is null) as sources_without_leader,
        any_value(race_leaders.leader_candidate_id) filter (where race_leaders.leader_key is not null) as leader_candidate_id,
        any_value(race_leaders.leader_nomor_urut) filter (where race_leaders.leader_key is not null) as leader_nomor_urut
    from race_leaders
    group by race_leaders.election, race_leaders.contest, race_leaders.race_code
),

race_discrepancy as (
    select
        reconciled.election,
        reconciled.contest,
        reconciled.race_code,
        cast(sum(greatest(
            case when reconciled.internal_vs_sirekap = 'mismatch' then abs(reconciled.internal_minus_sirekap) else 0 end,
            case when reconciled.internal_vs_official = 'mismatch' then abs(reconciled.internal_minus_official) else 0 end,
            case when reconciled.sirekap_vs_official = 'mismatch' then abs(reconciled.sirekap_minus_official) else 0 end
        )) as bigint) as votes
    from reconciled
    where reconciled.region_code = reconciled.race_code
    group by reconciled.election, reconciled.contest, reconciled.race_code
),

tps_discrepancy as (
    select
        tps_reconciled.election,
        tps_reconciled.contest,
        tps_reconciled.race_code,
        cast(sum(abs(tps_reconciled.delta)) filter (where tps_reconciled.status = 'mismatch') as bigint) as votes,
        count(distinct tps_reconciled.tps_code) filter (where tps_reconciled.status = 'mismatch') as tps_mismatched
    from tps_reconciled
    group by tps_reconciled.election, tps_reconciled.contest, tps_reconciled.race_code
),

flagged as (
    select
        tps_checks.election,
        tps_checks.contest,
        region_ancestor(tps_checks.tps_code, contests.race_code_length) as race_code,
        cast(coalesce(sum(tps_checks.votes) filter (where tps_checks.error_flagged), 0) as bigint) as votes
    from tps_checks
    inner join contests on contests.contest = tps_checks.contest
    group by all
),

staked as (
    select
        per_source.*,
        greatest(coalesce(race_discrepancy.votes, 0), coalesce(tps_discrepancy.votes, 0)) as discrepancy_votes,
        coalesce(tps_discrepancy.tps_mismatched, 0) as tps_mismatched,
        cast(case when per_source.sirekap_tps_reported > 0
            -- The product in HUGEINT: votes x TPS can pass BIGINT before the division brings it back.
            then round(cast(per_source.sirekap_valid_votes as hugeint) * (per_source.sirekap_tps_total - per_source.sirekap_tps_reported) / per_source.sirekap_tps_reported)
        end as bigint) as unreported_votes,
        flagged.votes as flagged_votes,
        least(per_source.internal_margin_votes, per_source.sirekap_margin_votes, per_source.official_margin_votes) as margin_votes
    from per_source
    left join race_discrepancy
        on race_discrepancy.election = per_source.election
        and race_discrepancy.contest = per_source.contest
        and race_discrepancy.race_code = per_source.race_code
    left join tps_discrepancy
        on tps_discrepancy.election = per_source.election
        and tps_discrepancy.contest = per_source.contest
        and tps_discrepancy.race_code = per_source.race_code
    left join flagged
        on flagged.election = per_source.election
        and flagged.contest = per_source.contest
        and flagged.race_code = per_source.race_code
),

judged as (
    select
        staked.*,
        staked.discrepancy_votes + coalesce(staked.unreported_votes, 0) + coalesce(staked.flagged_votes, 0) as votes_at_stake,
        case
            when staked.margin_votes = staked.official_margin_votes then 'official'
            when staked.margin_votes = staked.sirekap_margin_votes then 'sirekap'
            when staked.margin_votes = staked.internal_margin_votes then 'internal'
        end as margin_source,
        case
            when staked.margin_votes = staked.official_margin_votes then 'official recap'
            when staked.margin_votes = staked.sirekap_margin_votes then 'SIREKAP'
            when staked.margin_votes = staked.internal_margin_votes then 'internal count'
        end as margin_label
    from staked
),

final as (
    select
        judged.election,
        judged.contest,
        contests.race_level,
        judged.race_code,
        coalesce(region_names.region_name, case when judged.race_code = '0' then 'INDONESIA' end) as race_name,
        case when judged.distinct_leaders = 1 then judged.leader_nomor_urut end as leader_nomor_urut,
        case when judged.distinct_leaders = 1 then judged.leader_candidate_id end as leader_candidate_id,
        case when judged.distinct_leaders = 1 then coalesce(candidates.candidate_name,
            'candidate ' || coalesce(lpad(cast(judged.leader_nomor_urut as varchar), 2, '0'), judged.leader_candidate_id)) end as leader_name,
        judged.internal_leader,
        judged.sirekap_leader,
        judged.official_leader,
        judged.internal_margin_votes,
        judged.sirekap_margin_votes,
        judged.official_margin_votes,
        cast(judged.internal_margin_pct as double) as internal_margin_pct,
        cast(judged.sirekap_margin_pct as double) as sirekap_margin_pct,
        cast(judged.official_margin_pct as double) as official_margin_pct,
        judged.sirekap_tps_reported,
        judged.sirekap_tps_total,
        judged.discrepancy_votes,
        judged.tps_mismatched,
        judged.unreported_votes,
        judged.flagged_votes,
        judged.votes_at_stake,
        judged.margin_votes,
        judged.margin_source,
        case
            when judged.distinct_leaders > 1 then 'flips'
            when judged.sources_without_leader > 0 or judged.margin_votes is null or judged.votes_at_stake > judged.margin_votes then 'at_risk'
            else 'safe'
        end as verdict,
        case
            when judged.distinct_leaders > 1 then concat_ws('; ',
                case when judged.internal_leader is not null then 'internal count: ' || judged.internal_leader || ' leads' end,
                case when judged.sirekap_leader is not null then 'SIREKAP: ' || judged.sirekap_leader || ' leads' end,
                case when judged.official_leader is not null then 'official recap: ' || judged.official_leader || ' leads' end)
            when judged.sources_without_leader > 0 or judged.margin_votes is null
                then format('{} of {} source(s) name no leader (a tie, or a candidate without a number)', judged.sources_without_leader, judged.sources)
            when judged.votes_at_stake > judged.margin_votes
                then format('{:,} votes at stake exceed the smallest margin, {:,} ({})', judged.votes_at_stake, judged.margin_votes, judged.margin_label)
            else format('{:,} votes at stake are fewer than the smallest margin, {:,} ({})', judged.votes_at_stake, judged.margin_votes, judged.margin_label)
        end as verdict_reason
    from judged
    inner join contests on contests.contest = judged.contest
    left join region_names on region_names.code = judged.race_code
    left join candidates
        on candidates.election = judged.election
        and candidates.contest = judged.contest
        and candidates.candidate_id = judged.leader_candidate_id
)

select * from final
order by election, contest, race_code
