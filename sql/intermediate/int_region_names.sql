-- int_region_names: one row per region code with its name, from the last observed region lists (any election), else the built-in province names.
-- Region codes below TPS level are shared by elections, so names are looked up by code alone.
with lists as (
    select * from int_latest_documents where kind = 'regions'
),

regions as (
    select * from stg_regions
),

provinces as (
    select * from ref_provinces
),

listed as (
    select
        regions.code,
        regions.name,
        row_number() over (partition by regions.code order by lists.observed_seq desc) as recency
    from lists
    inner join regions on regions.version_id = lists.version_id
),

final as (
    select
        coalesce(listed.code, provinces.code) as code,
        coalesce(listed.name, provinces.name) as region_name
    from (select * from listed where recency = 1) as listed
    full outer join provinces on provinces.code = listed.code
)

select * from final
