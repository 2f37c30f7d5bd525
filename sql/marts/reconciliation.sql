-- reconciliation: one row per election x contest x region x candidate, at every level where at least two sources (internal count, SIREKAP, official recap) have a number for the region.
-- Status, most alarming first: mismatch (two complete sources disagree), missing_internal /
-- missing_official / missing_sirekap (a source that has numbers at this level of the race has
-- none for this candidate here: unknown, never zero), partial (a source covers only part of the region's TPS;
-- coverage says how much), match. Columns are documented in schemas/marts.py (Reconciliation).
with source_votes as (
    select * from int_source_votes
),

sirekap_regions as (
    select * from int_regions
),

region_names as (
    select * from int_region_names
),

candidates as (
    select * from int_candidates
),

region_sources as (
    -- Only a region with a count file's number can have two sources (SIREKAP is one): the
    -- others are not counted (a national SIREKAP's 2 million rows, for the regions of a recap).
    select election, contest, region_code, count(distinct source) as sources
    from source_votes
    semi join (select distinct election, contest, region_code from source_votes where source <> 'sirekap') as counted
        using (election, contest, region_code)
    group by election, contest, region_code
),

race_sources as (
    -- A source is "in play" at a level of a race when it has a number for some region at that level;
    -- only then can it be missing. A kab/kota recap is not missing at the TPS.
    select distinct election, contest, race_code, level, source
    from source_votes
),

pivoted as (
    select
        source_votes.election,
        source_votes.contest,
        source_votes.region_code,
        any_value(source_votes.level) as level,
        any_value(source_votes.race_code) as race_code,
        source_votes.candidate_key,
        max(source_votes.nomor_urut) as nomor_urut,
        max(source_votes.candidate_id) as candidate_id,
        max(source_votes.votes) filter (where source_votes.source = 'internal') as internal_votes,
        max(source_votes.votes) filter (where source_votes.source = 'sirekap') as sirekap_votes,
        max(source_votes.votes) filter (where source_votes.source = 'official') as official_votes,
        bool_and(source_votes.complete) filter (where source_votes.source = 'internal') as internal_complete,
        bool_and(source_votes.complete) filter (where source_votes.source = 'sirekap') as sirekap_complete,
        bool_and(source_votes.complete) filter (where source_votes.source = 'official') as official_complete,
        max(source_votes.tps_covered) filter (where source_votes.source = 'internal') as internal_tps,
        max(source_votes.tps_covered) filter (where source_votes.source = 'sirekap') as sirekap_tps,
        max(source_votes.tps_covered) filter (where source_votes.source = 'official') as official_tps,
        max(source_votes.tps_total) as tps_total,
        bool_or(source_votes.submissions_disagree) filter (where source_votes.source = 'internal') as internal_submissions_disagree
    from source_votes
    inner join region_sources
        on region_sources.election = source_votes.election
        and region_sources.contest = source_votes.contest
        and region_sources.region_code = source_votes.region_code
    where region_sources.sources >= 2
    group by source_votes.election, source_votes.contest, source_votes.region_code, source_votes.candidate_key
),

in_play as (
    select
        pivoted.*,
        exists (select 1 from race_sources where race_sources.election = pivoted.election and race_sources.contest = pivoted.contest
                and race_sources.race_code = pivoted.race_code and race_sources.level = pivoted.level and race_sources.source = 'internal') as internal_in_play,
        exists (select 1 from race_sources where race_sources.election = pivoted.election and race_sources.contest = pivoted.contest
                and race_sources.race_code = pivoted.race_code and race_sources.level = pivoted.level and race_sources.source = 'sirekap') as sirekap_in_play,
        exists (select 1 from race_sources where race_sources.election = pivoted.election and race_sources.contest = pivoted.contest
                and race_sources.race_code = pivoted.race_code and race_sources.level = pivoted.level and race_sources.source = 'official') as official_in_play
    from pivoted
),

pairs as (
    select
        in_play.*,
        case
            when internal_votes is null or sirekap_votes is null then null
            when not (internal_complete and sirekap_complete) then 'partial'
            when internal_votes = sirekap_votes then 'match' else 'mismatch'
        end as internal_vs_sirekap,
        case
            when internal_votes is null or official_votes is null then null
            when not (internal_complete and official_complete) then 'partial'
            when internal_votes = official_votes then 'match' else 'mismatch'
        end as internal_vs_official,
        case
            when sirekap_votes is null or official_votes is null then null
            when not (sirekap_complete and official_complete) then 'partial'
            when sirekap_votes = official_votes then 'match' else 'mismatch'
        end as sirekap_vs_official
    from in_play
),

statuses as (
    select
        pairs.*,
        case
            when 'mismatch' in (coalesce(internal_vs_sirekap, ''), coalesce(internal_vs_official, ''), coalesce(sirekap_vs_official, '')) then 'mismatch'
            when internal_in_play and internal_votes is null then 'missing_internal'
            when official_in_play and official_votes is null then 'missing_official'
            when sirekap_in_play and sirekap_votes is null then 'missing_sirekap'
            when not coalesce(internal_complete, true) or not coalesce(sirekap_complete, true) or not coalesce(official_complete, true) then 'partial'
            else 'match'
        end as status,
        nullif(concat_ws('; ',
            case when not internal_complete then format('internal {:,} of {:,} TPS', internal_tps, tps_total) end,
            case when not sirekap_complete then format('SIREKAP {:,} of {:,} TPS', sirekap_tps, tps_total) end,
            case when not official_complete then format('official {:,} of {:,} TPS', official_tps, tps_total) end
        ), '') as coverage
    from pairs
),

final as (
    select
        statuses.election,
        statuses.contest,
        statuses.level,
        statuses.region_code,
        coalesce(region_names.region_name, case when statuses.level = 'tps' then 'TPS ' || right(statuses.region_code, 3) end) as region_name,
        region_parent(statuses.region_code) as parent_code,
        statuses.race_code,
        statuses.nomor_urut,
        statuses.candidate_id,
        coalesce(candidates.candidate_name,
                 case when statuses.nomor_urut is not null then 'candidate ' || lpad(cast(statuses.nomor_urut as varchar), 2, '0')
                      else 'candidate ' || statuses.candidate_id end) as candidate_name,
        statuses.internal_votes,
        statuses.sirekap_votes,
        statuses.official_votes,
        statuses.internal_votes - statuses.sirekap_votes as internal_minus_sirekap,
        statuses.internal_votes - statuses.official_votes as internal_minus_official,
        statuses.sirekap_votes - statuses.official_votes as sirekap_minus_official,
        statuses.status,
        statuses.internal_vs_sirekap,
        statuses.internal_vs_official,
        statuses.sirekap_vs_official,
        statuses.internal_tps,
        statuses.sirekap_tps,
        statuses.official_tps,
        statuses.tps_total,
        statuses.coverage,
        coalesce(statuses.internal_submissions_disagree, false) as internal_submissions_disagree
    from statuses
    left join region_names on region_names.code = statuses.region_code
    left join candidates
        on candidates.election = statuses.election
        and candidates.contest = statuses.contest
        and candidates.candidate_id = statuses.candidate_id
)

select * from final
order by election, contest, region_code, nomor_urut, candidate_id
