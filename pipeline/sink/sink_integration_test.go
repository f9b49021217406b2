package sink_test

import (
	"context"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestMigrateAndWriteIdempotent applies the schema twice and writes the
// same batch twice: the second migration applies nothing, and FINAL
// reads see every row once.
func TestMigrateAndWriteIdempotent(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_sink")
	if n, err := s.Migrate(ctx, cfg.Verdict()); err != nil || n == 0 {
		t.Fatalf("first migrate: %d applied, %v", n, err)
	}
	if n, err := s.Migrate(ctx, cfg.Verdict()); err != nil || n != 0 {
		t.Fatalf("second migrate: %d applied, %v; want 0", n, err)
	}

	at := time.Date(2026, 11, 29, 7, 0, 3, 250e6, time.UTC)
	var b sink.Batch
	for i, key := range []string{"a", "b", "c"} {
		c := schemas.CDR{CallID: key, Key: key, Caller: "+8613900000001", Callee: "+8613800000001",
			StartTime: at.Add(time.Duration(i) * time.Second), Duration: 4, Disposition: schemas.Answered, Cause: 16, CellID: "x"}
		if i == 0 {
			c.AnswerTime, c.EndTime = at.Add(2*time.Second), at.Add(6*time.Second)
		}
		b.AddCDR(&c, "cdrs", 1, int64(i))
	}
	b.AddFlag(&schemas.Flag{Number: "+8613900000001", Detector: "fan_out", WindowStart: at.Truncate(time.Hour),
		WindowEnd: at.Truncate(time.Hour).Add(time.Hour), Score: 0.7, Value: 120, Evidence: "120 distinct callees", FlaggedAt: at})
	b.AddStats(&schemas.CallerStats{Caller: "+8613900000001", WindowStart: at.Truncate(time.Hour),
		WindowEnd: at.Truncate(time.Hour).Add(time.Hour), Calls: 3, Answered: 3, DistinctCallees: 1, AvgTalk: 4, UpdatedAt: at})
	b.AddReject(&schemas.Reject{Origin: schemas.Origin{Topic: "cdrs", Partition: 1, Offset: 9, Received: at}, Raw: "{broken", Error: "broken JSON"})
	for range 2 {
		if err := s.Write(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	db := cfg.ClickHouse.Database
	conn := s.Conn()
	// One mild trait gives a verdict but does not block.
	for table, want := range map[string]uint64{"cdrs": 3, "flagged_numbers": 1, "caller_stats": 1, "cdr_rejects": 1, "verdicts": 1, "blocklist": 0} {
		final := " FINAL"
		if table == "blocklist" || table == "verdicts" {
			final = ""
		}
		if got := e2e.Count(t, conn, "SELECT count() FROM "+db+"."+table+final); got != want {
			t.Errorf("%s: %d rows, want %d", table, got, want)
		}
	}
	var disp string
	var ms uint16
	var answer *time.Time
	if err := conn.QueryRow(ctx, "SELECT toString(disposition), start_ms, answer_time FROM "+db+".cdrs FINAL WHERE call_key = 'a'").Scan(&disp, &ms, &answer); err != nil {
		t.Fatal(err)
	}
	if disp != "answered" || ms != 250 || answer == nil || !answer.Equal(at.Add(2*time.Second).Truncate(time.Second)) {
		t.Errorf("read back disposition %q, start_ms %d, answer_time %v", disp, ms, answer)
	}
}

// TestMigrateUsesWhatTheServerOffers: a current release gets the storage
// of migration 4 (dictionary-encoded switch ids, insert deduplication);
// 18.16 keeps plain strings and has migration 4 waiting, unrecorded.
func TestMigrateUsesWhatTheServerOffers(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_features")
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	ver, err := s.Conn().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	db := cfg.ClickHouse.Database
	var typ string
	if err := s.Conn().QueryRow(ctx, "SELECT type FROM system.columns WHERE database = '"+db+"' AND table = 'cdrs' AND name = 'switch_id'").Scan(&typ); err != nil {
		t.Fatal(err)
	}
	recorded := e2e.Count(t, s.Conn(), "SELECT count() FROM "+db+".schema_migrations WHERE version = 4")
	current := ver.Version.Major > 21 || ver.Version.Major == 21 && ver.Version.Minor >= 8
	t.Logf("ClickHouse %d.%d: cdrs.switch_id %s, migration 4 recorded %d", ver.Version.Major, ver.Version.Minor, typ, recorded)
	switch {
	case current && (typ != "LowCardinality(String)" || recorded != 1):
		t.Errorf("current release: switch_id %s, migration 4 recorded %d times; want LowCardinality(String), once", typ, recorded)
	case !current && (typ != "String" || recorded != 0):
		t.Errorf("ClickHouse %d.%d: switch_id %s, migration 4 recorded %d times; want String, not recorded", ver.Version.Major, ver.Version.Minor, typ, recorded)
	}
	// Whatever the storage, the pipeline's batches go in.
	var b sink.Batch
	c := schemas.CDR{CallID: "x", Key: "SW/x", Caller: "+8613900000001", Callee: "+8613800000001", SwitchID: "SW",
		StartTime: time.Date(2026, 11, 29, 7, 0, 3, 0, time.UTC), Disposition: schemas.Answered, Duration: 3}
	b.AddCDR(&c, "cdrs", 0, 1)
	b.AddReject(&schemas.Reject{Origin: schemas.Origin{Topic: "t", Offset: 2, Received: c.StartTime}, Raw: "{", Reason: "broken_json", Error: "broken"})
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if n := e2e.Count(t, s.Conn(), "SELECT count() FROM "+db+".cdrs WHERE switch_id = 'SW'"); n != 1 {
		t.Errorf("%d rows of switch SW", n)
	}
}
