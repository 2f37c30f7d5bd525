-- int_rule_rollup: one row per node x roll-up rule that can be checked: its own totals against its row in the parent's table (rollup_parent_row), and an aggregate's totals against the TPS files under it (rollup_tps_sum).
-- keyed by code: int_nodes.code, int_node_votes.code, int_child_rows.child_code, int_child_votes.child_code, int_tps_rollup_votes.code, int_tps_rollup_counts.code; whole: ref_rule_params
-- Candidates missing on one side count as 0 here; a difference above the rule's max_difference breaks it.
-- observed and expected are written for broken checks only (int_rule_checks shows no other's): an
-- ordered string_agg over every node of a national election cost 5 s and more memory than a
-- 1500MB night has (DuckDB cannot spill it), over the few broken ones it costs nothing.
with nodes as (
    select * from int_nodes
),

node_votes as (
    select * from int_node_votes
),

child_rows as (
    select * from int_child_rows
),

child_votes as (
    select * from int_child_votes
),

params as (
    select * from ref_rule_params
),

thresholds as (
    select
        max(params.value) filter (where params.rule_id = 'rollup_parent_row' and params.param = 'max_difference') as parent_row_max_difference,
        max(params.value) filter (where params.rule_id = 'rollup_tps_sum' and params.param = 'max_difference') as tps_sum_max_difference
    from params
),

-- rollup_parent_row: the node's own chart against the parent's table row for it.
parent_row_pairs as (
    select
        nodes.election,
        nodes.contest,
        nodes.code,
        nodes.version_id
    from nodes
    inner join child_rows
        on child_rows.election = nodes.election
        and child_rows.contest = nodes.contest
        and child_rows.child_code = nodes.code
    where child_rows.has_votes
        and exists (
            select 1 from node_votes
            where node_votes.election = nodes.election and node_votes.contest = nodes.contest and node_votes.code = nodes.code
        )
),

parent_row_own_votes as (
    select parent_row_pairs.*, node_votes.candidate_id, node_votes.votes
    from parent_row_pairs
    inner join node_votes
        on node_votes.election = parent_row_pairs.election
        and node_votes.contest = parent_row_pairs.contest
        and node_votes.code = parent_row_pairs.code
),

parent_row_row_votes as (
    select parent_row_pairs.*, child_votes.candidate_id, child_votes.votes
    from parent_row_pairs
    inner join child_votes
        on child_votes.election = parent_row_pairs.election
        and child_votes.contest = parent_row_pairs.contest
        and child_votes.child_code = parent_row_pairs.code
),

parent_row_candidates as (
    -- Every candidate on either side (a node's chart and its row each hold a candidate once).
    select
        coalesce(own.election, parent_row.election) as election,
        coalesce(own.contest, parent_row.contest) as contest,
        coalesce(own.code, parent_row.code) as code,
        coalesce(own.version_id, parent_row.version_id) as version_id,
        coalesce(own.candidate_id, parent_row.candidate_id) as candidate_id,
        own.votes as own_votes,
        parent_row.votes as row_votes
    from parent_row_own_votes as own
    full join parent_row_row_votes as parent_row
        on parent_row.election = own.election
        and parent_row.contest = own.contest
        and parent_row.code = own.code
        and parent_row.candidate_id = own.candidate_id
),

parent_row_checks as (
    select
        parent_row_candidates.election,
        parent_row_candidates.contest,
        parent_row_candidates.code,
        parent_row_candidates.version_id,
        bool_or(abs(coalesce(parent_row_candidates.own_votes, 0) - coalesce(parent_row_candidates.row_votes, 0)) > thresholds.parent_row_max_difference) as broken
    from parent_row_candidates
    cross join thresholds
    group by parent_row_candidates.election, parent_row_candidates.contest, parent_row_candidates.code, parent_row_candidates.version_id
),

parent_row_texts as (
    select
        parent_row_candidates.election,
        parent_row_candidates.contest,
        parent_row_candidates.code,
        parent_row_candidates.version_id,
        string_agg(parent_row_candidates.candidate_id || ': ' || coalesce(cast(parent_row_candidates.own_votes as varchar), '-'), ', ' order by parent_row_candidates.candidate_id) as observed,
        string_agg(parent_row_candidates.candidate_id || ': ' || coalesce(cast(parent_row_candidates.row_votes as varchar), '-'), ', ' order by parent_row_candidates.candidate_id) as expected
    from parent_row_candidates
    semi join parent_row_checks
        on parent_row_checks.election = parent_row_candidates.election
        and parent_row_checks.contest = parent_row_candidates.contest
        and parent_row_checks.code = parent_row_candidates.code
        and parent_row_checks.version_id = parent_row_candidates.version_id
        and parent_row_checks.broken
    group by parent_row_candidates.election, parent_row_candidates.contest, parent_row_candidates.code, parent_row_candidates.version_id
),

rollup_parent_row as (
    select
        parent_row_checks.election,
        parent_row_checks.contest,
        parent_row_checks.code,
        parent_row_checks.version_id,
        'rollup_parent_row' as rule_id,
        parent_row_checks.broken,
        parent_row_texts.observed,
        parent_row_texts.expected
    from parent_row_checks
    left join parent_row_texts
        on parent_row_texts.election = parent_row_checks.election
        and parent_row_texts.contest = parent_row_checks.contest
        and parent_row_texts.code = parent_row_checks.code
        and parent_row_texts.version_id = parent_row_checks.version_id
),

-- rollup_tps_sum: the TPS files loaded under a region against the region's own figures.
tps_with_chart as (
    select
        tps_counts.election,
        tps_counts.contest,
        tps_counts.code,
        tps_counts.tps_with_chart as tps_counted
    from int_tps_rollup_counts as tps_counts
    where tps_counts.tps_with_chart > 0
),

tps_sums as (
    select * from int_tps_rollup_votes
),

region_figures as (
    -- Only where every TPS the figure reports as in is loaded with a chart: a partial mirror is not a mismatch.
    select
        nodes.election,
        nodes.contest,
        nodes.code,
        'file' as source,
        1 as preference,
        nodes.version_id
    from nodes
    inner join tps_with_chart
        on tps_with_chart.election = nodes.election
        and tps_with_chart.contest = nodes.contest
        and tps_with_chart.code = nodes.code
    where nodes.node_type = 'aggregate' and nodes.has_chart and nodes.progress_reported = tps_with_chart.tps_counted
    union all
    select
        child_rows.election,
        child_rows.contest,
        child_rows.child_code as code,
        'parent row' as source,
        2 as preference,
        child_rows.parent_version_id as version_id
    from child_rows
    inner join tps_with_chart
        on tps_with_chart.election = child_rows.election
        and tps_with_chart.contest = child_rows.contest
        and tps_with_chart.code = child_rows.child_code
    where child_rows.has_votes and child_rows.progress_reported = tps_with_chart.tps_counted
),

region_votes as (
    select election, contest, code, 'file' as source, candidate_id, votes from node_votes
    union all
    select election, contest, child_code as code, 'parent row' as source, candidate_id, votes from child_votes
),

figure_region_votes as (
    select region_figures.*, region_votes.candidate_id, region_votes.votes
    from region_figures
    inner join region_votes
        on region_votes.election = region_figures.election
        and region_votes.contest = region_figures.contest
        and region_votes.code = region_figures.code
        and region_votes.source = region_figures.source
),

figure_tps_votes as (
    select region_figures.*, tps_sums.candidate_id, tps_sums.votes
    from region_figures
    inner join tps_sums
        on tps_sums.election = region_figures.election
        and tps_sums.contest = region_figures.contest
        and tps_sums.code = region_figures.code
),

figure_candidates as (
    -- Every candidate on either side (a figure and the TPS sums each hold a candidate once).
    select
        coalesce(figure.election, tps.election) as election,
        coalesce(figure.contest, tps.contest) as contest,
        coalesce(figure.code, tps.code) as code,
        coalesce(figure.source, tps.source) as source,
        coalesce(figure.preference, tps.preference) as preference,
        coalesce(figure.version_id, tps.version_id) as version_id,
        coalesce(figure.candidate_id, tps.candidate_id) as candidate_id,
        tps.votes as tps_votes,
        figure.votes as region_votes
    from figure_region_votes as figure
    full join figure_tps_votes as tps
        on tps.election = figure.election
        and tps.contest = figure.contest
        and tps.code = figure.code
        and tps.source = figure.source
        and tps.candidate_id = figure.candidate_id
),

figure_checks as (
    select
        figure_candidates.election,
        figure_candidates.contest,
        figure_candidates.code,
        figure_candidates.source,
        figure_candidates.preference,
        figure_candidates.version_id,
        bool_or(abs(coalesce(figure_candidates.tps_votes, 0) - coalesce(figure_candidates.region_votes, 0)) > thresholds.tps_sum_max_difference) as broken
    from figure_candidates
    cross join thresholds
    group by
        figure_candidates.election, figure_candidates.contest, figure_candidates.code,
        figure_candidates.source, figure_candidates.preference, figure_candidates.version_id
),

rollup_tps_sum as (
    select
        figure_checks.election,
        figure_checks.contest,
        figure_checks.code,
        arg_min(figure_checks.version_id, figure_checks.preference) filter (where figure_checks.broken) as broken_version_id,
        arg_min(figure_checks.version_id, figure_checks.preference) as any_version_id,
        'rollup_tps_sum' as rule_id,
        bool_or(figure_checks.broken) as broken
    from figure_checks
    group by figure_checks.election, figure_checks.contest, figure_checks.code
),

-- The texts of every figure of a region where one figure breaks the rule.
figure_texts as (
    select
        figure_candidates.election,
        figure_candidates.contest,
        figure_candidates.code,
        figure_candidates.source,
        figure_candidates.preference,
        figure_candidates.version_id,
        string_agg(figure_candidates.candidate_id || ': ' || coalesce(cast(figure_candidates.tps_votes as varchar), '-'), ', ' order by figure_candidates.candidate_id) as tps_text,
        figure_candidates.source || ' ' || string_agg(figure_candidates.candidate_id || ': ' || coalesce(cast(figure_candidates.region_votes as varchar), '-'), ', ' order by figure_candidates.candidate_id) as region_text
    from figure_candidates
    semi join rollup_tps_sum
        on rollup_tps_sum.election = figure_candidates.election
        and rollup_tps_sum.contest = figure_candidates.contest
        and rollup_tps_sum.code = figure_candidates.code
        and rollup_tps_sum.broken
    group by
        figure_candidates.election, figure_candidates.contest, figure_candidates.code,
        figure_candidates.source, figure_candidates.preference, figure_candidates.version_id
),

rollup_tps_sum_texts as (
    select
        figure_texts.election,
        figure_texts.contest,
        figure_texts.code,
        arg_min(figure_texts.tps_text, figure_texts.preference) as observed,
        string_agg(figure_texts.region_text, '; ' order by figure_texts.preference) filter (where figure_checks.broken) as expected
    from figure_texts
    inner join figure_checks
        on figure_checks.election = figure_texts.election
        and figure_checks.contest = figure_texts.contest
        and figure_checks.code = figure_texts.code
        and figure_checks.source = figure_texts.source
        and figure_checks.preference = figure_texts.preference
        and figure_checks.version_id = figure_texts.version_id
    group by figure_texts.election, figure_texts.contest, figure_texts.code
),

final as (
    select * from rollup_parent_row
    union all
    select
        rollup_tps_sum.election,
        rollup_tps_sum.contest,
        rollup_tps_sum.code,
        coalesce(rollup_tps_sum.broken_version_id, rollup_tps_sum.any_version_id) as version_id,
        rollup_tps_sum.rule_id,
        rollup_tps_sum.broken,
        rollup_tps_sum_texts.observed,
        rollup_tps_sum_texts.expected
    from rollup_tps_sum
    left join rollup_tps_sum_texts
        on rollup_tps_sum_texts.election = rollup_tps_sum.election
        and rollup_tps_sum_texts.contest = rollup_tps_sum.contest
        and rollup_tps_sum_texts.code = rollup_tps_sum.code
)

select * from final
