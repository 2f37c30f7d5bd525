-- stg_observations: one row per time a run read a document version from a source file, as loaded into raw_observations.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_observations
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.run_id as varchar) as run_id,
        cast(source.source_file as varchar) as source_file,
        cast(source.source_path as varchar) as source_path,
        cast(source.locator as varchar) as locator,
        cast(source.observed_seq as bigint) as observed_seq,
        cast(source.observed_at as timestamp) as observed_at
    from source
)

select * from final
