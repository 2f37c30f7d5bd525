-- assert_chart_matches_table: an aggregate node whose own total for a candidate differs from the sum of its table rows in the same file.
with node_votes as (
    select * from int_node_votes
),

child_votes as (
    select * from int_child_votes
),

table_sums as (
    select election, contest, parent_code as code, candidate_id, sum(votes) as table_votes
    from child_votes
    group by election, contest, parent_code, candidate_id
)

select
    node_votes.election,
    node_votes.contest,
    node_votes.code,
    node_votes.candidate_id,
    node_votes.votes as chart_votes,
    table_sums.table_votes
from node_votes
inner join table_sums
    on table_sums.election = node_votes.election
    and table_sums.contest = node_votes.contest
    and table_sums.code = node_votes.code
    and table_sums.candidate_id = node_votes.candidate_id
where node_votes.votes <> table_sums.table_votes
