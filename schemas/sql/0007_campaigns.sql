-- cdrpipe tables, version 7: campaigns that rotate numbers. The volume
-- traits run over trunks and over blocks of consecutive numbers, and each
-- closed window's traits are written once (a replay writes the same rows).

-- Trunks whose traits together reach the blocking risk, one row per trait
-- and window, for the carrier's management of voice lines. numbers lists
-- the calling numbers the trunk presented in the window.
CREATE TABLE IF NOT EXISTS {db}.flagged_trunks
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(window_start)
ORDER BY (trunk_id, detector, window_start);

-- Traits of number blocks: the numbers sharing prefix (E.164 with '+')
-- that called through one trunk (or one switch, when CDRs name no trunk).
-- The views range_verdicts and blocklist_ranges weigh them under the same
-- rules, allowlist, TTL and audit as numbers' flags.
CREATE TABLE IF NOT EXISTS {db}.range_flags
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
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(window_start)
ORDER BY (prefix, trunk_id, switch_id, detector, window_start);
