package sink

import (
	"slices"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// cdrsCreate is how ClickHouse 26.9 prints a cdrs table with TTLs (cut).
const cdrsCreate = "CREATE TABLE db.cdrs (`call_key` String, `imsi` String TTL start_time + toIntervalDay(30), " +
	"`imei` String, `cell_id` String TTL start_time + toIntervalHour(36), `withheld` UInt8 DEFAULT 0) " +
	"ENGINE = ReplacingMergeTree PARTITION BY toYYYYMMDD(start_time) ORDER BY (caller, start_time, call_key) " +
	"TTL start_time + toIntervalDay(180) SETTINGS ttl_only_drop_parts = 1, index_granularity = 8192"

// TestTTLsInForce reads table and column TTLs back from CREATE statements.
func TestTTLsInForce(t *testing.T) {
	if got := tableTTL(cdrsCreate); got != "start_time + toIntervalDay(180)" {
		t.Errorf("tableTTL = %q", got)
	}
	if got := tableTTL("CREATE TABLE db.q (`a` String TTL a + toIntervalDay(1)) ENGINE = ReplacingMergeTree ORDER BY a SETTINGS index_granularity = 8192"); got != "" {
		t.Errorf("tableTTL of a table with only a column TTL = %q", got)
	}
	for col, want := range map[string]string{"imsi": "start_time + toIntervalDay(30)", "imei": "", "cell_id": "start_time + toIntervalHour(36)", "withheld": ""} {
		if got, found := columnTTL(cdrsCreate, col); got != want || !found {
			t.Errorf("columnTTL(%s) = %q, %v; want %q", col, got, found, want)
		}
	}
	if _, found := columnTTL(cdrsCreate, "absent"); found {
		t.Error("columnTTL found a column that is not there")
	}
}

// TestRetentionChanges alters only what differs from what is in force.
func TestRetentionChanges(t *testing.T) {
	creates := map[string]string{"cdrs": cdrsCreate,
		"cdr_rejects": "CREATE TABLE db.cdr_rejects (`received_at` DateTime) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(received_at) ORDER BY x SETTINGS index_granularity = 8192"}
	r := schemas.Retention{Tables: map[string]time.Duration{"cdrs": 180 * 24 * time.Hour, "cdr_rejects": 30 * 24 * time.Hour}, DeviceIDs: 30 * 24 * time.Hour}
	want := []string{
		"ALTER TABLE db.cdr_rejects MODIFY TTL received_at + toIntervalDay(30)",
		"ALTER TABLE db.cdrs MODIFY COLUMN imei String TTL start_time + toIntervalDay(30)",
		"ALTER TABLE db.cdrs MODIFY COLUMN cell_id String TTL start_time + toIntervalDay(30)",
	}
	if got := retentionChanges("db", r, creates); !slices.Equal(got, want) {
		t.Errorf("retentionChanges =\n%q\nwant\n%q", got, want)
	}
	// Device ids kept as long as the call need no TTL of their own.
	r.DeviceIDs = 200 * 24 * time.Hour
	r.Tables["cdrs"] = 0
	want = []string{
		"ALTER TABLE db.cdrs REMOVE TTL",
		"ALTER TABLE db.cdr_rejects MODIFY TTL received_at + toIntervalDay(30)",
		"ALTER TABLE db.cdrs MODIFY COLUMN imsi String TTL start_time + toIntervalDay(200)",
		"ALTER TABLE db.cdrs MODIFY COLUMN imei String TTL start_time + toIntervalDay(200)",
		"ALTER TABLE db.cdrs MODIFY COLUMN cell_id String TTL start_time + toIntervalDay(200)",
	}
	if got := retentionChanges("db", r, creates); !slices.Equal(got, want) {
		t.Errorf("retentionChanges, calls kept for good =\n%q\nwant\n%q", got, want)
	}
	r.Tables["cdrs"] = 100 * 24 * time.Hour
	want = []string{
		"ALTER TABLE db.cdrs MODIFY TTL start_time + toIntervalDay(100)",
		"ALTER TABLE db.cdr_rejects MODIFY TTL received_at + toIntervalDay(30)",
		"ALTER TABLE db.cdrs MODIFY COLUMN imsi REMOVE TTL",
		"ALTER TABLE db.cdrs MODIFY COLUMN cell_id REMOVE TTL",
	}
	if got := retentionChanges("db", r, creates); !slices.Equal(got, want) {
		t.Errorf("retentionChanges, device ids as long as calls =\n%q\nwant\n%q", got, want)
	}
}
