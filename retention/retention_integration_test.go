package retention_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/retention"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// now is the run's clock: the job counts back from it, so what it removes
// does not depend on the day the test runs.
var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func day(d int, hour int) time.Time { return time.Date(2026, 11, d, hour, 0, 0, 0, time.UTC) }

// policy keeps calls 10 days (device ids 2), rejects and quarantined rows
// 5, caller stats 30 and flags 60.
var policy = schemas.Retention{
	Tables: map[string]time.Duration{"cdrs": 10 * 24 * time.Hour, "cdr_rejects": 5 * 24 * time.Hour,
		"quarantine": 5 * 24 * time.Hour, "window_stats": 30 * 24 * time.Hour, "flags": 60 * 24 * time.Hour},
	DeviceIDs: 2 * 24 * time.Hour,
}

// TestRetentionJob fills every aged table on both sides of its cutoff and
// runs the job: wholly expired partitions go on every release; on a
// server without TTL the older rows of partial partitions go too (not
// cdrs, whose partial day waits for the next day's drop) and old device
// ids are blanked; a dry run changes nothing; a second run has nothing
// left to do.
func TestRetentionJob(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_retention")
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	db, conn := cfg.ClickHouse.Database, s.Conn()
	fill(t, s, db)
	ver, err := conn.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	rowLevel := !schemas.HasTTL(int(ver.Version.Major), int(ver.Version.Minor))

	before := snapshot(t, conn, db)
	dry, err := retention.Run(ctx, conn, db, policy, retention.Options{Now: now, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, conn, db); !slices.Equal(before, after) {
		t.Fatalf("a dry run changed the tables:\n%v\n%v", before, after)
	}
	acts, err := retention.Run(ctx, conn, db, policy, retention.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(describe(dry), describe(acts)) {
		t.Errorf("dry run said\n%v\nthe run did\n%v", describe(dry), describe(acts))
	}
	want := []string{
		"cdrs: drop partition 20261110 (1 rows)",
		"cdr_rejects: drop partition 202610 (1 rows)",
		"window_stats: drop partition 202609 (1 rows)",
		"flags: drop partition 202609 (1 rows)",
	}
	if rowLevel {
		want = []string{
			"cdrs: drop partition 20261110 (1 rows)",
			"cdr_rejects: drop partition 202610 (1 rows)",
			"cdr_rejects: delete rows (1 rows)",
			"quarantine: delete rows (1 rows)",
			"window_stats: drop partition 202609 (1 rows)",
			"window_stats: delete rows (1 rows)",
			"flags: drop partition 202609 (1 rows)",
			"cdrs: blank device ids (3 rows)",
		}
	}
	if got := describe(acts); !slices.Equal(got, want) {
		t.Fatalf("actions on ClickHouse %d.%d:\n got %q\nwant %q", ver.Version.Major, ver.Version.Minor, got, want)
	}
	waitMutations(t, conn, db)

	kept := map[string][]string{
		"cdrs":         {"2026-11-19 06:00", "2026-11-19 18:00", "2026-11-26 10:00", "2026-11-28 10:00"},
		"cdr_rejects":  {"2026-11-20 10:00", "2026-11-28 10:00"},
		"quarantine":   {"2026-11-20 10:00", "2026-11-28 10:00"},
		"window_stats": {"2026-10-20 10:00", "2026-10-31 10:00"},
		"flags":        {"2026-10-05 10:00"},
	}
	devices := "x x x x" // every call keeps its IMSI: TTL blanks them
	if rowLevel {
		kept["cdr_rejects"] = kept["cdr_rejects"][1:]
		kept["quarantine"] = kept["quarantine"][1:]
		kept["window_stats"] = kept["window_stats"][1:]
		devices = "   x" // only the call of 11-28 keeps it
	}
	for _, e := range schemas.Expiries {
		if _, ok := kept[e.Table]; !ok {
			continue
		}
		got := e2e.Column(t, conn, "SELECT substring(toString("+e.Column+", 'UTC'), 1, 16) FROM "+db+"."+e.Table+" ORDER BY "+e.Column)
		if !slices.Equal(got, kept[e.Table]) {
			t.Errorf("%s keeps %q, want %q", e.Table, got, kept[e.Table])
		}
	}
	if got := strings.Join(e2e.Column(t, conn, "SELECT imsi FROM "+db+".cdrs ORDER BY start_time"), " "); got != devices {
		t.Errorf("imsi by call: %q, want %q", got, devices)
	}

	again, err := retention.Run(ctx, conn, db, policy, retention.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Errorf("a second run did %v, want nothing", describe(again))
	}
}

// fill writes rows on both sides of each table's cutoff.
func fill(t *testing.T, s *sink.Sink, db string) {
	t.Helper()
	var b sink.Batch
	for i, at := range []time.Time{day(10, 10), day(19, 6), day(19, 18), day(26, 10), day(28, 10)} {
		c := schemas.CDR{Key: "k" + at.Format("0215"), CallID: "c", Caller: "+8613900000001", Callee: "+8613800000001",
			StartTime: at, Duration: 30, Disposition: schemas.Answered, IMSI: "x", IMEI: "y", CellID: "z"}
		b.AddCDR(&c, "cdrs", 0, int64(i))
	}
	for i, at := range []time.Time{time.Date(2026, 10, 15, 10, 0, 0, 0, time.UTC), day(20, 10), day(28, 10)} {
		b.AddReject(&schemas.Reject{Origin: schemas.Origin{Topic: "cdrs", Offset: int64(i), Received: at}, Raw: "{", Reason: "broken_json"})
	}
	for _, at := range []time.Time{time.Date(2026, 9, 15, 10, 0, 0, 0, time.UTC), time.Date(2026, 10, 20, 10, 0, 0, 0, time.UTC), time.Date(2026, 10, 31, 10, 0, 0, 0, time.UTC)} {
		b.AddStats(&schemas.CallerStats{Caller: "+8613900000001", WindowStart: at, WindowEnd: at.Add(time.Hour), Calls: 12, UpdatedAt: at})
	}
	for _, at := range []time.Time{time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 10, 5, 10, 0, 0, 0, time.UTC)} {
		b.AddFlag(&schemas.Flag{Number: "+8613900000001", Detector: "fan_out", WindowStart: at, WindowEnd: at.Add(time.Hour), FlaggedAt: at})
	}
	if err := s.Write(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	q, err := s.Conn().PrepareBatch(context.Background(), "INSERT INTO "+db+".quarantine (table_name, row_key, reason, error, row, kafka_partition, kafka_offset, quarantined_at)")
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Time{day(20, 10), day(28, 10)} {
		if err := q.Append("cdrs", "k"+at.Format("0215"), "bad_value", "refused", "{}", uint32(0), uint64(i), at); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Send(); err != nil {
		t.Fatal(err)
	}
}

// describe drops the times from actions, which depend on the server's
// partitions only through what is already checked.
func describe(acts []retention.Action) []string {
	var out []string
	for _, a := range acts {
		s := a.Table + ": " + string(a.Kind)
		if a.Partition != "" {
			s += " " + a.Partition
		}
		out = append(out, s+" ("+strconv.FormatUint(a.Rows, 10)+" rows)")
	}
	return out
}

// snapshot is every row count and every device id, to see that nothing
// changed.
func snapshot(t *testing.T, conn driver.Conn, db string) []string {
	var out []string
	for _, e := range schemas.Expiries {
		out = append(out, e2e.Column(t, conn, "SELECT toString(count()) FROM "+db+"."+e.Table)...)
	}
	return append(out, e2e.Column(t, conn, "SELECT imsi FROM "+db+".cdrs ORDER BY start_time")...)
}

// waitMutations waits until the database's mutations are done.
func waitMutations(t *testing.T, conn driver.Conn, db string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if e2e.Count(t, conn, "SELECT count() FROM system.mutations WHERE database = '"+db+"' AND is_done = 0") == 0 {
			return
		}
	}
	t.Fatal("mutations still running after 30 s")
}
