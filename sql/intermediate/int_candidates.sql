-- int_candidates: one row per election x contest x candidate id, from the last observed candidate masters.
with masters as (
    select * from int_latest_documents where kind = 'candidates'
),

candidates as (
    select * from stg_candidates
),

ranked as (
    select
        masters.election,
        masters.contest,
        candidates.region_code,
        candidates.candidate_id,
        candidates.nomor_urut,
        -- "KOLOM KOSONG - " (the empty box) and "A - B" pairs: drop a dangling separator.
        nullif(trim(regexp_replace(trim(candidates.name), '\s*-\s*$', '')), '') as candidate_name,
        candidates.colour,
        row_number() over (
            partition by masters.election, masters.contest, candidates.candidate_id
            order by masters.observed_seq desc
        ) as recency
    from masters
    inner join candidates on candidates.version_id = masters.version_id
),

final as (
    select
        election,
        contest,
        region_code,
        candidate_id,
        nomor_urut,
        candidate_name,
        colour
    from ranked
    where recency = 1
)

select * from final
