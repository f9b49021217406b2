-- requires ClickHouse 21.8
-- cdrpipe tables, version 4: what current ClickHouse releases offer and
-- 18.16 lacks. Applied only where the server has it (checked at migrate
-- time); on an older server it is skipped, not recorded, and applied by
-- the first migrate after the server is upgraded. It changes how columns
-- are stored, never what the pipeline inserts.

-- Insert deduplication on plain MergeTree tables (18.16 has it only on
-- Replicated ones): an insert retried after a lost answer, with the same
-- rows, is dropped instead of stored twice.
ALTER TABLE {db}.cdrs MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {db}.cdr_rejects MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE {db}.quarantine MODIFY SETTING non_replicated_deduplication_window = 1000;

-- Dictionary-encoded strings for the few values that repeat on every row
-- (columns outside the sort keys, whose type can change in place).
ALTER TABLE {db}.cdrs MODIFY COLUMN switch_id LowCardinality(String);
ALTER TABLE {db}.cdrs MODIFY COLUMN trunk_id LowCardinality(String);
ALTER TABLE {db}.cdrs MODIFY COLUMN attestation LowCardinality(String);
ALTER TABLE {db}.cdr_rejects MODIFY COLUMN reason LowCardinality(String);

-- Codecs: offsets grow by one, raw text compresses well.
ALTER TABLE {db}.cdrs MODIFY COLUMN kafka_offset UInt64 CODEC(Delta, ZSTD(1));
ALTER TABLE {db}.cdr_rejects MODIFY COLUMN raw String CODEC(ZSTD(3));
ALTER TABLE {db}.quarantine MODIFY COLUMN row String CODEC(ZSTD(3));
