-- int_node_versions: one row per node version (election x contest x code x version), in observation order, with its counts summarised and whether it is withheld.
-- keyed by code: stg_documents.code, int_node_observations.code, stg_nodes.version_id@stg_documents.code, stg_node_votes.version_id@stg_documents.code, stg_child_votes.version_id@stg_documents.code; whole: ref_rules
-- Every version is kept (values change after publication); versions are ordered by their last
-- observation, like int_latest_documents. The withheld decision lives here, in its own model, because
-- int_latest_documents must skip withheld versions to keep the earlier numbers reported:
-- a version is withheld when every candidate count in it (chart and table rows) is 0 while its
-- published progress shows reported TPS (an aggregate node: a TPS publishes no progress of its
-- own, rekap's 1-of-1 says only that it has a chart), or while an earlier version of the node had
-- votes (SIREKAP Pilkada, 28 Nov 2024). A TPS whose first chart is all zeros is a real zero and
-- stays in every total. Rule withheld_counts in the rule pack; disabled, nothing is.
with documents as (
    select * from stg_documents where kind = 'node'
),

observations as (
    select * from int_node_observations
),

nodes as (
    select * from stg_nodes
),

node_votes as (
    select * from stg_node_votes
),

child_votes as (
    select * from stg_child_votes
),

rules as (
    select * from ref_rules
),

last_observation as (
    select
        observations.version_id,
        max(observations.observed_seq) as observed_seq
    from observations
    group by observations.version_id
),

observed as (
    select
        last_observation.version_id,
        last_observation.observed_seq,
        observations.run_id,
        observations.source_file,
        observations.snapshot
    from last_observation
    inner join observations
        on observations.version_id = last_observation.version_id
        and observations.observed_seq = last_observation.observed_seq
),

all_counts as (
    select version_id, 'chart' as block, votes from node_votes
    union all
    select version_id, 'table' as block, votes from child_votes
),

counts as (
    select
        all_counts.version_id,
        count(*) as candidate_counts,
        sum(all_counts.votes) as vote_sum,
        sum(all_counts.votes) filter (where all_counts.block = 'chart') as chart_votes,
        sum(all_counts.votes) filter (where all_counts.block = 'table') as table_votes
    from all_counts
    group by all_counts.version_id
),

versions as (
    select
        documents.election,
        documents.contest,
        documents.code,
        documents.version_id,
        documents.ts as source_ts,
        nodes.level,
        nodes.node_type,
        nodes.psu,
        nodes.has_chart,
        nodes.has_admin,
        nodes.progress_total,
        nodes.progress_reported,
        nodes.images,
        coalesce(counts.candidate_counts, 0) as candidate_counts,
        counts.vote_sum,
        counts.chart_votes,
        counts.table_votes,
        observed.observed_seq,
        observed.run_id,
        observed.source_file,
        observed.snapshot
    from documents
    inner join nodes on nodes.version_id = documents.version_id
    inner join observed on observed.version_id = documents.version_id
    left join counts on counts.version_id = documents.version_id
),

sequenced as (
    select
        versions.*,
        row_number() over (
            partition by versions.election, versions.contest, versions.code
            order by versions.observed_seq
        ) as version_number,
        coalesce(bool_or(versions.vote_sum > 0) over (
            partition by versions.election, versions.contest, versions.code
            order by versions.observed_seq
            rows between unbounded preceding and 1 preceding
        ), false) as earlier_had_votes
    from versions
),

final as (
    select
        sequenced.election,
        sequenced.contest,
        sequenced.code,
        sequenced.version_id,
        cast(sequenced.version_number as bigint) as version_number,
        sequenced.level,
        sequenced.node_type,
        sequenced.psu,
        sequenced.has_chart,
        sequenced.has_admin,
        sequenced.progress_total,
        sequenced.progress_reported,
        sequenced.images,
        cast(sequenced.candidate_counts as bigint) as candidate_counts,
        -- Every count in the version, chart and table rows together: only its sign means anything.
        cast(sequenced.vote_sum as bigint) as vote_sum,
        cast(sequenced.chart_votes as bigint) as chart_votes,
        cast(sequenced.table_votes as bigint) as table_votes,
        sequenced.earlier_had_votes,
        coalesce(
            sequenced.candidate_counts > 0
            and sequenced.vote_sum = 0
            and ((sequenced.node_type = 'aggregate' and coalesce(sequenced.progress_reported, 0) > 0) or sequenced.earlier_had_votes)
            and (select rules.enabled from rules where rules.rule_id = 'withheld_counts'),
            false
        ) as withheld,
        sequenced.observed_seq,
        sequenced.source_ts,
        sequenced.run_id,
        sequenced.source_file,
        sequenced.snapshot
    from sequenced
)

select * from final
