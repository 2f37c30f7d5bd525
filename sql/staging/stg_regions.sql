-- stg_regions: one row per region list version x region, as loaded into raw_regions.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_regions
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.parent_code as varchar) as parent_code,
        cast(source.code as varchar) as code,
        cast(source.name as varchar) as name,
        cast(source.region_id as bigint) as region_id,
        cast(source.tingkat as bigint) as tingkat
    from source
)

select * from final
