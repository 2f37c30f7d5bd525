-- int_tps_ancestors: one row per election x contest x TPS x region containing it (national, provinsi, kabkota, kecamatan, kelurahan).
-- keyed by tps_code: int_nodes.code
with tps_nodes as (
    select * from int_nodes where node_type = 'tps'
),

ancestors as (
    select
        tps_nodes.election,
        tps_nodes.contest,
        tps_nodes.code as tps_code,
        unnest([0, 2, 4, 6, 10]) as ancestor_length
    from tps_nodes
),

final as (
    select
        ancestors.election,
        ancestors.contest,
        ancestors.tps_code,
        region_ancestor(ancestors.tps_code, ancestors.ancestor_length) as ancestor_code
    from ancestors
)

select * from final
