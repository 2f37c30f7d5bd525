-- tps_history: one row per spell of a node's versions x candidate: what the node (a TPS, or any region code) said, and when rekap saw it say so.
-- Usage: select * from tps_history('6402011001001');
--        what it said on a date: ... where valid_from <= timestamp '2024-11-28 12:00'
--                                      and (valid_to is null or valid_to > timestamp '2024-11-28 12:00')
create or replace temp macro tps_history(node_code) as table
select
    node_history.election,
    node_history.contest,
    node_history.code,
    node_history.spell,
    node_history.valid_from,
    node_history.valid_to,
    node_history.is_current,
    node_history.withheld,
    stg_node_votes.candidate_id,
    stg_node_votes.votes,
    node_history.source_ts,
    node_history.source_file,
    node_history.source_run_id as run_id,
    node_history.version_id
from node_history
left join stg_node_votes on stg_node_votes.version_id = node_history.version_id
where node_history.code = node_code
order by node_history.election, node_history.contest, node_history.spell, stg_node_votes.candidate_id
