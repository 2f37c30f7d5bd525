-- stg_tps_admin: one row per TPS node version with an administrasi block, as loaded into raw_tps_admin.
-- Staging: this one raw table, typed, nothing decided (versions in use, joins: intermediate/).
with source as (
    select * from raw_tps_admin
),

final as (
    select
        cast(source.version_id as varchar) as version_id,
        cast(source.suara_sah as bigint) as suara_sah,
        cast(source.suara_tidak_sah as bigint) as suara_tidak_sah,
        cast(source.suara_total as bigint) as suara_total,
        cast(source.pemilih_dpt_j as bigint) as pemilih_dpt_j,
        cast(source.pemilih_dpt_l as bigint) as pemilih_dpt_l,
        cast(source.pemilih_dpt_p as bigint) as pemilih_dpt_p,
        cast(source.pengguna_dpt_j as bigint) as pengguna_dpt_j,
        cast(source.pengguna_dpt_l as bigint) as pengguna_dpt_l,
        cast(source.pengguna_dpt_p as bigint) as pengguna_dpt_p,
        cast(source.pengguna_dptb_j as bigint) as pengguna_dptb_j,
        cast(source.pengguna_dptb_l as bigint) as pengguna_dptb_l,
        cast(source.pengguna_dptb_p as bigint) as pengguna_dptb_p,
        cast(source.pengguna_non_dpt_j as bigint) as pengguna_non_dpt_j,
        cast(source.pengguna_non_dpt_l as bigint) as pengguna_non_dpt_l,
        cast(source.pengguna_non_dpt_p as bigint) as pengguna_non_dpt_p,
        cast(source.pengguna_total_j as bigint) as pengguna_total_j,
        cast(source.pengguna_total_l as bigint) as pengguna_total_l,
        cast(source.pengguna_total_p as bigint) as pengguna_total_p
    from source
)

select * from final
