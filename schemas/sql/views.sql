-- Views are re-created at every migration because they carry settings
-- (blocklist.ttl) that may change between runs.

DROP TABLE IF EXISTS {db}.blocklist;

-- One row per number flagged within blocklist.ttl.
CREATE VIEW {db}.blocklist AS
SELECT
    number,
    groupUniqArray(detector) AS detectors,
    min(flagged_at)          AS first_flagged,
    max(flagged_at)          AS last_flagged,
    max(score)               AS score
FROM {db}.flagged_numbers
WHERE flagged_at >= now() - {ttl_seconds}
GROUP BY number;
