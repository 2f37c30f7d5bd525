-- int_regions: one row per election x contest x region: the one source its numbers are taken from.
-- keyed by region_code: int_region_sources.code; whole: int_contests, int_region_names
-- Precedence, among sources that carry candidate counts: the region's own file, then its row in
-- the parent's table, then the roll-up of its TPS files; a region nobody has counts for keeps
-- its best source anyway, so its progress shows and its votes stay null (no data, not zero).
with sources as (
    select * from int_region_sources
),

contests as (
    select * from int_contests
),

regions as (
    select * from int_region_names
),

ranked as (
    select
        sources.*,
        row_number() over (
            partition by sources.election, sources.contest, sources.code
            order by
                sources.has_votes desc,
                case sources.source_kind when 'node' then 1 when 'parent_table' then 2 else 3 end
        ) as preference
    from sources
),

final as (
    select
        ranked.election,
        ranked.contest,
        ranked.code as region_code,
        region_level(ranked.code) as level,
        region_parent(ranked.code) as parent_code,
        coalesce(
            regions.region_name,
            case when length(ranked.code) = 13 then 'TPS ' || right(ranked.code, 3) end
        ) as region_name,
        contests.race_level,
        region_ancestor(ranked.code, contests.race_code_length) as race_code,
        -- Regions above the race (pkwkk's province file) mix several races: no winner there.
        (case when ranked.code = '0' then 0 else length(ranked.code) end) >= contests.race_code_length as within_race,
        ranked.source_kind,
        ranked.has_votes,
        ranked.tps_reported,
        ranked.tps_total,
        ranked.psu,
        ranked.source_ts,
        ranked.source_file,
        ranked.run_id
    from ranked
    inner join contests on contests.contest = ranked.contest
    left join regions on regions.code = ranked.code
    where ranked.preference = 1
)

select * from final
