-- int_latest_documents: one row per document (kind x election x contest x code): its latest observed version.
-- keyed by code: stg_documents.code, int_node_versions.code, stg_observations.version_id@stg_documents.code
-- "Latest" is by observation order, never by the publisher's ts (which is unreliable).
-- A withheld node version (every count 0 while progress rose: int_node_versions) is skipped, so
-- the latest earlier version stays the one reported; a node seen only withheld has no row (no data).
with documents as (
    select * from stg_documents
),

withheld as (
    select * from int_node_versions where withheld
),

observations as (
    select * from stg_observations
),

last_observation as (
    select
        observations.version_id,
        max(observations.observed_seq) as observed_seq
    from observations
    group by observations.version_id
),

ranked as (
    select
        documents.*,
        last_observation.observed_seq,
        row_number() over (
            partition by documents.kind, documents.election, documents.contest, documents.code
            order by last_observation.observed_seq desc
        ) as recency
    from documents
    inner join last_observation on last_observation.version_id = documents.version_id
    anti join withheld on withheld.version_id = documents.version_id
),

final as (
    select
        ranked.version_id,
        ranked.kind,
        ranked.election,
        ranked.contest,
        ranked.code,
        ranked.content_hash,
        ranked.ts as source_ts,
        ranked.observed_seq,
        observations.source_file,
        observations.run_id
    from ranked
    inner join observations
        on observations.version_id = ranked.version_id
        and observations.observed_seq = ranked.observed_seq
    where ranked.recency = 1
)

select * from final
