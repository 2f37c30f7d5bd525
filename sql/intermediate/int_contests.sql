-- int_contests: one row per contest rekap models, with the level at which its winner is decided.
-- Contests not listed here (pdpr, pdpd, ... decided per electoral district) are loaded but not modelled.
with contests as (
    select *
    from (
        values
            ('ppwp', 'nasional', 0, 'Presiden dan Wakil Presiden'),
            ('pkwkp', 'provinsi', 2, 'Gubernur dan Wakil Gubernur'),
            ('pkwkk', 'kabkota', 4, 'Bupati/Wali Kota dan Wakil')
    ) as contests (contest, race_level, race_code_length, contest_name)
),

final as (
    select
        cast(contest as varchar) as contest,
        cast(race_level as varchar) as race_level,
        cast(race_code_length as integer) as race_code_length,
        cast(contest_name as varchar) as contest_name
    from contests
)

select * from final
