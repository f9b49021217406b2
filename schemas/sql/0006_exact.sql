-- cdrpipe tables, version 6: exact after any restart. Only syntax
-- ClickHouse 18.16 and current releases both accept.

-- The topic a call was read from, beside its partition and offset.
ALTER TABLE {db}.cdrs ADD COLUMN kafka_topic String DEFAULT '';
-- The message whose processing stored the row: the one read from the
-- input (one stage), or the internal one that carried the call to the
-- instance that counts its caller (kafka.repartition).
ALTER TABLE {db}.cdrs ADD COLUMN stored_topic String DEFAULT '';
ALTER TABLE {db}.cdrs ADD COLUMN stored_partition UInt32 DEFAULT 0;
ALTER TABLE {db}.cdrs ADD COLUMN stored_offset UInt64 DEFAULT 0;

-- The highest offset stored per topic and partition, kept by ClickHouse as
-- part of every insert: after a restart the pipeline re-reads messages
-- from its last commit to rebuild its windows, and stores none of those
-- already stored, so a plain SELECT sees each call and each reject once.
-- Read with max(max_offset) ... GROUP BY topic, partition.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.cdrs_stored
ENGINE = ReplacingMergeTree(max_offset) ORDER BY (topic, partition)
AS SELECT stored_topic AS topic, stored_partition AS partition, max(stored_offset) AS max_offset
FROM {db}.cdrs GROUP BY stored_topic, stored_partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rejects_stored
ENGINE = ReplacingMergeTree(max_offset) ORDER BY (topic, partition)
AS SELECT topic, kafka_partition AS partition, max(kafka_offset) AS max_offset
FROM {db}.cdr_rejects GROUP BY topic, kafka_partition;

-- Flags keep versions by design: one written when a threshold is crossed,
-- one with the whole window when it closes (version 1), which must win
-- even when a replay writes the first one again afterwards; the closing
-- row withdraws the flag (withdrawn = 1) when the whole window no longer
-- shows the trait. The table becomes flags, with a version;
-- flagged_numbers becomes a view of one row per standing flag (created
-- with the other views).
CREATE TABLE IF NOT EXISTS {db}.flags
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
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (number, detector, window_start);

INSERT INTO {db}.flags (number, detector, window_start, window_end, score, value, evidence, flagged_at, version, withdrawn)
SELECT number, detector, window_start, window_end, score, value, evidence, window_start, 1, 0 FROM {db}.flagged_numbers;

DROP TABLE IF EXISTS {db}.flagged_numbers;
-- And the Distributed table over it, on a cluster (clickhouse.cluster).
DROP TABLE IF EXISTS {db}.flagged_numbers_all;

-- Caller stats keep versions too (a provisional row at the end of a
-- bounded run, the full one when the window closes; calls is the
-- version): the table becomes window_stats, and caller_stats a view of
-- one row per caller and window.
CREATE TABLE IF NOT EXISTS {db}.window_stats
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
ENGINE = ReplacingMergeTree(calls)
PARTITION BY toYYYYMM(window_start)
ORDER BY (caller, window_start);

INSERT INTO {db}.window_stats (caller, window_start, window_end, calls, answered, distinct_callees, short_calls, avg_talk, sequential_score, updated_at)
SELECT caller, window_start, window_end, calls, answered, distinct_callees, short_calls, avg_talk, sequential_score, window_end FROM {db}.caller_stats;

DROP TABLE IF EXISTS {db}.caller_stats;
DROP TABLE IF EXISTS {db}.caller_stats_all;
