-- int_count_files: one row per count file version in use: the last observed version of each internal-count or official-recap file.
-- A file (by path) loaded again after an edit supersedes its earlier version; different files are all in use.
with files as (
    select * from stg_count_files
),

observations as (
    select * from stg_observations
),

observed as (
    select
        files.version_id,
        files.source_kind,
        files.election,
        files.contest,
        observations.source_file,
        observations.run_id,
        observations.observed_seq,
        row_number() over (
            partition by files.source_kind, observations.source_file
            order by observations.observed_seq desc
        ) as recency
    from files
    inner join observations on observations.version_id = files.version_id
),

final as (
    select
        version_id,
        source_kind,
        election,
        contest,
        source_file,
        run_id,
        observed_seq
    from observed
    where recency = 1
    -- The same bytes under two paths are one version: count its rows once.
    qualify row_number() over (partition by version_id order by observed_seq desc) = 1
)

select * from final
