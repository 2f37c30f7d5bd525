-- int_child_rows: one row per election x contest x child region in the table of its parent's last observed node.
-- keyed by parent_code: int_nodes.code, stg_child_rows.version_id@stg_documents.code
with parents as (
    select * from int_nodes where node_type = 'aggregate'
),

child_rows as (
    select * from stg_child_rows
),

final as (
    select
        parents.election,
        parents.contest,
        parents.code as parent_code,
        child_rows.child_code,
        child_rows.status_progress,
        child_rows.psu,
        child_rows.progress_total,
        child_rows.progress_reported,
        child_rows.has_votes,
        parents.version_id as parent_version_id,
        parents.source_ts,
        parents.source_file,
        parents.run_id
    from parents
    inner join child_rows on child_rows.version_id = parents.version_id
)

select * from final
