-- int_tps_admin: one row per election x contest x TPS with an administrasi block in its reported version (the one int_nodes holds).
-- keyed by code: int_nodes.code, stg_tps_admin.version_id@stg_documents.code
with tps_nodes as (
    select * from int_nodes where node_type = 'tps'
),

admin as (
    select * from stg_tps_admin
),

final as (
    select
        tps_nodes.election,
        tps_nodes.contest,
        tps_nodes.code,
        admin.suara_sah,
        admin.suara_tidak_sah,
        admin.suara_total,
        admin.pemilih_dpt_j,
        admin.pemilih_dpt_l,
        admin.pemilih_dpt_p,
        admin.pengguna_dpt_j,
        admin.pengguna_dpt_l,
        admin.pengguna_dpt_p,
        admin.pengguna_dptb_j,
        admin.pengguna_dptb_l,
        admin.pengguna_dptb_p,
        admin.pengguna_non_dpt_j,
        admin.pengguna_non_dpt_l,
        admin.pengguna_non_dpt_p,
        admin.pengguna_total_j,
        admin.pengguna_total_l,
        admin.pengguna_total_p,
        tps_nodes.version_id
    from tps_nodes
    inner join admin on admin.version_id = tps_nodes.version_id
)

select * from final
