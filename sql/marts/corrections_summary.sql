-- corrections_summary: one row per election x contest x kab/kota x change kind in the latest run: how many nodes and TPS, and the net change of TPS votes.
with changes as (
    select * from corrections
),

final as (
    select
        changes.election,
        changes.contest,
        left(changes.code, 4) as kabkota_code,
        changes.change_kind,
        cast(count(distinct changes.code) as bigint) as nodes,
        cast(count(distinct changes.code) filter (where changes.level = 'tps') as bigint) as tps,
        -- TPS only: adding every level would count each vote once per level above it.
        cast(sum(changes.delta) filter (where changes.level = 'tps') as bigint) as tps_votes_delta,
        any_value(changes.run_id) as run_id
    from changes
    where length(changes.code) >= 4
    group by changes.election, changes.contest, left(changes.code, 4), changes.change_kind
)

select * from final
order by election, contest, kabkota_code, change_kind
