-- province_totals: one row per election x contest x province x candidate, for contests decided province-wide or nationally.
-- Columns are documented in schemas/marts.py (ProvinceTotals).
with regions as (
    select * from int_regions
    where level = 'provinsi' and race_level in ('nasional', 'provinsi')
),

region_votes as (
    -- The provinces' rows only: every region's votes are 2 million rows nationally.
    select int_region_votes.* from int_region_votes
    semi join regions
        on regions.election = int_region_votes.election
        and regions.contest = int_region_votes.contest
        and regions.region_code = int_region_votes.region_code
),

region_flags as (
    select * from int_region_flags
),

candidate_flags as (
    select * from int_region_candidate_flags
),

shares as (
    select
        region_votes.*,
        sum(region_votes.votes) over (partition by region_votes.election, region_votes.contest, region_votes.region_code) as all_votes
    from region_votes
),

final as (
    select
        regions.election,
        regions.contest,
        regions.region_code as province_code,
        regions.region_name as province_name,
        shares.candidate_id,
        cast(shares.nomor_urut as bigint) as nomor_urut,
        shares.candidate_name,
        shares.votes,
        cast(round(100.0 * shares.votes / nullif(shares.all_votes, 0), 2) as double) as share_pct,
        cast(case when shares.votes is not null then rank() over (
            partition by regions.election, regions.contest, regions.region_code
            order by shares.votes desc nulls last
        ) end as bigint) as rank,
        regions.tps_reported,
        regions.tps_total,
        cast(round(100.0 * regions.tps_reported / nullif(regions.tps_total, 0), 2) as double) as progress_pct,
        -- Null where no TPS file under the province is loaded: nothing to check, not "none flagged".
        case when region_flags.region_code is not null then coalesce(candidate_flags.votes_flagged, 0) end as votes_flagged,
        region_flags.tps_flagged,
        regions.source_ts,
        regions.source_kind,
        regions.source_file,
        regions.run_id as source_run_id
    from regions
    inner join shares
        on shares.election = regions.election
        and shares.contest = regions.contest
        and shares.region_code = regions.region_code
    left join region_flags
        on region_flags.election = regions.election
        and region_flags.contest = regions.contest
        and region_flags.region_code = regions.region_code
    left join candidate_flags
        on candidate_flags.election = regions.election
        and candidate_flags.contest = regions.contest
        and candidate_flags.region_code = regions.region_code
        and candidate_flags.candidate_id = shares.candidate_id
)

select * from final
order by election, contest, province_code, nomor_urut, candidate_id
