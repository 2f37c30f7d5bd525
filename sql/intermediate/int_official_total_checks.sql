-- int_official_total_checks: one row per official recap file in use x candidate on its total row: the total as printed against the sum of the recap's other rows.
-- A mismatch is reported (report, rekap run's output), not a reason to refuse the file: the total
-- row is what the recap declares for the region above, and the models use it for that region.
with submissions as (
    select * from int_count_submissions where source_kind = 'official'
),

votes as (
    select * from int_count_votes where source_kind = 'official'
),

totals as (
    select
        submissions.version_id,
        submissions.source_file,
        submissions.election,
        submissions.contest,
        submissions.code as total_code,
        votes.nomor_urut,
        votes.votes as total_votes
    from submissions
    inner join votes
        on votes.version_id = submissions.version_id
        and votes.row_number = submissions.row_number
    where submissions.is_total
),

row_sums as (
    select
        submissions.version_id,
        votes.nomor_urut,
        cast(sum(votes.votes) as bigint) as rows_votes,
        count(*) as rows_with_numbers
    from submissions
    inner join votes
        on votes.version_id = submissions.version_id
        and votes.row_number = submissions.row_number
    where not submissions.is_total
    group by submissions.version_id, votes.nomor_urut
),

final as (
    select
        totals.election,
        totals.contest,
        totals.source_file,
        totals.total_code,
        cast(totals.nomor_urut as bigint) as nomor_urut,
        cast(totals.total_votes as bigint) as total_votes,
        row_sums.rows_votes,
        totals.total_votes - row_sums.rows_votes as difference,
        totals.total_votes is not distinct from row_sums.rows_votes as matches
    from totals
    left join row_sums
        on row_sums.version_id = totals.version_id
        and row_sums.nomor_urut = totals.nomor_urut
)

select * from final
