-- 0001_init
CREATE TABLE IF NOT EXISTS cdrpipe.cdrs ON CLUSTER cdrpipe
(
    call_key        String,
    call_id         String,
    caller          String,
    callee          String,
    start_time      DateTime,
    start_ms        UInt16,
    answer_time     Nullable(DateTime),
    end_time        Nullable(DateTime),
    duration        Float64,
    ring_duration   Float64,
    disposition     Enum8('unknown' = 0, 'answered' = 1, 'no_answer' = 2, 'busy' = 3, 'failed' = 4, 'rejected' = 5, 'cancelled' = 6),
    cause           UInt16,
    switch_id       String,
    trunk_id        String,
    imsi            String,
    imei            String,
    cell_id         String,
    attestation     String,
    kafka_partition UInt32,
    kafka_offset    UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/cdrs', '{replica}')
PARTITION BY toYYYYMMDD(start_time)
ORDER BY (caller, start_time, call_key);

CREATE TABLE IF NOT EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe AS cdrpipe.cdrs ENGINE = Distributed(cdrpipe, cdrpipe, cdrs, rand());

CREATE TABLE IF NOT EXISTS cdrpipe.caller_stats ON CLUSTER cdrpipe
(
    caller           String,
    window_start     DateTime,
    window_end       DateTime,
    calls            UInt32,
    answered         UInt32,
    distinct_callees UInt32,
    short_calls      UInt32,
    avg_talk         Float64,
    sequential_score Float64,
    updated_at       DateTime
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/caller_stats', '{replica}', calls)
PARTITION BY toYYYYMM(window_start)
ORDER BY (caller, window_start);

CREATE TABLE IF NOT EXISTS cdrpipe.caller_stats_all ON CLUSTER cdrpipe AS cdrpipe.caller_stats ENGINE = Distributed(cdrpipe, cdrpipe, caller_stats, rand());

CREATE TABLE IF NOT EXISTS cdrpipe.flagged_numbers ON CLUSTER cdrpipe
(
    number       String,
    detector     String,
    window_start DateTime,
    window_end   DateTime,
    score        Float64,
    value        Float64,
    evidence     String,
    flagged_at   DateTime
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/flagged_numbers', '{replica}')
PARTITION BY toYYYYMM(window_start)
ORDER BY (number, detector, window_start);

CREATE TABLE IF NOT EXISTS cdrpipe.flagged_numbers_all ON CLUSTER cdrpipe AS cdrpipe.flagged_numbers ENGINE = Distributed(cdrpipe, cdrpipe, flagged_numbers, rand());

CREATE TABLE IF NOT EXISTS cdrpipe.cdr_rejects ON CLUSTER cdrpipe
(
    topic           String,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    received_at     DateTime,
    error           String,
    raw             String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/cdr_rejects', '{replica}')
PARTITION BY toYYYYMM(received_at)
ORDER BY (topic, kafka_partition, kafka_offset);

CREATE TABLE IF NOT EXISTS cdrpipe.cdr_rejects_all ON CLUSTER cdrpipe AS cdrpipe.cdr_rejects ENGINE = Distributed(cdrpipe, cdrpipe, cdr_rejects, rand());

-- 0002_verdicts
CREATE TABLE IF NOT EXISTS cdrpipe.allowlist ON CLUSTER cdrpipe
(
    entry      String,
    is_prefix  UInt8,
    reason     String,
    added_by   String,
    added_at   DateTime,
    expires_at DateTime
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/allowlist', '{replica}', added_at)
ORDER BY entry;

CREATE TABLE IF NOT EXISTS cdrpipe.allowlist_all ON CLUSTER cdrpipe AS cdrpipe.allowlist ENGINE = Distributed(cdrpipe, cdrpipe, allowlist, rand());

CREATE TABLE IF NOT EXISTS cdrpipe.blocklist_changes ON CLUSTER cdrpipe
(
    number  String,
    action  Enum8('add' = 1, 'remove' = 2),
    source  Enum8('auto' = 1, 'manual' = 2),
    actor   String,
    reason  String,
    score   Float64,
    at      DateTime
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/cdrpipe/blocklist_changes', '{replica}')
PARTITION BY toYYYYMM(at)
ORDER BY (number, at);

CREATE TABLE IF NOT EXISTS cdrpipe.blocklist_changes_all ON CLUSTER cdrpipe AS cdrpipe.blocklist_changes ENGINE = Distributed(cdrpipe, cdrpipe, blocklist_changes, rand());

-- 0003_field_quirks
ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe ADD COLUMN withheld UInt8 DEFAULT 0;

DROP TABLE IF EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe;

CREATE TABLE IF NOT EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe AS cdrpipe.cdrs ENGINE = Distributed(cdrpipe, cdrpipe, cdrs, rand());

ALTER TABLE cdrpipe.cdr_rejects ON CLUSTER cdrpipe ADD COLUMN reason String DEFAULT '';

DROP TABLE IF EXISTS cdrpipe.cdr_rejects_all ON CLUSTER cdrpipe;

CREATE TABLE IF NOT EXISTS cdrpipe.cdr_rejects_all ON CLUSTER cdrpipe AS cdrpipe.cdr_rejects ENGINE = Distributed(cdrpipe, cdrpipe, cdr_rejects, rand());

CREATE TABLE IF NOT EXISTS cdrpipe.quarantine ON CLUSTER cdrpipe
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/quarantine', '{replica}')
ORDER BY (table_name, row_key);

CREATE TABLE IF NOT EXISTS cdrpipe.quarantine_all ON CLUSTER cdrpipe AS cdrpipe.quarantine ENGINE = Distributed(cdrpipe, cdrpipe, quarantine, rand());

-- 0004_current_release
ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE cdrpipe.cdr_rejects ON CLUSTER cdrpipe MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE cdrpipe.quarantine ON CLUSTER cdrpipe MODIFY SETTING non_replicated_deduplication_window = 1000;

ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe MODIFY COLUMN switch_id LowCardinality(String);

ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe MODIFY COLUMN trunk_id LowCardinality(String);

ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe MODIFY COLUMN attestation LowCardinality(String);

ALTER TABLE cdrpipe.cdr_rejects ON CLUSTER cdrpipe MODIFY COLUMN reason LowCardinality(String);

ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe MODIFY COLUMN kafka_offset UInt64 CODEC(Delta, ZSTD(1));

ALTER TABLE cdrpipe.cdr_rejects ON CLUSTER cdrpipe MODIFY COLUMN raw String CODEC(ZSTD(3));

ALTER TABLE cdrpipe.quarantine ON CLUSTER cdrpipe MODIFY COLUMN row String CODEC(ZSTD(3));

-- 0005_retention
ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe MODIFY SETTING ttl_only_drop_parts = 1;

-- 0006_exact
ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe ADD COLUMN kafka_topic String DEFAULT '';

DROP TABLE IF EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe;

CREATE TABLE IF NOT EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe AS cdrpipe.cdrs ENGINE = Distributed(cdrpipe, cdrpipe, cdrs, rand());

ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe ADD COLUMN stored_topic String DEFAULT '';

DROP TABLE IF EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe;

CREATE TABLE IF NOT EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe AS cdrpipe.cdrs ENGINE = Distributed(cdrpipe, cdrpipe, cdrs, rand());

ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe ADD COLUMN stored_partition UInt32 DEFAULT 0;

DROP TABLE IF EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe;

CREATE TABLE IF NOT EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe AS cdrpipe.cdrs ENGINE = Distributed(cdrpipe, cdrpipe, cdrs, rand());

ALTER TABLE cdrpipe.cdrs ON CLUSTER cdrpipe ADD COLUMN stored_offset UInt64 DEFAULT 0;

DROP TABLE IF EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe;

CREATE TABLE IF NOT EXISTS cdrpipe.cdrs_all ON CLUSTER cdrpipe AS cdrpipe.cdrs ENGINE = Distributed(cdrpipe, cdrpipe, cdrs, rand());

CREATE MATERIALIZED VIEW IF NOT EXISTS cdrpipe.cdrs_stored ON CLUSTER cdrpipe
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/cdrs_stored', '{replica}', max_offset) ORDER BY (topic, partition)
AS SELECT stored_topic AS topic, stored_partition AS partition, max(stored_offset) AS max_offset
FROM cdrpipe.cdrs GROUP BY stored_topic, stored_partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS cdrpipe.rejects_stored ON CLUSTER cdrpipe
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/rejects_stored', '{replica}', max_offset) ORDER BY (topic, partition)
AS SELECT topic, kafka_partition AS partition, max(kafka_offset) AS max_offset
FROM cdrpipe.cdr_rejects GROUP BY topic, kafka_partition;

CREATE TABLE IF NOT EXISTS cdrpipe.flags ON CLUSTER cdrpipe
(
    number       String,
    detector     String,
    window_start DateTime,
    window_end   DateTime,
    score        Float64,
    value        Float64,
    evidence     String,
    flagged_at   DateTime,
    version      UInt8,
    withdrawn    UInt8
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/flags', '{replica}', version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (number, detector, window_start);

CREATE TABLE IF NOT EXISTS cdrpipe.flags_all ON CLUSTER cdrpipe AS cdrpipe.flags ENGINE = Distributed(cdrpipe, cdrpipe, flags, rand());

INSERT INTO cdrpipe.flags (number, detector, window_start, window_end, score, value, evidence, flagged_at, version, withdrawn)
SELECT number, detector, window_start, window_end, score, value, evidence, window_start, 1, 0 FROM cdrpipe.flagged_numbers;

DROP TABLE IF EXISTS cdrpipe.flagged_numbers ON CLUSTER cdrpipe;

DROP TABLE IF EXISTS cdrpipe.flagged_numbers_all ON CLUSTER cdrpipe;

CREATE TABLE IF NOT EXISTS cdrpipe.window_stats ON CLUSTER cdrpipe
(
    caller           String,
    window_start     DateTime,
    window_end       DateTime,
    calls            UInt32,
    answered         UInt32,
    distinct_callees UInt32,
    short_calls      UInt32,
    avg_talk         Float64,
    sequential_score Float64,
    updated_at       DateTime
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/window_stats', '{replica}', calls)
PARTITION BY toYYYYMM(window_start)
ORDER BY (caller, window_start);

CREATE TABLE IF NOT EXISTS cdrpipe.window_stats_all ON CLUSTER cdrpipe AS cdrpipe.window_stats ENGINE = Distributed(cdrpipe, cdrpipe, window_stats, rand());

INSERT INTO cdrpipe.window_stats (caller, window_start, window_end, calls, answered, distinct_callees, short_calls, avg_talk, sequential_score, updated_at)
SELECT caller, window_start, window_end, calls, answered, distinct_callees, short_calls, avg_talk, sequential_score, window_end FROM cdrpipe.caller_stats;

DROP TABLE IF EXISTS cdrpipe.caller_stats ON CLUSTER cdrpipe;

DROP TABLE IF EXISTS cdrpipe.caller_stats_all ON CLUSTER cdrpipe;

-- 0007_campaigns
CREATE TABLE IF NOT EXISTS cdrpipe.flagged_trunks ON CLUSTER cdrpipe
(
    trunk_id     String,
    detector     String,
    window_start DateTime,
    window_end   DateTime,
    score        Float64,
    value        Float64,
    evidence     String,
    numbers      Array(String)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/flagged_trunks', '{replica}')
PARTITION BY toYYYYMM(window_start)
ORDER BY (trunk_id, detector, window_start);

CREATE TABLE IF NOT EXISTS cdrpipe.flagged_trunks_all ON CLUSTER cdrpipe AS cdrpipe.flagged_trunks ENGINE = Distributed(cdrpipe, cdrpipe, flagged_trunks, rand());

CREATE TABLE IF NOT EXISTS cdrpipe.range_flags ON CLUSTER cdrpipe
(
    prefix       String,
    trunk_id     String,
    switch_id    String,
    detector     String,
    window_start DateTime,
    window_end   DateTime,
    score        Float64,
    value        Float64,
    evidence     String,
    numbers      Array(String)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/range_flags', '{replica}')
PARTITION BY toYYYYMM(window_start)
ORDER BY (prefix, trunk_id, switch_id, detector, window_start);

CREATE TABLE IF NOT EXISTS cdrpipe.range_flags_all ON CLUSTER cdrpipe AS cdrpipe.range_flags ENGINE = Distributed(cdrpipe, cdrpipe, range_flags, rand());

-- 0008_days
CREATE TABLE IF NOT EXISTS cdrpipe.day_windows ON CLUSTER cdrpipe
(
    caller       String,
    day_start    DateTime,
    day_end      DateTime,
    window_start DateTime,
    calls        UInt32,
    answered     UInt32,
    short_calls  UInt32,
    talk         Float64,
    callees      String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cdrpipe/day_windows', '{replica}', calls)
PARTITION BY toYYYYMM(day_start)
ORDER BY (caller, day_start, window_start);

CREATE TABLE IF NOT EXISTS cdrpipe.day_windows_all ON CLUSTER cdrpipe AS cdrpipe.day_windows ENGINE = Distributed(cdrpipe, cdrpipe, day_windows, rand());

