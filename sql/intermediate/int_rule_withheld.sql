-- int_rule_withheld: one row per election x contest x node: whether its latest observed version withholds its counts (rule withheld_counts).
-- keyed by code: int_node_versions.code, int_nodes.code
-- The version reported instead is the one int_nodes holds: the latest that is not withheld.
with versions as (
    select * from int_node_versions
),

reported as (
    select * from int_nodes
),

latest as (
    select
        versions.*,
        row_number() over (
            partition by versions.election, versions.contest, versions.code
            order by versions.observed_seq desc
        ) as recency
    from versions
),

reported_versions as (
    select
        reported.election,
        reported.contest,
        reported.code,
        -- The node's own total: its chart, else its table rows (pkwkk's province file has no chart).
        coalesce(versions.chart_votes, versions.table_votes) as votes,
        versions.progress_reported,
        versions.progress_total,
        versions.source_ts
    from reported
    inner join versions on versions.version_id = reported.version_id
),

final as (
    select
        latest.election,
        latest.contest,
        latest.code,
        latest.version_id,
        'withheld_counts' as rule_id,
        latest.withheld as broken,
        case when latest.withheld then 'all ' || latest.candidate_counts || ' counts 0 at progress '
            || coalesce(cast(latest.progress_reported as varchar), '?') || '/' || coalesce(cast(latest.progress_total as varchar), '?')
            || ' (ts ' || coalesce(latest.source_ts, '?') || ')' end as observed,
        case
            when not latest.withheld then null
            when reported_versions.code is null then 'nothing: no earlier counts (no data)'
            else 'the earlier version with ' || coalesce(cast(reported_versions.votes as varchar), 'no') || ' votes at progress '
                || coalesce(cast(reported_versions.progress_reported as varchar), '?') || '/' || coalesce(cast(reported_versions.progress_total as varchar), '?')
                || ' (ts ' || coalesce(reported_versions.source_ts, '?') || ')'
        end as expected
    from latest
    left join reported_versions
        on reported_versions.election = latest.election
        and reported_versions.contest = latest.contest
        and reported_versions.code = latest.code
    where latest.recency = 1
)

select * from final
