-- cdrpipe tables, version 3: what the field sends. Withheld caller IDs
-- are stored, rejects carry a stable reason code, and rows ClickHouse
-- refuses for good are kept in a quarantine instead of wedging the
-- pipeline. Only syntax ClickHouse 18.16 and current releases both accept.

-- 1 when the caller withheld its caller ID; caller is '' when no number
-- came with it.
ALTER TABLE {db}.cdrs ADD COLUMN withheld UInt8 DEFAULT 0;

-- A stable code per kind of fault (bad_time, broken_json, ...), for
-- GROUP BY; error says the same in words. received_at is the Kafka
-- message's timestamp from this version on, so a replay of a reject in
-- another month lands in the same partition and is stored once.
ALTER TABLE {db}.cdr_rejects ADD COLUMN reason String DEFAULT '';

-- Rows ClickHouse refused for good (a value it cannot take, a schema that
-- changed under the pipeline), one by one after the batch was split
-- around them. row is the row as JSON; row_key what identifies it in its
-- table, so a replay quarantines it once. No partitioning: a replay in
-- another month must find the same part.
CREATE TABLE IF NOT EXISTS {db}.quarantine
(
    table_name      String,
    row_key         String,
    reason          String,
    error           String,
    row             String,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    quarantined_at  DateTime
)
ENGINE = ReplacingMergeTree()
ORDER BY (table_name, row_key);
