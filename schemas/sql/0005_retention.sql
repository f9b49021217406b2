-- requires ClickHouse 21.8
-- cdrpipe tables, version 5: how a current ClickHouse expires calls. The
-- TTLs themselves come from the configuration (retention.*) and are set
-- by migrate and run, not here; on 18.16 `cdrpipe retention` does the
-- same job.

-- cdrs is partitioned by day, so every part holds one day of calls:
-- dropping a part once all its calls are past retention.cdrs costs
-- nothing, where deleting rows would rewrite the largest table at every
-- TTL merge. Calls are removed up to a day later than their own expiry.
ALTER TABLE {db}.cdrs MODIFY SETTING ttl_only_drop_parts = 1;
