-- corrections: one row per election x contest x node x candidate that the latest run changed: a new node, first counts, new counts, a child gone from its parent's table, or counts newly withheld.
-- "Latest run" is the newest row in runs (a quiet night has none). Before = the node's version
-- as last observed before that run; after = as the run observed it. A node whose counts did
-- not change is not here. Nodes without candidate counts have one row with a null candidate.
with run_log as (
    select * from runs
),

observations as (
    select * from int_node_observations
),

versions as (
    select * from int_node_versions
),

all_node_votes as (
    select * from stg_node_votes
),

all_child_rows as (
    select * from stg_child_rows
),

all_child_votes as (
    select * from stg_child_votes
),

latest_run as (
    select run_log.run_id, run_log.started_at from run_log order by run_log.started_at desc limit 1
),

run_start as (
    select min(observations.observed_seq) as first_seq
    from observations
    inner join latest_run on latest_run.run_id = observations.run_id
),

after_state as (
    select
        observations.election,
        observations.contest,
        observations.code,
        arg_max(observations.version_id, observations.observed_seq) as version_id
    from observations
    inner join latest_run on latest_run.run_id = observations.run_id
    group by observations.election, observations.contest, observations.code
),

before_state as (
    -- Only the nodes the run observed: the others' last version before it is no change of the
    -- run's (a quiet night's 1% of nodes, not every node ever observed, are aggregated here).
    select
        observations.election,
        observations.contest,
        observations.code,
        arg_max(observations.version_id, observations.observed_seq) as version_id
    from observations
    cross join run_start
    semi join after_state
        on after_state.election = observations.election
        and after_state.contest = observations.contest
        and after_state.code = observations.code
    where observations.observed_seq < run_start.first_seq
    group by observations.election, observations.contest, observations.code
),

node_changes as (
    select
        after_state.election,
        after_state.contest,
        after_state.code,
        before_state.version_id as version_before,
        after_state.version_id as version_after,
        case
            when before_state.version_id is null then 'new'
            when after_versions.withheld and not coalesce(before_versions.withheld, false) then 'withheld'
            when before_versions.vote_sum is null and after_versions.vote_sum is not null then 'reported'
            else 'changed'
        end as change_kind
    from after_state
    left join before_state
        on before_state.election = after_state.election
        and before_state.contest = after_state.contest
        and before_state.code = after_state.code
    inner join versions as after_versions on after_versions.version_id = after_state.version_id
    left join versions as before_versions on before_versions.version_id = before_state.version_id
    where before_state.version_id is distinct from after_state.version_id
),

changed_versions as (
    -- The versions on either side of tonight's changes: only their rows are read further (a
    -- quiet night's 8,000 nodes, not the 2 million vote rows of every version ever loaded).
    select node_changes.version_before as version_id from node_changes where node_changes.version_before is not null
    union
    select node_changes.version_after from node_changes
),

node_votes as (
    select all_node_votes.* from all_node_votes semi join changed_versions using (version_id)
),

child_rows as (
    select all_child_rows.* from all_child_rows semi join changed_versions using (version_id)
),

child_votes as (
    select all_child_votes.* from all_child_votes semi join changed_versions using (version_id)
),

vanished as (
    -- A child listed in its parent's table before the run and not in the parent's new table.
    select
        node_changes.election,
        node_changes.contest,
        before_rows.child_code as code,
        node_changes.version_before as parent_version_before,
        'vanished' as change_kind
    from node_changes
    inner join child_rows as before_rows on before_rows.version_id = node_changes.version_before
    left join child_rows as after_rows
        on after_rows.version_id = node_changes.version_after
        and after_rows.child_code = before_rows.child_code
    where after_rows.child_code is null
),

candidate_ids as (
    select node_changes.election, node_changes.contest, node_changes.code, node_votes.candidate_id
    from node_changes
    inner join node_votes on node_votes.version_id = node_changes.version_after
    union
    select node_changes.election, node_changes.contest, node_changes.code, node_votes.candidate_id
    from node_changes
    inner join node_votes on node_votes.version_id = node_changes.version_before
),

node_deltas as (
    select
        node_changes.election,
        node_changes.contest,
        node_changes.code,
        node_changes.change_kind,
        candidate_ids.candidate_id,
        before_votes.votes as votes_before,
        after_votes.votes as votes_after,
        node_changes.version_before,
        node_changes.version_after
    from node_changes
    left join candidate_ids
        on candidate_ids.election = node_changes.election
        and candidate_ids.contest = node_changes.contest
        and candidate_ids.code = node_changes.code
    left join node_votes as after_votes
        on after_votes.version_id = node_changes.version_after
        and after_votes.candidate_id = candidate_ids.candidate_id
    left join node_votes as before_votes
        on before_votes.version_id = node_changes.version_before
        and before_votes.candidate_id = candidate_ids.candidate_id
),

vanished_deltas as (
    select
        vanished.election,
        vanished.contest,
        vanished.code,
        vanished.change_kind,
        child_votes.candidate_id,
        child_votes.votes as votes_before,
        null as votes_after,
        null as version_before,
        null as version_after
    from vanished
    left join child_votes
        on child_votes.version_id = vanished.parent_version_before
        and child_votes.child_code = vanished.code
),

all_changes as (
    select * from node_deltas
    union all by name
    select * from vanished_deltas
),

flagged as (
    select
        all_changes.*,
        -- Did any of the node's counts move? (A new ts or image alone is not a correction.)
        bool_or(all_changes.votes_before is distinct from all_changes.votes_after) over (
            partition by all_changes.election, all_changes.contest, all_changes.code, all_changes.change_kind
        ) as counts_moved
    from all_changes
),

final as (
    select
        flagged.election,
        flagged.contest,
        region_level(flagged.code) as level,
        flagged.code,
        flagged.change_kind,
        flagged.candidate_id,
        cast(flagged.votes_before as bigint) as votes_before,
        cast(flagged.votes_after as bigint) as votes_after,
        cast(flagged.votes_after - flagged.votes_before as bigint) as delta,
        cast(flagged.version_before as varchar) as version_before,
        cast(flagged.version_after as varchar) as version_after,
        latest_run.run_id
    from flagged
    cross join latest_run
    where flagged.change_kind <> 'changed' or flagged.counts_moved
)

select * from final
order by election, contest, code, candidate_id
