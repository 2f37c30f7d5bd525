-- int_rule_reference: one row per node (or table row's code) x reference rule that can be checked: unknown_candidate, region_outside_tree, duplicate_node.
-- keyed by code: int_nodes.code, int_node_votes.code, int_child_rows.child_code, int_child_votes.parent_code, int_node_versions.code, int_node_observations.code; whole: int_candidates, int_contests, int_region_tree
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

candidates as (
    select * from int_candidates
),

contests as (
    select * from int_contests
),

region_tree as (
    select * from int_region_tree
),

versions as (
    select * from int_node_versions
),

observations as (
    select * from int_node_observations
),

-- unknown_candidate: every id a document counts, with the race the count belongs to.
counted_ids as (
    select
        nodes.election,
        nodes.contest,
        nodes.code,
        nodes.version_id,
        node_votes.code as counted_code,
        node_votes.candidate_id
    from nodes
    inner join node_votes
        on node_votes.election = nodes.election
        and node_votes.contest = nodes.contest
        and node_votes.code = nodes.code
    union all
    select
        nodes.election,
        nodes.contest,
        nodes.code,
        nodes.version_id,
        child_votes.child_code as counted_code,
        child_votes.candidate_id
    from nodes
    inner join child_votes
        on child_votes.election = nodes.election
        and child_votes.contest = nodes.contest
        and child_votes.parent_code = nodes.code
),

counted_races as (
    select
        counted_ids.*,
        region_ancestor(counted_ids.counted_code, contests.race_code_length) as race_code
    from counted_ids
    inner join contests on contests.contest = counted_ids.contest
    where length(counted_ids.counted_code) >= contests.race_code_length
),

race_candidates as (
    -- A race is checkable where the master lists candidates for it (a national master: every race).
    select distinct
        counted_races.election,
        counted_races.contest,
        counted_races.race_code,
        candidates.candidate_id
    from (select distinct election, contest, race_code from counted_races) as counted_races
    inner join candidates
        on candidates.election = counted_races.election
        and candidates.contest = counted_races.contest
        and (candidates.region_code is null or candidates.region_code = counted_races.race_code)
),

checked_ids as (
    select
        counted_races.*,
        race_candidates.candidate_id is null as unknown
    from counted_races
    left join race_candidates
        on race_candidates.election = counted_races.election
        and race_candidates.contest = counted_races.contest
        and race_candidates.race_code = counted_races.race_code
        and race_candidates.candidate_id = counted_races.candidate_id
    where exists (
        select 1 from race_candidates as covered
        where covered.election = counted_races.election
            and covered.contest = counted_races.contest
            and covered.race_code = counted_races.race_code
    )
),

known_lists as (
    select
        race_candidates.election,
        race_candidates.contest,
        race_candidates.race_code,
        string_agg(race_candidates.candidate_id, ', ' order by race_candidates.candidate_id) as known_ids
    from race_candidates
    group by race_candidates.election, race_candidates.contest, race_candidates.race_code
),

unknown_candidate as (
    select
        checked_ids.election,
        checked_ids.contest,
        checked_ids.code,
        checked_ids.version_id,
        'unknown_candidate' as rule_id,
        bool_or(checked_ids.unknown) as broken,
        string_agg(distinct checked_ids.candidate_id, ', ' order by checked_ids.candidate_id) filter (where checked_ids.unknown) as observed,
        string_agg(distinct known_lists.known_ids, '; ') filter (where checked_ids.unknown) as expected
    from checked_ids
    inner join known_lists
        on known_lists.election = checked_ids.election
        and known_lists.contest = checked_ids.contest
        and known_lists.race_code = checked_ids.race_code
    group by checked_ids.election, checked_ids.contest, checked_ids.code, checked_ids.version_id
),

-- region_outside_tree: node codes and table-row codes against their parent's region list.
codes as (
    select nodes.election, nodes.contest, nodes.code, nodes.version_id, 1 as preference
    from nodes
    union all
    select child_rows.election, child_rows.contest, child_rows.child_code as code, child_rows.parent_version_id as version_id, 2 as preference
    from child_rows
),

code_parents as (
    select
        codes.*,
        region_parent(codes.code) as parent_code
    from codes
),

listed_parents as (
    select distinct region_tree.election, region_tree.parent_code
    from region_tree
),

region_outside_tree as (
    select
        code_parents.election,
        code_parents.contest,
        code_parents.code,
        arg_min(code_parents.version_id, code_parents.preference) as version_id,
        'region_outside_tree' as rule_id,
        bool_and(region_tree.code is null) as broken,
        code_parents.code as observed,
        code_parents.parent_code as expected
    from code_parents
    inner join listed_parents
        on listed_parents.election = code_parents.election
        and listed_parents.parent_code = code_parents.parent_code
    left join region_tree
        on region_tree.election = code_parents.election
        and region_tree.parent_code = code_parents.parent_code
        and region_tree.code = code_parents.code
    group by code_parents.election, code_parents.contest, code_parents.code, code_parents.parent_code
),

-- duplicate_node: the snapshot of the node's latest observation holds it in more than one version.
latest_observations as (
    select
        latest.election,
        latest.contest,
        latest.code,
        latest.version.version_id as version_id,
        latest.version.run_id as run_id,
        latest.version.snapshot as snapshot
    from (
        select
            versions.election,
            versions.contest,
            versions.code,
            arg_max({'version_id': versions.version_id, 'run_id': versions.run_id, 'snapshot': versions.snapshot}, versions.observed_seq) as version
        from versions
        group by versions.election, versions.contest, versions.code
    ) as latest
),

snapshot_versions as (
    select
        observations.election,
        observations.contest,
        observations.code,
        observations.run_id,
        observations.snapshot,
        min(observations.version_id) <> max(observations.version_id) as broken
    from observations
    group by observations.election, observations.contest, observations.code, observations.run_id, observations.snapshot
),

-- What a broken check shows (int_rule_checks shows no other's): a distinct count and an ordered
-- string_agg over every node's observations cost 2.7 s at national scale, over the broken few nothing.
snapshot_texts as (
    select
        observations.election,
        observations.contest,
        observations.code,
        observations.run_id,
        observations.snapshot,
        count(distinct observations.version_id) as versions,
        string_agg(distinct observations.source_path, ', ' order by observations.source_path) as source_paths
    from observations
    semi join snapshot_versions
        on snapshot_versions.election = observations.election
        and snapshot_versions.contest = observations.contest
        and snapshot_versions.code = observations.code
        and snapshot_versions.run_id = observations.run_id
        and snapshot_versions.snapshot = observations.snapshot
        and snapshot_versions.broken
    group by observations.election, observations.contest, observations.code, observations.run_id, observations.snapshot
),

duplicate_node as (
    select
        latest_observations.election,
        latest_observations.contest,
        latest_observations.code,
        latest_observations.version_id,
        'duplicate_node' as rule_id,
        snapshot_versions.broken,
        snapshot_texts.versions || ' different versions in ' || latest_observations.snapshot
            || ' (' || snapshot_texts.source_paths || ')' as observed,
        '1 version' as expected
    from latest_observations
    inner join snapshot_versions
        on snapshot_versions.election = latest_observations.election
        and snapshot_versions.contest = latest_observations.contest
        and snapshot_versions.code = latest_observations.code
        and snapshot_versions.run_id = latest_observations.run_id
        and snapshot_versions.snapshot = latest_observations.snapshot
    left join snapshot_texts
        on snapshot_texts.election = latest_observations.election
        and snapshot_texts.contest = latest_observations.contest
        and snapshot_texts.code = latest_observations.code
        and snapshot_texts.run_id = latest_observations.run_id
        and snapshot_texts.snapshot = latest_observations.snapshot
),

final as (
    select * from unknown_candidate
    union all
    select * from region_outside_tree
    union all
    select * from duplicate_node
)

select * from final
