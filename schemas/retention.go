package schemas

import (
	"fmt"
	"time"
)

// Grain is how long one partition of a table spans.
type Grain int

// The partitionings cdrpipe's tables use.
const (
	// Unpartitioned tables keep everything in one partition.
	Unpartitioned Grain = iota
	// Daily tables are partitioned by toYYYYMMDD of their time column.
	Daily
	// Monthly tables are partitioned by toYYYYMM of their time column.
	Monthly
)

// Expiry says how the rows of one table age.
type Expiry struct {
	Table string
	// Column is the DateTime a row's age is counted from: the one the
	// table is partitioned by, so whole partitions can go at once.
	Column string
	Grain  Grain
}

// Expiries lists every table that retention ages. The allowlist and
// schema_migrations are configuration, not records; blocklist_changes is
// the record of every blocking decision, and manual blocks and releases
// live in it (the views read them): all three are kept.
var Expiries = []Expiry{
	{Table: "cdrs", Column: "start_time", Grain: Daily},
	{Table: "cdr_rejects", Column: "received_at", Grain: Monthly},
	{Table: "quarantine", Column: "quarantined_at", Grain: Unpartitioned},
	{Table: "window_stats", Column: "window_start", Grain: Monthly},
	{Table: "flags", Column: "window_start", Grain: Monthly},
	{Table: "flagged_trunks", Column: "window_start", Grain: Monthly},
	{Table: "range_flags", Column: "window_start", Grain: Monthly},
	{Table: "day_windows", Column: "day_start", Grain: Monthly},
}

// DeviceColumns are the cdrs columns that say which handset and SIM made
// a call and where it was. They are blanked sooner than the rest of the
// row: detection never reads them back, and an investigation of a recent
// call still has them.
var DeviceColumns = []string{"imsi", "imei", "cell_id"}

// DeviceColumnsFrom is the column the age of DeviceColumns is counted
// from.
const DeviceColumnsFrom = "start_time"

// Retention is how long cdrpipe keeps what it stores.
type Retention struct {
	// Tables maps a table of Expiries to how long its rows are kept;
	// zero, or a table not named, keeps them for good.
	Tables map[string]time.Duration
	// DeviceIDs is how long cdrs keeps DeviceColumns filled; zero keeps
	// them as long as the row.
	DeviceIDs time.Duration
}

// Keep returns how long table keeps its rows; zero keeps them for good.
func (r Retention) Keep(table string) time.Duration { return r.Tables[table] }

// DeviceTTL returns how long DeviceColumns stay filled, or zero when the
// row itself goes no later (or the setting is off).
func (r Retention) DeviceTTL() time.Duration {
	rows := r.Keep("cdrs")
	if r.DeviceIDs <= 0 || rows > 0 && r.DeviceIDs >= rows {
		return 0
	}
	return r.DeviceIDs
}

// TTLRelease is the oldest ClickHouse release (major, minor) on which
// cdrpipe leaves expiry to the server's own TTL. TTL came in 19.6, but
// removing a column's TTL and the insert-time behaviour cdrpipe relies
// on are later; 21.8 is the line the other current-release migrations
// draw too.
var TTLRelease = [2]int{21, 8}

// HasTTL reports whether ClickHouse major.minor expires rows itself.
func HasTTL(major, minor int) bool {
	return Migration{Requires: TTLRelease}.RunsOn(major, minor)
}

// TTLExpr is the TTL expression that keeps rows for keep after column,
// written as ClickHouse prints it back in SHOW CREATE TABLE, so that the
// one in force can be compared with the one wanted. keep is a whole
// number of hours (config checks it); zero gives "", no TTL.
func TTLExpr(column string, keep time.Duration) string {
	switch {
	case keep <= 0:
		return ""
	case keep%(24*time.Hour) == 0:
		return fmt.Sprintf("%s + toIntervalDay(%d)", column, keep/(24*time.Hour))
	default:
		return fmt.Sprintf("%s + toIntervalHour(%d)", column, keep/time.Hour)
	}
}
