-- int_count_regions: one row per source kind x election x contest x code that a count file in use has a row for: the submission used and how many there were.
-- Several submissions for one code (witnesses re-sending a TPS, a claim re-issued) are all kept in the
-- raw layer; the one used is the latest: by submitted time if the file gives one, else the last observed
-- file, else the last row. submissions_disagree says whether the submissions' numbers differ.
with submissions as (
    select * from int_count_submissions
),

votes as (
    select * from int_count_votes
),

vectors as (
    -- A submission's numbers as one comparable value (ballot:votes, in ballot order).
    select
        votes.version_id,
        votes.row_number,
        string_agg(votes.nomor_urut || ':' || votes.votes, ',' order by votes.nomor_urut) as vote_vector
    from votes
    group by votes.version_id, votes.row_number
),

ranked as (
    select
        submissions.*,
        coalesce(vectors.vote_vector, '') as vote_vector,
        row_number() over (
            partition by submissions.source_kind, submissions.election, submissions.contest, submissions.code
            order by submissions.submitted_at desc nulls last, submissions.observed_seq desc, submissions.row_number desc
        ) as recency
    from submissions
    left join vectors
        on vectors.version_id = submissions.version_id
        and vectors.row_number = submissions.row_number
),

agreement as (
    select
        source_kind,
        election,
        contest,
        code,
        count(*) as submissions,
        count(distinct vote_vector) > 1 as submissions_disagree
    from ranked
    group by source_kind, election, contest, code
),

final as (
    select
        ranked.source_kind,
        ranked.election,
        ranked.contest,
        ranked.code,
        ranked.level,
        ranked.name,
        ranked.is_total,
        ranked.submitted_at,
        ranked.witness_id,
        ranked.suara_sah,
        ranked.suara_tidak_sah,
        ranked.dpt,
        agreement.submissions,
        agreement.submissions_disagree,
        ranked.version_id,
        ranked.row_number,
        ranked.source_file,
        ranked.run_id
    from ranked
    inner join agreement
        on agreement.source_kind = ranked.source_kind
        and agreement.election = ranked.election
        and agreement.contest = ranked.contest
        and agreement.code = ranked.code
    where ranked.recency = 1
)

select * from final
