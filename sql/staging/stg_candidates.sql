-- stg_candidates: one row per candidate master version x candidate, as loaded into raw_candidates.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_candidates
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.region_code as varchar) as region_code,
        cast(source.candidate_id as varchar) as candidate_id,
        cast(source.name as varchar) as name,
        cast(source.nomor_urut as bigint) as nomor_urut,
        cast(source.colour as varchar) as colour
    from source
)

select * from final
