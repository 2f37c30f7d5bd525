-- int_source_votes: one row per election x contest x region x candidate x source (internal, sirekap, official) that has a number for it.
-- keyed by region_code: int_region_votes.region_code, int_regions.region_code, int_count_region_votes.region_code; whole: int_contests
-- complete: the number covers every TPS of the region (SIREKAP: tps_reported = tps_total; a count file:
-- its own row for the region, or a roll-up of rows covering all of SIREKAP's TPS there). Unknown
-- coverage (no TPS total anywhere) counts as complete: nothing says it is partial.
with sirekap_votes as (
    select * from int_region_votes where votes is not null
),

sirekap_regions as (
    select * from int_regions
),

count_votes as (
    select * from int_count_region_votes
),

contests as (
    select * from int_contests
),

sirekap as (
    select
        sirekap_votes.election,
        sirekap_votes.contest,
        sirekap_votes.region_code,
        'sirekap' as source,
        sirekap_votes.nomor_urut,
        sirekap_votes.candidate_id,
        sirekap_votes.votes,
        sirekap_regions.tps_reported as tps_covered,
        sirekap_regions.tps_total,
        cast(null as bigint) as submissions,
        cast(null as boolean) as submissions_disagree
    from sirekap_votes
    inner join sirekap_regions
        on sirekap_regions.election = sirekap_votes.election
        and sirekap_regions.contest = sirekap_votes.contest
        and sirekap_regions.region_code = sirekap_votes.region_code
),

counts as (
    select
        count_votes.election,
        count_votes.contest,
        count_votes.region_code,
        count_votes.source_kind as source,
        cast(count_votes.nomor_urut as bigint) as nomor_urut,
        count_votes.candidate_id,
        count_votes.votes,
        count_votes.tps_covered,
        count_votes.tps_total,
        count_votes.submissions,
        count_votes.submissions_disagree
    from count_votes
),

unioned as (
    select * from sirekap
    union all by name
    select * from counts
),

final as (
    select
        unioned.election,
        unioned.contest,
        unioned.region_code,
        region_level(unioned.region_code) as level,
        region_ancestor(unioned.region_code, contests.race_code_length) as race_code,
        unioned.source,
        cast(unioned.nomor_urut as bigint) as nomor_urut,
        unioned.candidate_id,
        -- One key per candidate: the ballot number, or the SIREKAP id where no master gives a number.
        coalesce(lpad(cast(unioned.nomor_urut as varchar), 2, '0'), 'id ' || unioned.candidate_id) as candidate_key,
        cast(unioned.votes as bigint) as votes,
        cast(unioned.tps_covered as bigint) as tps_covered,
        cast(unioned.tps_total as bigint) as tps_total,
        coalesce(unioned.tps_covered >= unioned.tps_total, true) as complete,
        unioned.submissions,
        unioned.submissions_disagree
    from unioned
    inner join contests on contests.contest = unioned.contest
)

select * from final
