package sink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/schemas"
)

const badCaller = "+8613900000666"

var day0 = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

// cdrBatch buffers n CDRs over three days, those with bad(i) from
// badCaller, plus two flags, a stats row and two rejects.
func cdrBatch(n int, bad func(int) bool) *sink.Batch {
	var b sink.Batch
	for i := range n {
		c := schemas.CDR{Key: fmt.Sprintf("k%05d", i), CallID: fmt.Sprintf("k%05d", i), Caller: "+8613900000001",
			Callee: "+8613800000001", StartTime: day0.Add(time.Duration(i%3)*24*time.Hour + time.Duration(i)*time.Second),
			Duration: 4, Disposition: schemas.Answered, Cause: 16}
		if bad(i) {
			c.Caller = badCaller
		}
		b.AddCDR(&c, "cdrs", 1, int64(i))
	}
	for _, det := range []string{"fan_out", "short_calls"} {
		b.AddFlag(&schemas.Flag{Number: "+8613900000001", Detector: det, WindowStart: day0, WindowEnd: day0.Add(time.Hour), FlaggedAt: day0})
	}
	b.AddStats(&schemas.CallerStats{Caller: "+8613900000001", WindowStart: day0, WindowEnd: day0.Add(time.Hour), Calls: 12, UpdatedAt: day0})
	for off := range 2 {
		b.AddReject(&schemas.Reject{Origin: schemas.Origin{Topic: "cdrs", Partition: 1, Offset: int64(off), Received: day0},
			Raw: "{", Error: "broken JSON", Reason: "broken_json"})
	}
	return &b
}

// TestWriteQuarantinesRefusedRows adds to cdrs a column that throws for
// one caller, as a constraint or a schema change can, and writes a batch
// with five such rows among 3000: Write returns promptly, every other row
// is stored, the five are in the quarantine with their reason and JSON,
// and writing the batch again (a replay) quarantines them once.
func TestWriteQuarantinesRefusedRows(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_quarantine")
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	db, conn := cfg.ClickHouse.Database, s.Conn()
	if err := conn.Exec(ctx, "ALTER TABLE "+db+".cdrs ADD COLUMN guard UInt8 MATERIALIZED throwIf(caller = '"+badCaller+"')"); err != nil {
		t.Fatal(err)
	}
	const rows = 3000
	isBad := func(i int) bool { return i%600 == 17 }
	b := cdrBatch(rows, isBad)
	for replay := range 2 {
		start := time.Now()
		if err := s.Write(ctx, b); err != nil {
			t.Fatalf("write %d: %v", replay, err)
		}
		if took := time.Since(start); took > time.Minute {
			t.Errorf("write %d took %v", replay, took)
		}
		t.Logf("write %d: %v, %d splits, %d quarantined in all", replay, time.Since(start), s.Splits.Load(), s.Quarantined.Load())
	}
	for table, want := range map[string]uint64{"cdrs": rows - 5, "flagged_numbers": 2, "caller_stats": 1, "cdr_rejects": 2, "quarantine": 5} {
		if got := e2e.Count(t, conn, "SELECT count() FROM "+db+"."+table+" FINAL"); got != want {
			t.Errorf("%s: %d rows, want %d", table, got, want)
		}
	}
	if got := e2e.Count(t, conn, "SELECT count() FROM "+db+".cdrs FINAL WHERE caller = '"+badCaller+"'"); got != 0 {
		t.Errorf("%d rows of the refused caller in cdrs", got)
	}
	if s.Quarantined.Load() != 10 || s.QuarantinedRows("cdrs") != 10 {
		t.Errorf("Quarantined %d, of cdrs %d; want 10 (5 a write)", s.Quarantined.Load(), s.QuarantinedRows("cdrs"))
	}
	checkQuarantine(t, s, db, isBad)
}

// checkQuarantine reads the quarantine back: one row per refused CDR,
// under its key, with reason clickhouse_395, the error, its Kafka origin
// and the row as JSON.
func checkQuarantine(t *testing.T, s *sink.Sink, db string, isBad func(int) bool) {
	t.Helper()
	q, err := s.Conn().Query(context.Background(), "SELECT table_name, row_key, reason, error, row, kafka_partition, kafka_offset FROM "+
		db+".quarantine FINAL ORDER BY kafka_offset")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var seen int
	for q.Next() {
		var table, key, reason, msg, row string
		var partition uint32
		var offset uint64
		if err := q.Scan(&table, &key, &reason, &msg, &row, &partition, &offset); err != nil {
			t.Fatal(err)
		}
		seen++
		var fields map[string]any
		if err := json.Unmarshal([]byte(row), &fields); err != nil {
			t.Errorf("row %s: %v", key, err)
		}
		i := int(offset)
		start := day0.Add(time.Duration(i%3)*24*time.Hour + time.Duration(i)*time.Second)
		wantKey := badCaller + "|" + start.Format(time.RFC3339) + "|" + fmt.Sprintf("k%05d", i)
		if !isBad(i) || table != "cdrs" || key != wantKey || reason != "clickhouse_395" || msg == "" || partition != 1 ||
			fields["caller"] != badCaller || fields["call_key"] != fmt.Sprintf("k%05d", i) {
			t.Errorf("quarantine row: %s %q %s %q %s %d %d", table, key, reason, msg, row, partition, offset)
		}
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != 5 {
		t.Errorf("%d quarantine rows read back, want 5", seen)
	}
}

// TestWriteSpanningManyPartitions writes one batch of CDRs over 150 days,
// as a backfill or a broken clock delivers: more partitions than a
// current release takes in one insert (max_partitions_per_insert_block,
// 100). Every row is stored, none quarantined; on such a release the
// insert was split by partition to get there.
func TestWriteSpanningManyPartitions(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_partitions")
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	var b sink.Batch
	const rows = 3000
	for i := range rows {
		c := schemas.CDR{Key: fmt.Sprintf("p%05d", i), CallID: fmt.Sprintf("p%05d", i), Caller: "+8613900000001",
			Callee: "+8613800000001", StartTime: day0.Add(-time.Duration(i%150) * 24 * time.Hour), Disposition: schemas.NoAnswer}
		b.AddCDR(&c, "cdrs", 0, int64(i))
	}
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	db := cfg.ClickHouse.Database
	if got := e2e.Count(t, s.Conn(), "SELECT count() FROM "+db+".cdrs FINAL"); got != rows {
		t.Errorf("cdrs: %d rows, want %d", got, rows)
	}
	if q := s.Quarantined.Load(); q != 0 {
		t.Errorf("%d rows quarantined", q)
	}
	ver, err := s.Conn().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ClickHouse %d.%d: %d splits", ver.Version.Major, ver.Version.Minor, s.Splits.Load())
	if ver.Version.Major >= 20 && s.Splits.Load() == 0 {
		t.Error("a current release took 150 partitions in one insert: the limit was not exercised")
	}
}
