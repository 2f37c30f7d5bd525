-- int_tps_facts: one row per election x contest x TPS in its reported version: which blocks it has, its candidate votes and its administrasi figures.
-- keyed by code: int_nodes.code, int_node_votes.code, int_tps_admin.code
with tps_nodes as (
    select * from int_nodes where node_type = 'tps'
),

node_votes as (
    select * from int_node_votes
),

admin as (
    select * from int_tps_admin
),

vote_totals as (
    select
        node_votes.election,
        node_votes.contest,
        node_votes.code,
        sum(node_votes.votes) as candidate_sum,
        max(node_votes.votes) as candidate_max
    from node_votes
    group by node_votes.election, node_votes.contest, node_votes.code
),

final as (
    select
        tps_nodes.election,
        tps_nodes.contest,
        tps_nodes.code,
        tps_nodes.version_id,
        tps_nodes.has_chart,
        tps_nodes.has_admin,
        case
            when tps_nodes.has_chart and tps_nodes.has_admin then 'complete'
            when tps_nodes.has_chart then 'chart_only'
            when tps_nodes.has_admin then 'admin_only'
            else 'empty'
        end as completeness,
        cast(vote_totals.candidate_sum as bigint) as candidate_sum,
        cast(vote_totals.candidate_max as bigint) as candidate_max,
        admin.* exclude (election, contest, code, version_id)
    from tps_nodes
    left join vote_totals
        on vote_totals.election = tps_nodes.election
        and vote_totals.contest = tps_nodes.contest
        and vote_totals.code = tps_nodes.code
    left join admin
        on admin.election = tps_nodes.election
        and admin.contest = tps_nodes.contest
        and admin.code = tps_nodes.code
)

select * from final
