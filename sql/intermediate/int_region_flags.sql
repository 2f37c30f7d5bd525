-- int_region_flags: one row per election x contest x region holding loaded TPS files (the TPS itself and every region above it): TPS loaded, TPS with an error-level finding and their votes.
with tps as (
    select * from int_tps_flags
),

regions as (
    select
        tps.*,
        unnest([0, 2, 4, 6, 10, 13]) as region_length
    from tps
),

final as (
    select
        regions.election,
        regions.contest,
        region_ancestor(regions.code, regions.region_length) as region_code,
        cast(count(*) as bigint) as tps_loaded,
        cast(count(*) filter (where regions.error_flagged) as bigint) as tps_flagged,
        cast(coalesce(sum(regions.votes) filter (where regions.error_flagged), 0) as bigint) as votes_flagged
    from regions
    group by all
)

select * from final
