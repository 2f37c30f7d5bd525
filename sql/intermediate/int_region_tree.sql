-- int_region_tree: one row per election x parent region x region code listed in the parent's last observed region list (wilayah).
with lists as (
    select * from int_latest_documents where kind = 'regions'
),

regions as (
    select * from stg_regions
),

final as (
    select distinct
        lists.election,
        lists.code as parent_code,
        regions.code
    from lists
    inner join regions on regions.version_id = lists.version_id
)

select * from final
