-- int_tps_rollup_votes: one row per election x contest x region x candidate: the sum of the latest counts of the TPS files loaded under the region.
-- Each TPS lies in exactly one kelurahan: a region above sums its kelurahan (int_kelurahan_votes).
with kelurahan as (
    select * from int_kelurahan_votes
),

above as (
    select
        kelurahan.election,
        kelurahan.contest,
        region_ancestor(kelurahan.code, ancestor_lengths.region_length) as code,
        kelurahan.candidate_id,
        cast(sum(kelurahan.votes) as bigint) as votes
    from kelurahan
    cross join (values (0), (2), (4), (6)) as ancestor_lengths (region_length)
    group by all
),

final as (
    select * from kelurahan
    union all
    select * from above
)

select * from final
