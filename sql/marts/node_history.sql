-- node_history: one row per election x contest x node x spell (a run of consecutive observations of one version), with valid_from/valid_to by observation.
-- keyed by code: int_node_observations.code, int_node_versions.code
-- Content decides a change (a new version = new content hash); time is when rekap observed it,
-- never the publisher's ts. A version seen again after another one starts a new spell.
-- valid_to is the next spell's valid_from (null: still current). Two snapshots read by one run
-- share its observation time, so the earlier one's spell is zero-length.
with observations as (
    select * from int_node_observations
),

versions as (
    select * from int_node_versions
),

ordered as (
    select
        observations.*,
        lag(observations.version_id) over (
            partition by observations.election, observations.contest, observations.code
            order by observations.observed_seq
        ) as previous_version_id
    from observations
),

numbered as (
    select
        ordered.*,
        sum(case when ordered.previous_version_id is distinct from ordered.version_id then 1 else 0 end) over (
            partition by ordered.election, ordered.contest, ordered.code
            order by ordered.observed_seq
        ) as spell
    from ordered
),

spells as (
    select
        numbered.election,
        numbered.contest,
        numbered.code,
        numbered.spell,
        any_value(numbered.version_id) as version_id,
        min(numbered.observed_at) as valid_from,
        min(numbered.observed_seq) as first_observed_seq,
        arg_min(numbered.run_id, numbered.observed_seq) as first_run_id,
        arg_min(numbered.source_file, numbered.observed_seq) as first_source_file,
        count(*) as observations
    from numbered
    group by numbered.election, numbered.contest, numbered.code, numbered.spell
),

final as (
    select
        spells.election,
        spells.contest,
        versions.level,
        spells.code,
        cast(spells.spell as bigint) as spell,
        spells.version_id,
        spells.valid_from,
        lead(spells.valid_from) over (
            partition by spells.election, spells.contest, spells.code order by spells.spell
        ) as valid_to,
        lead(spells.spell) over (
            partition by spells.election, spells.contest, spells.code order by spells.spell
        ) is null as is_current,
        versions.withheld,
        versions.has_chart,
        versions.vote_sum,
        versions.progress_reported,
        versions.progress_total,
        versions.source_ts,
        spells.first_run_id as source_run_id,
        spells.first_source_file as source_file,
        cast(spells.observations as bigint) as observations
    from spells
    inner join versions on versions.version_id = spells.version_id
)

select * from final
order by election, contest, code, spell
