-- int_rule_psu: one row per election x contest x node code with a psu marker (its own file's, or its row's in the parent's table): whether it marks a re-vote or recount.
-- keyed by code: int_nodes.code, int_child_rows.child_code
with nodes as (
    select * from int_nodes
),

child_rows as (
    select * from int_child_rows
),

markers as (
    select
        nodes.election,
        nodes.contest,
        nodes.code,
        nodes.version_id,
        1 as preference,
        nodes.psu
    from nodes
    union all
    select
        child_rows.election,
        child_rows.contest,
        child_rows.child_code as code,
        child_rows.parent_version_id as version_id,
        2 as preference,
        child_rows.psu
    from child_rows
),

classified as (
    select
        markers.*,
        markers.psu is not null and lower(trim(markers.psu)) not in ('reguler', '') as revote
    from markers
),

final as (
    select
        classified.election,
        classified.contest,
        classified.code,
        coalesce(
            arg_min(classified.version_id, classified.preference) filter (where classified.revote),
            arg_min(classified.version_id, classified.preference)
        ) as version_id,
        'psu_revote' as rule_id,
        bool_or(classified.revote) as broken,
        string_agg(distinct classified.psu, ', ') filter (where classified.revote) as observed,
        'Reguler' as expected
    from classified
    group by classified.election, classified.contest, classified.code
)

select * from final
