-- int_count_submissions: one row per count file version in use x data row: one submission of numbers for a region or TPS.
with files as (
    select * from int_count_files
),

count_rows as (
    select * from stg_count_rows
),

final as (
    select
        files.source_kind,
        files.election,
        files.contest,
        count_rows.code,
        count_rows.level,
        count_rows.name,
        count_rows.is_total,
        count_rows.submitted_at,
        count_rows.witness_id,
        count_rows.suara_sah,
        count_rows.suara_tidak_sah,
        count_rows.dpt,
        count_rows.source_note,
        count_rows.version_id,
        count_rows.row_number,
        files.source_file,
        files.run_id,
        files.observed_seq
    from files
    inner join count_rows on count_rows.version_id = files.version_id
)

select * from final
