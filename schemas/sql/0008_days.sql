-- cdrpipe tables, version 8: the day-long window of the low-and-slow
-- traits. The engine keeps each busy caller's day in memory; every hourly
-- window that adds to it is also written here, so a restarted run rebuilds
-- the day without reading a day of input again. callees is a HyperLogLog
-- sketch (no numbers in clear). calls is the version, as in window_stats:
-- a window closed again after a restart with part of its calls re-read
-- does not replace the whole one.
CREATE TABLE IF NOT EXISTS {db}.day_windows
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
ENGINE = ReplacingMergeTree(calls)
PARTITION BY toYYYYMM(day_start)
ORDER BY (caller, day_start, window_start);
