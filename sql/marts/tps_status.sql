-- tps_status: one row per election x contest x TPS loaded: how complete it is, whether its numbers can be trusted and the rules it breaks.
-- keyed by tps_code: int_tps_flags.code, int_node_versions.code
-- Columns are documented in schemas/marts.py (TpsStatus). status: flagged (an error- or
-- warning-level rule broken) wins over empty (no chart, no administrasi) over incomplete (one
-- of the two) over valid.
with tps as (
    select * from int_tps_flags
),

versions as (
    select * from int_node_versions
),

final as (
    select
        tps.election,
        tps.contest,
        tps.code as tps_code,
        left(tps.code, 10) as kelurahan_code,
        left(tps.code, 6) as kecamatan_code,
        left(tps.code, 4) as kabkota_code,
        left(tps.code, 2) as province_code,
        tps.completeness,
        case
            when tps.flagged then 'flagged'
            when tps.completeness = 'empty' then 'empty'
            when tps.completeness <> 'complete' then 'incomplete'
            else 'valid'
        end as status,
        tps.rules_broken,
        tps.error_flagged,
        tps.votes,
        tps.withheld,
        versions.psu,
        versions.source_ts,
        versions.images,
        versions.snapshot,
        versions.source_file,
        versions.run_id as source_run_id,
        tps.version_id
    from tps
    inner join versions on versions.version_id = tps.version_id
)

select * from final
order by election, contest, tps_code
