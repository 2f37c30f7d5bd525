-- int_count_region_votes: one row per source kind x election x contest x region x ballot number: a count source's number for the region, from its own row or summed from the rows below it.
-- A region with its own row takes that row (it speaks for the whole region). A region without one
-- takes the sum of the topmost rows below it (a TPS-level count rolls up to kelurahan, kecamatan,
-- kab/kota and province); tps_covered says how many TPS that sum covers, against SIREKAP's tps_total.
-- An empty cell stays unknown: it adds nothing to a sum and does not count as covered.
with count_regions as (
    select * from int_count_regions
),

votes as (
    select * from int_count_votes
),

contests as (
    select * from int_contests
),

sirekap_regions as (
    select * from int_regions
),

chosen_votes as (
    select
        count_regions.source_kind,
        count_regions.election,
        count_regions.contest,
        count_regions.code,
        votes.nomor_urut,
        votes.candidate_id,
        votes.votes
    from count_regions
    inner join votes
        on votes.version_id = count_regions.version_id
        and votes.row_number = count_regions.row_number
),

row_sizes as (
    -- How many TPS one row speaks for: 1 for a TPS, else the region's TPS per SIREKAP (null if unknown).
    select
        count_regions.source_kind,
        count_regions.election,
        count_regions.contest,
        count_regions.code,
        case when length(count_regions.code) = 13 then 1 else sirekap_regions.tps_total end as row_tps
    from count_regions
    left join sirekap_regions
        on sirekap_regions.election = count_regions.election
        and sirekap_regions.contest = count_regions.contest
        and sirekap_regions.region_code = count_regions.code
),

ancestry as (
    -- Every region above each row inside its race (province, kab/kota, kecamatan, kelurahan; the nation for ppwp).
    select
        count_regions.source_kind,
        count_regions.election,
        count_regions.contest,
        count_regions.code,
        ancestor_length,
        region_ancestor(count_regions.code, ancestor_length) as ancestor_code
    from count_regions
    inner join contests on contests.contest = count_regions.contest
    cross join unnest([0, 2, 4, 6, 10]) as lengths (ancestor_length)
    where ancestor_length < length(count_regions.code)
        and ancestor_length >= contests.race_code_length
),

nearest_row_above as (
    -- The closest region above a row that has a row of its own: the row sums only into regions below that one.
    select
        ancestry.source_kind,
        ancestry.election,
        ancestry.contest,
        ancestry.code,
        max(ancestry.ancestor_length) as blocked_at
    from ancestry
    inner join count_regions
        on count_regions.source_kind = ancestry.source_kind
        and count_regions.election = ancestry.election
        and count_regions.contest = ancestry.contest
        and count_regions.code = ancestry.ancestor_code
    group by ancestry.source_kind, ancestry.election, ancestry.contest, ancestry.code
),

contributions as (
    select ancestry.*
    from ancestry
    left join nearest_row_above
        on nearest_row_above.source_kind = ancestry.source_kind
        and nearest_row_above.election = ancestry.election
        and nearest_row_above.contest = ancestry.contest
        and nearest_row_above.code = ancestry.code
    where ancestry.ancestor_length > coalesce(nearest_row_above.blocked_at, -1)
),

rolled_up as (
    select
        contributions.source_kind,
        contributions.election,
        contributions.contest,
        contributions.ancestor_code as region_code,
        chosen_votes.nomor_urut,
        any_value(chosen_votes.candidate_id) as candidate_id,
        cast(sum(chosen_votes.votes) as bigint) as votes,
        cast(sum(row_sizes.row_tps) as bigint) as tps_covered,
        count(*) as rows_summed,
        'rollup' as basis
    from contributions
    inner join chosen_votes
        on chosen_votes.source_kind = contributions.source_kind
        and chosen_votes.election = contributions.election
        and chosen_votes.contest = contributions.contest
        and chosen_votes.code = contributions.code
    inner join row_sizes
        on row_sizes.source_kind = contributions.source_kind
        and row_sizes.election = contributions.election
        and row_sizes.contest = contributions.contest
        and row_sizes.code = contributions.code
    group by contributions.source_kind, contributions.election, contributions.contest, contributions.ancestor_code, chosen_votes.nomor_urut
),

own_rows as (
    select
        chosen_votes.source_kind,
        chosen_votes.election,
        chosen_votes.contest,
        chosen_votes.code as region_code,
        chosen_votes.nomor_urut,
        chosen_votes.candidate_id,
        cast(chosen_votes.votes as bigint) as votes,
        cast(row_sizes.row_tps as bigint) as tps_covered,
        1 as rows_summed,
        'row' as basis
    from chosen_votes
    inner join row_sizes
        on row_sizes.source_kind = chosen_votes.source_kind
        and row_sizes.election = chosen_votes.election
        and row_sizes.contest = chosen_votes.contest
        and row_sizes.code = chosen_votes.code
),

final as (
    select
        all_rows.source_kind,
        all_rows.election,
        all_rows.contest,
        all_rows.region_code,
        all_rows.nomor_urut,
        all_rows.candidate_id,
        all_rows.votes,
        all_rows.basis,
        cast(all_rows.rows_summed as bigint) as rows_summed,
        all_rows.tps_covered,
        cast(case when length(all_rows.region_code) = 13 then 1 else sirekap_regions.tps_total end as bigint) as tps_total,
        count_regions.submissions,
        count_regions.submissions_disagree
    from (
        select * from own_rows
        union all by name
        select * from rolled_up
    ) as all_rows
    left join sirekap_regions
        on sirekap_regions.election = all_rows.election
        and sirekap_regions.contest = all_rows.contest
        and sirekap_regions.region_code = all_rows.region_code
    left join count_regions
        on count_regions.source_kind = all_rows.source_kind
        and count_regions.election = all_rows.election
        and count_regions.contest = all_rows.contest
        and count_regions.code = all_rows.region_code
)

select * from final
