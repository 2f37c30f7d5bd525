-- int_count_votes: one row per count file version in use x data row x ballot number with a number, with the SIREKAP candidate id the ballot number stands for.
-- The candidate id comes from the race's candidate master (nomor_urut); without a master it is null and the
-- numbers stay keyed by ballot number only.
with submissions as (
    select * from int_count_submissions
),

votes as (
    select * from stg_count_votes
),

contests as (
    select * from int_contests
),

candidates as (
    select * from int_candidates
),

keyed as (
    select
        submissions.source_kind,
        submissions.election,
        submissions.contest,
        submissions.code,
        region_ancestor(submissions.code, coalesce(contests.race_code_length, 0)) as race_code,
        submissions.version_id,
        submissions.row_number,
        votes.nomor_urut,
        votes.votes,
        votes.column_name
    from submissions
    inner join votes
        on votes.version_id = submissions.version_id
        and votes.row_number = submissions.row_number
    left join contests on contests.contest = submissions.contest
),

final as (
    select
        keyed.source_kind,
        keyed.election,
        keyed.contest,
        keyed.code,
        keyed.race_code,
        keyed.version_id,
        keyed.row_number,
        keyed.nomor_urut,
        candidates.candidate_id,
        keyed.votes,
        keyed.column_name
    from keyed
    left join candidates
        on candidates.election = keyed.election
        and candidates.contest = keyed.contest
        and candidates.nomor_urut = keyed.nomor_urut
        and (candidates.region_code = keyed.race_code or candidates.region_code is null)
)

select * from final
