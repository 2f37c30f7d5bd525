-- assert_marts_grain: a key that appears more than once in a mart whose grain promises one row.
select 'province_totals' as mart, election, contest, province_code as region_code, candidate_id, count(*) as rows
from province_totals
group by election, contest, province_code, candidate_id
having count(*) > 1
union all
select 'region_winners' as mart, election, contest, region_code, null as candidate_id, count(*) as rows
from region_winners
group by election, contest, region_code
having count(*) > 1
union all
select 'reconciliation' as mart, election, contest, region_code, coalesce(cast(nomor_urut as varchar), '') || '/' || coalesce(candidate_id, '') as candidate_id, count(*) as rows
from reconciliation
group by election, contest, region_code, nomor_urut, candidate_id
having count(*) > 1
union all
select 'tps_reconciliation' as mart, election, contest, tps_code as region_code, coalesce(cast(nomor_urut as varchar), '') || '/' || coalesce(candidate_id, '') as candidate_id, count(*) as rows
from tps_reconciliation
group by election, contest, tps_code, nomor_urut, candidate_id
having count(*) > 1
union all
select 'outcome_risk' as mart, election, contest, race_code as region_code, null as candidate_id, count(*) as rows
from outcome_risk
group by election, contest, race_code
having count(*) > 1
