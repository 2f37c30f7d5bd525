-- tps_reconciliation: one row per election x contest x TPS x candidate, in races where the internal count has TPS-level rows: internal vs SIREKAP at that TPS, with the form photos as evidence.
-- keyed by tps_code: tps_status.tps_code, int_nodes.code, int_node_votes.code; whole: int_count_regions, int_count_votes, int_candidates, int_contests
-- Every TPS of such a race that either source has numbers for is here: one only in SIREKAP is
-- missing_internal, one only in the internal count (or not yet published by SIREKAP) is
-- missing_sirekap. Columns are documented in schemas/marts.py (TpsReconciliation).
with internal_tps as (
    select * from int_count_regions where source_kind = 'internal' and level = 'tps'
),

count_votes as (
    select * from int_count_votes where source_kind = 'internal'
),

tps_nodes as (
    select * from int_nodes where node_type = 'tps'
),

node_votes as (
    select * from int_node_votes
),

candidates as (
    select * from int_candidates
),

contests as (
    select * from int_contests
),

tps_checks as (
    select * from tps_status
),

internal_votes as (
    select
        internal_tps.election,
        internal_tps.contest,
        internal_tps.code as tps_code,
        count_votes.nomor_urut,
        count_votes.candidate_id,
        coalesce(lpad(cast(count_votes.nomor_urut as varchar), 2, '0'), 'id ' || count_votes.candidate_id) as candidate_key,
        count_votes.votes
    from internal_tps
    inner join count_votes
        on count_votes.version_id = internal_tps.version_id
        and count_votes.row_number = internal_tps.row_number
),

races as (
    select distinct
        internal_tps.election,
        internal_tps.contest,
        region_ancestor(internal_tps.code, contests.race_code_length) as race_code
    from internal_tps
    inner join contests on contests.contest = internal_tps.contest
),

sirekap_tps as (
    select
        tps_nodes.*,
        races.race_code
    from tps_nodes
    inner join contests on contests.contest = tps_nodes.contest
    inner join races
        on races.election = tps_nodes.election
        and races.contest = tps_nodes.contest
        and races.race_code = region_ancestor(tps_nodes.code, contests.race_code_length)
),

sirekap_votes as (
    select
        sirekap_tps.election,
        sirekap_tps.contest,
        sirekap_tps.code as tps_code,
        candidates.nomor_urut,
        node_votes.candidate_id,
        coalesce(lpad(cast(candidates.nomor_urut as varchar), 2, '0'), 'id ' || node_votes.candidate_id) as candidate_key,
        node_votes.votes
    from sirekap_tps
    inner join node_votes
        on node_votes.election = sirekap_tps.election
        and node_votes.contest = sirekap_tps.contest
        and node_votes.code = sirekap_tps.code
    left join candidates
        on candidates.election = sirekap_tps.election
        and candidates.contest = sirekap_tps.contest
        and candidates.candidate_id = node_votes.candidate_id
),

compared as (
    select
        coalesce(internal_votes.election, sirekap_votes.election) as election,
        coalesce(internal_votes.contest, sirekap_votes.contest) as contest,
        coalesce(internal_votes.tps_code, sirekap_votes.tps_code) as tps_code,
        coalesce(internal_votes.candidate_key, sirekap_votes.candidate_key) as candidate_key,
        coalesce(internal_votes.nomor_urut, sirekap_votes.nomor_urut) as nomor_urut,
        coalesce(sirekap_votes.candidate_id, internal_votes.candidate_id) as candidate_id,
        internal_votes.votes as internal_votes,
        sirekap_votes.votes as sirekap_votes
    from internal_votes
    full outer join sirekap_votes
        on sirekap_votes.election = internal_votes.election
        and sirekap_votes.contest = internal_votes.contest
        and sirekap_votes.tps_code = internal_votes.tps_code
        and sirekap_votes.candidate_key = internal_votes.candidate_key
),

final as (
    select
        compared.election,
        compared.contest,
        region_ancestor(compared.tps_code, contests.race_code_length) as race_code,
        left(compared.tps_code, 4) as kabkota_code,
        left(compared.tps_code, 6) as kecamatan_code,
        left(compared.tps_code, 10) as kelurahan_code,
        compared.tps_code,
        cast(compared.nomor_urut as bigint) as nomor_urut,
        compared.candidate_id,
        coalesce(candidates.candidate_name,
                 case when compared.nomor_urut is not null then 'candidate ' || lpad(cast(compared.nomor_urut as varchar), 2, '0')
                      else 'candidate ' || compared.candidate_id end) as candidate_name,
        cast(compared.internal_votes as bigint) as internal_votes,
        cast(compared.sirekap_votes as bigint) as sirekap_votes,
        cast(compared.internal_votes - compared.sirekap_votes as bigint) as delta,
        case
            when compared.internal_votes is null then 'missing_internal'
            when compared.sirekap_votes is null then 'missing_sirekap'
            when compared.internal_votes = compared.sirekap_votes then 'match'
            else 'mismatch'
        end as status,
        internal_tps.submissions as internal_submissions,
        internal_tps.submissions_disagree as internal_submissions_disagree,
        internal_tps.witness_id,
        internal_tps.submitted_at,
        internal_tps.source_file as internal_source_file,
        internal_tps.row_number as internal_row_number,
        coalesce(tps_nodes.has_chart, false) as sirekap_published,
        list_filter(tps_nodes.images, url -> url is not null) as image_urls,
        tps_nodes.source_file as sirekap_source_file,
        tps_checks.status as anomaly_status,
        tps_checks.rules_broken as anomaly_rules
    from compared
    inner join contests on contests.contest = compared.contest
    left join internal_tps
        on internal_tps.election = compared.election
        and internal_tps.contest = compared.contest
        and internal_tps.code = compared.tps_code
    left join tps_nodes
        on tps_nodes.election = compared.election
        and tps_nodes.contest = compared.contest
        and tps_nodes.code = compared.tps_code
    left join candidates
        on candidates.election = compared.election
        and candidates.contest = compared.contest
        and candidates.candidate_id = compared.candidate_id
    left join tps_checks
        on tps_checks.election = compared.election
        and tps_checks.contest = compared.contest
        and tps_checks.tps_code = compared.tps_code
)

select * from final
order by election, contest, tps_code, nomor_urut, candidate_id
