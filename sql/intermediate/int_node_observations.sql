-- int_node_observations: one row per observation of a node version (a run reading it from a file), with the snapshot it was read in.
-- keyed by code: stg_documents.code, stg_observations.version_id@stg_documents.code
-- A snapshot is a dump file, or the mirror folder above <election>/hhcw/ (one folder may hold
-- several timestamped snapshots, and one run may read several snapshots, oldest first).
with observations as (
    select * from stg_observations
),

documents as (
    select * from stg_documents where kind = 'node'
),

final as (
    select
        documents.election,
        documents.contest,
        documents.code,
        observations.version_id,
        observations.run_id,
        observations.source_file,
        observations.source_path,
        case
            when coalesce(observations.locator, '') <> '' then observations.source_file
            else coalesce(
                nullif(regexp_extract(observations.source_file, '^(.*)/(pemilu|pilkada)/hhcw/', 1), ''),
                observations.source_file
            )
        end as snapshot,
        observations.observed_seq,
        observations.observed_at
    from observations
    inner join documents on documents.version_id = observations.version_id
)

select * from final
