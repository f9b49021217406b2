-- cdrpipe tables, version 1. Only syntax that ClickHouse 18.16 and current
-- releases both accept: no TTL, CODEC, LowCardinality or DateTime64.
-- Every table is keyed by something derived from the input, so a replay
-- after a crash re-inserts the same keys and ReplacingMergeTree collapses
-- them; read with FINAL where exact counts matter.

-- Every valid CDR, normalised, one row per call after merges.
CREATE TABLE IF NOT EXISTS {db}.cdrs
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(start_time)
ORDER BY (caller, start_time, call_key);

-- Per caller and window, for callers above stats.min_calls. calls is the
-- version: a fuller view of a window replaces a partial one.
CREATE TABLE IF NOT EXISTS {db}.caller_stats
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

-- One row per (number, detector, window).
CREATE TABLE IF NOT EXISTS {db}.flagged_numbers
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(window_start)
ORDER BY (number, detector, window_start);

-- Messages that could not be decoded or validated, kept for inspection.
CREATE TABLE IF NOT EXISTS {db}.cdr_rejects
(
    topic           String,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    received_at     DateTime,
    error           String,
    raw             String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(received_at)
ORDER BY (topic, kafka_partition, kafka_offset);
