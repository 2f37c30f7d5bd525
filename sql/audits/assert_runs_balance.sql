-- assert_runs_balance: a finished run whose records read differ from records loaded plus quarantined.
select run_id, records_read, records_loaded, records_quarantined
from runs
where records_read is not null
    and records_read <> records_loaded + records_quarantined
