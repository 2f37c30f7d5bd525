-- assert_shares_sum_to_100: a province whose candidates' shares do not add up to 100% (beyond rounding).
select election, contest, province_code, sum(share_pct) as total_share
from province_totals
where share_pct is not null
group by election, contest, province_code
having abs(sum(share_pct) - 100) > 0.01 * count(*)
