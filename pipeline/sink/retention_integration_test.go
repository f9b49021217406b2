package sink_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestRetentionByTTL sets retention on the server: a current ClickHouse
// gets one TTL per table and one on the device columns, set once,
// changed when the configuration changes and removed at zero, and then
// expires rows and device ids itself; 18.16, which has no TTL, is left
// alone.
func TestRetentionByTTL(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_ttl")
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	db, conn := cfg.ClickHouse.Database, s.Conn()
	const d = 24 * time.Hour
	policy := schemas.Retention{Tables: map[string]time.Duration{"cdrs": 10 * d, "cdr_rejects": 36 * time.Hour,
		"quarantine": 5 * d, "window_stats": 30 * d, "flags": 60 * d}, DeviceIDs: 2 * d}
	stmts, ttl, err := s.SetRetention(ctx, policy)
	if err != nil {
		t.Fatal(err)
	}
	create := func(table string) string {
		t.Helper()
		var q string
		if err := conn.QueryRow(ctx, "SELECT create_table_query FROM system.tables WHERE database = '"+db+"' AND name = '"+table+"'").Scan(&q); err != nil {
			t.Fatal(err)
		}
		return q
	}
	ver, _ := conn.ServerVersion()
	if !schemas.HasTTL(int(ver.Version.Major), int(ver.Version.Minor)) {
		if ttl || len(stmts) != 0 || strings.Contains(create("cdrs"), " TTL ") {
			t.Fatalf("ClickHouse %s: ttl %v, statements %q; want the server left alone", ver.Version, ttl, stmts)
		}
		return
	}
	if !ttl || len(stmts) != 8 {
		t.Fatalf("first SetRetention: ttl %v, %d statements %q; want 5 tables and 3 columns", ttl, len(stmts), stmts)
	}
	for table, want := range map[string]string{
		"cdrs":         "TTL start_time + toIntervalDay(10)",
		"cdr_rejects":  "TTL received_at + toIntervalHour(36)",
		"quarantine":   "TTL quarantined_at + toIntervalDay(5)",
		"window_stats": "TTL window_start + toIntervalDay(30)",
		"flags":        "TTL window_start + toIntervalDay(60)",
	} {
		if got := create(table); !strings.Contains(got, want) {
			t.Errorf("%s: %s\nwant %s", table, got, want)
		}
	}
	if got := create("cdrs"); !strings.Contains(got, "`imei` String TTL start_time + toIntervalDay(2)") || strings.Contains(create("blocklist_changes"), " TTL ") {
		t.Errorf("cdrs: %s\nwant a TTL of 2 days on imei, none on blocklist_changes", got)
	}
	if stmts, _, err := s.SetRetention(ctx, policy); err != nil || len(stmts) != 0 {
		t.Fatalf("second SetRetention ran %q (%v); want nothing", stmts, err)
	}

	// The server expires by itself: a call past retention goes, one past
	// the device ids' keeps the call and loses them.
	now := time.Now().UTC().Truncate(time.Second)
	var b sink.Batch
	for i, age := range []time.Duration{20 * d, 3 * d, time.Hour} {
		c := schemas.CDR{Key: "k" + age.String(), CallID: "c", Caller: "+8613900000001", Callee: "+8613800000001",
			StartTime: now.Add(-age), Duration: 30, Disposition: schemas.Answered, IMSI: "x", IMEI: "y", CellID: "z"}
		b.AddCDR(&c, "cdrs", 0, int64(i))
	}
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, "OPTIMIZE TABLE "+db+".cdrs FINAL"); err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, err := conn.Query(ctx, "SELECT call_key, imsi, imei, cell_id FROM "+db+".cdrs ORDER BY start_time")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, imsi, imei, cell string
		if err := rows.Scan(&k, &imsi, &imei, &cell); err != nil {
			t.Fatal(err)
		}
		got = append(got, k+":"+imsi+imei+cell)
	}
	rows.Close()
	if want := "k72h0m0s: k1h0m0s:xyz"; strings.Join(got, " ") != want {
		t.Errorf("cdrs after a merge: %q, want %q", got, want)
	}

	// A longer retention replaces the TTL; zero removes it.
	policy.Tables["cdrs"] = 20 * d
	if stmts, _, err := s.SetRetention(ctx, policy); err != nil || len(stmts) != 1 || !strings.Contains(create("cdrs"), "TTL start_time + toIntervalDay(20)") {
		t.Fatalf("cdrs kept 20 days: ran %q (%v); table %s", stmts, err, create("cdrs"))
	}
	if stmts, _, err := s.SetRetention(ctx, schemas.Retention{}); err != nil || len(stmts) != 8 {
		t.Fatalf("no retention: ran %q (%v); want 8 removals", stmts, err)
	}
	for _, e := range schemas.Expiries {
		if q := create(e.Table); strings.Contains(q, " TTL ") {
			t.Errorf("%s keeps a TTL with no retention: %s", e.Table, q)
		}
	}
}
