-- int_rule_arithmetic: one row per TPS x C1 arithmetic rule its reported version can be checked against (broken or not).
-- keyed by code: int_tps_facts.code
-- A check needs every field it reads: a missing field skips the check (missing is not zero).
with tps as (
    select * from int_tps_facts
),

candidate_sum as (
    select
        tps.election,
        tps.contest,
        tps.code,
        tps.version_id,
        'c1_candidate_sum' as rule_id,
        tps.candidate_sum <> tps.suara_sah as broken,
        cast(tps.candidate_sum as varchar) as observed,
        cast(tps.suara_sah as varchar) as expected
    from tps
    where tps.candidate_sum is not null and tps.suara_sah is not null
),

valid_invalid_total as (
    select
        tps.election,
        tps.contest,
        tps.code,
        tps.version_id,
        'c1_valid_invalid_total' as rule_id,
        tps.suara_sah + tps.suara_tidak_sah <> tps.suara_total as broken,
        tps.suara_sah || ' + ' || tps.suara_tidak_sah || ' = ' || (tps.suara_sah + tps.suara_tidak_sah) as observed,
        cast(tps.suara_total as varchar) as expected
    from tps
    where tps.suara_sah is not null and tps.suara_tidak_sah is not null and tps.suara_total is not null
),

voters_total as (
    select
        tps.election,
        tps.contest,
        tps.code,
        tps.version_id,
        'c1_voters_total' as rule_id,
        tps.pengguna_total_j <> tps.pengguna_dpt_j + tps.pengguna_dptb_j + tps.pengguna_non_dpt_j as broken,
        cast(tps.pengguna_total_j as varchar) as observed,
        tps.pengguna_dpt_j || ' + ' || tps.pengguna_dptb_j || ' + ' || tps.pengguna_non_dpt_j
            || ' = ' || (tps.pengguna_dpt_j + tps.pengguna_dptb_j + tps.pengguna_non_dpt_j) as expected
    from tps
    where tps.pengguna_total_j is not null
        and tps.pengguna_dpt_j is not null
        and tps.pengguna_dptb_j is not null
        and tps.pengguna_non_dpt_j is not null
),

blocks as (
    select
        tps.election,
        tps.contest,
        tps.code,
        tps.version_id,
        unnest([
            {'block': 'pemilih_dpt', 'total': tps.pemilih_dpt_j, 'male': tps.pemilih_dpt_l, 'female': tps.pemilih_dpt_p},
            {'block': 'pengguna_dpt', 'total': tps.pengguna_dpt_j, 'male': tps.pengguna_dpt_l, 'female': tps.pengguna_dpt_p},
            {'block': 'pengguna_dptb', 'total': tps.pengguna_dptb_j, 'male': tps.pengguna_dptb_l, 'female': tps.pengguna_dptb_p},
            {'block': 'pengguna_non_dpt', 'total': tps.pengguna_non_dpt_j, 'male': tps.pengguna_non_dpt_l, 'female': tps.pengguna_non_dpt_p},
            {'block': 'pengguna_total', 'total': tps.pengguna_total_j, 'male': tps.pengguna_total_l, 'female': tps.pengguna_total_p}
        ], recursive := true)
    from tps
),

complete_blocks as (
    select
        blocks.*,
        blocks.total <> blocks.male + blocks.female as mismatch
    from blocks
    where blocks.total is not null and blocks.male is not null and blocks.female is not null
),

male_female_checks as (
    select
        complete_blocks.election,
        complete_blocks.contest,
        complete_blocks.code,
        complete_blocks.version_id,
        bool_or(complete_blocks.mismatch) as broken
    from complete_blocks
    group by complete_blocks.election, complete_blocks.contest, complete_blocks.code, complete_blocks.version_id
),

-- The blocks that break it, for the broken TPS only: ordered string_aggs over every TPS's
-- blocks cost most of this model at national scale, over the broken few nothing.
male_female_texts as (
    select
        complete_blocks.election,
        complete_blocks.contest,
        complete_blocks.code,
        complete_blocks.version_id,
        string_agg(complete_blocks.block || '_j = ' || complete_blocks.total, '; ' order by complete_blocks.block)
            filter (where complete_blocks.mismatch) as observed,
        string_agg(complete_blocks.block || '_l + _p = ' || complete_blocks.male || ' + ' || complete_blocks.female
                   || ' = ' || (complete_blocks.male + complete_blocks.female), '; ' order by complete_blocks.block)
            filter (where complete_blocks.mismatch) as expected
    from complete_blocks
    semi join male_female_checks
        on male_female_checks.election = complete_blocks.election
        and male_female_checks.contest = complete_blocks.contest
        and male_female_checks.code = complete_blocks.code
        and male_female_checks.version_id = complete_blocks.version_id
        and male_female_checks.broken
    group by complete_blocks.election, complete_blocks.contest, complete_blocks.code, complete_blocks.version_id
),

male_female_total as (
    select
        male_female_checks.election,
        male_female_checks.contest,
        male_female_checks.code,
        male_female_checks.version_id,
        'c1_male_female_total' as rule_id,
        male_female_checks.broken,
        coalesce(male_female_texts.observed, 'every _j = _l + _p') as observed,
        coalesce(male_female_texts.expected, 'every _j = _l + _p') as expected
    from male_female_checks
    left join male_female_texts
        on male_female_texts.election = male_female_checks.election
        and male_female_texts.contest = male_female_checks.contest
        and male_female_texts.code = male_female_checks.code
        and male_female_texts.version_id = male_female_checks.version_id
),

ballots_over_voters as (
    select
        tps.election,
        tps.contest,
        tps.code,
        tps.version_id,
        'c1_ballots_over_voters' as rule_id,
        tps.suara_total > tps.pengguna_total_j as broken,
        cast(tps.suara_total as varchar) as observed,
        cast(tps.pengguna_total_j as varchar) as expected
    from tps
    where tps.suara_total is not null and tps.pengguna_total_j is not null
),

dpt_voters_over_registered as (
    select
        tps.election,
        tps.contest,
        tps.code,
        tps.version_id,
        'c1_dpt_voters_over_registered' as rule_id,
        tps.pengguna_dpt_j > tps.pemilih_dpt_j as broken,
        cast(tps.pengguna_dpt_j as varchar) as observed,
        cast(tps.pemilih_dpt_j as varchar) as expected
    from tps
    where tps.pengguna_dpt_j is not null and tps.pemilih_dpt_j is not null
),

final as (
    select * from candidate_sum
    union all
    select * from valid_invalid_total
    union all
    select * from voters_total
    union all
    select * from male_female_total
    union all
    select * from ballots_over_voters
    union all
    select * from dpt_voters_over_registered
)

select * from final
