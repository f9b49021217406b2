-- cdrpipe tables, version 2: the allowlist and the audit trail of the
-- blocklist. The verdict itself is computed by views (views.go), which
-- carry the rules from the configuration and are re-created at every
-- migration.

-- Numbers or prefixes that never reach the blocklist; their flags are
-- still recorded. A later row for the same entry replaces the earlier one;
-- removing an entry writes it again with expires_at in the past.
CREATE TABLE IF NOT EXISTS {db}.allowlist
(
    entry      String,
    is_prefix  UInt8,
    reason     String,
    added_by   String,
    added_at   DateTime,
    expires_at DateTime
)
ENGINE = ReplacingMergeTree(added_at)
ORDER BY entry;

-- Every change to the blocklist, automatic or by hand: who, when, why.
-- The latest manual 'add' keeps a number blocked until a manual 'remove';
-- a manual 'remove' also discards the flags written before it.
CREATE TABLE IF NOT EXISTS {db}.blocklist_changes
(
    number  String,
    action  Enum8('add' = 1, 'remove' = 2),
    source  Enum8('auto' = 1, 'manual' = 2),
    actor   String,
    reason  String,
    score   Float64,
    at      DateTime
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(at)
ORDER BY (number, at);
