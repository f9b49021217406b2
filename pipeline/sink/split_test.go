package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"
)

// TestWriteQuarantinesBadRows drives a batch with a few rows ClickHouse
// refuses through the split: every good row is inserted once, each bad
// row is quarantined once with its key, reason, origin and JSON, as soon as
// it is found (so no row is left unwritten below one written), and Write
// returns nil.
func TestWriteQuarantinesBadRows(t *testing.T) {
	f := &fakeCH{fail: failBadCallers}
	s := newFakeSink(f)
	isBad := func(i int) bool { return i%197 == 13 }
	b := testBatch(1000, 5, isBad)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	cdrs := b.cdrs.columns()
	bad := make(map[string]int) // row key -> Kafka offset
	for i := range 1000 {
		if isBad(i) {
			bad[cdrsTable().rowKey(cdrs, i)] = i
		}
	}
	checkInserted(t, f, b, boolSet(bad))
	if len(f.quar) != len(bad) {
		t.Fatalf("%d quarantine inserts, want one for each of the %d bad rows", len(f.quar), len(bad))
	}
	lastOffset := uint64(0)
	for _, q := range f.quar {
		if n := colLen(q[0]); n != 1 {
			t.Fatalf("%d rows in a quarantine insert, want 1", n)
		}
		const i = 0
		if off := q[6].([]uint64)[i]; off < lastOffset {
			t.Errorf("offset %d quarantined after %d", off, lastOffset)
		} else {
			lastOffset = off
		}
		key := q[1].([]string)[i]
		off, ok := bad[key]
		if !ok {
			t.Errorf("quarantined %s, not a bad row", key)
			continue
		}
		delete(bad, key)
		var row map[string]any
		if err := json.Unmarshal([]byte(q[4].([]string)[i]), &row); err != nil {
			t.Errorf("row %s: %v", key, err)
		}
		if q[0].([]string)[i] != "cdrs" || q[2].([]string)[i] != "clickhouse_395" || q[3].([]string)[i] == "" ||
			row["caller"] != badCaller || row["call_key"] != fmt.Sprintf("k%05d", off) || row["answer_time"] != nil ||
			q[5].([]uint32)[i] != 2 || q[6].([]uint64)[i] != uint64(off) || q[7].([]time.Time)[i].IsZero() {
			t.Errorf("quarantine row %d: %v %v %v %v %s %v %v %v", i, q[0], q[1], q[2], q[3], q[4].([]string)[i], q[5], q[6], q[7])
		}
	}
	if s.Quarantined.Load() != 6 || s.QuarantinedRows("cdrs") != 6 || s.QuarantinedRows("flags") != 0 {
		t.Errorf("counters: %d quarantined, %d of cdrs", s.Quarantined.Load(), s.QuarantinedRows("cdrs"))
	}
	if s.Splits.Load() == 0 || s.Retries.Load() != 0 {
		t.Errorf("%d splits, %d retries; want splits and no retry", s.Splits.Load(), s.Retries.Load())
	}
	if since, err := s.Failing(); !since.IsZero() || err != nil {
		t.Errorf("Failing() = %v, %v after a successful write", since, err)
	}
}

// TestWriteSplitsByPartition refuses, as ClickHouse does past
// max_partitions_per_insert_block, inserts spanning more than 8 days of a
// backlog: the halves follow the offsets, and with them the days, so 40
// days take 8 pieces, each inserted once, and nothing is quarantined.
func TestWriteSplitsByPartition(t *testing.T) {
	f := &fakeCH{fail: func(t *table, cols []any, _ int) error {
		if t.name == "cdrs" && t.partitions(cols, allRows(colLen(cols[0]))) > 8 {
			return exc(252, "Too many partitions for single INSERT block (more than 8).")
		}
		return nil
	}}
	s := newFakeSink(f)
	b := backlogBatch(1000, 40)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	checkInserted(t, f, b, nil)
	var pieces int
	for _, a := range f.attempts {
		if a.table == "cdrs" && a.err == nil {
			pieces++
			if a.partitions > 8 {
				t.Errorf("a piece of %d rows spanning %d days was inserted", len(a.keys), a.partitions)
			}
		}
	}
	if pieces > 8 || s.Quarantined.Load() != 0 {
		t.Errorf("%d pieces, %d quarantined; want at most 8 pieces, none quarantined", pieces, s.Quarantined.Load())
	}
}

// TestWriteRetriesTransient fails the cdrs insert three times with errors
// of the server's state: the same rows are retried, never split, Failing
// reports the first failure meanwhile and clears on success.
func TestWriteRetriesTransient(t *testing.T) {
	transient := []error{io.EOF, exc(241, "Memory limit (total) exceeded"),
		exc(252, "Too many parts (300). Merges are processing significantly slower than inserts.")}
	var s *Sink
	var cdrsAttempts int
	f := &fakeCH{fail: func(tb *table, _ []any, _ int) error {
		if tb.name != "cdrs" {
			return nil
		}
		defer func() { cdrsAttempts++ }()
		since, err := s.Failing()
		if (cdrsAttempts == 0) != since.IsZero() || (cdrsAttempts > 0 && !errors.Is(err, transient[cdrsAttempts-1])) {
			t.Errorf("attempt %d: Failing() = %v, %v", cdrsAttempts, since, err)
		}
		if cdrsAttempts < len(transient) {
			return transient[cdrsAttempts]
		}
		return nil
	}}
	s = newFakeSink(f)
	b := testBatch(300, 3, isBadNone)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	checkInserted(t, f, b, nil)
	for _, a := range f.attempts {
		if a.table == "cdrs" && len(a.keys) != 300 {
			t.Errorf("an attempt of %d rows: split on a transient error", len(a.keys))
		}
	}
	if s.Retries.Load() != 3 || s.Splits.Load() != 0 || s.Quarantined.Load() != 0 {
		t.Errorf("%d retries, %d splits, %d quarantined; want 3, 0, 0", s.Retries.Load(), s.Splits.Load(), s.Quarantined.Load())
	}
	if since, err := s.Failing(); !since.IsZero() || err != nil {
		t.Errorf("Failing() = %v, %v after recovering", since, err)
	}
}

// TestWriteTransientDuringSplit adds a dropped connection to every third
// attempt while bad rows are split out: a piece that fails transiently is
// retried whole, and the outcome is the same as without.
func TestWriteTransientDuringSplit(t *testing.T) {
	f := &fakeCH{fail: func(t *table, cols []any, n int) error {
		if n%3 == 1 {
			return fmt.Errorf("read: %w", io.ErrUnexpectedEOF)
		}
		return failBadCallers(t, cols, n)
	}}
	s := newFakeSink(f)
	isBad := func(i int) bool { return i == 5 || i == 400 }
	b := testBatch(500, 4, isBad)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	cdrs := b.cdrs.columns()
	checkInserted(t, f, b, map[string]bool{cdrsTable().rowKey(cdrs, 5): true, cdrsTable().rowKey(cdrs, 400): true})
	for i, a := range f.attempts[:len(f.attempts)-1] {
		if errors.Is(a.err, io.ErrUnexpectedEOF) && !slices.Equal(a.keys, f.attempts[i+1].keys) {
			t.Errorf("attempt %d failed transiently and the next attempt has other rows", i)
		}
	}
	if s.Quarantined.Load() != 2 || f.inserted["quarantine"][cdrsTable().rowKey(cdrs, 5)] != 1 {
		t.Errorf("%d quarantined, want the 2 bad rows once", s.Quarantined.Load())
	}
}

// TestQuarantineRetriedOnAnyError refuses the quarantine insert once with
// a data error: it is retried as it is, not split or dropped.
func TestQuarantineRetriedOnAnyError(t *testing.T) {
	refused := false
	f := &fakeCH{fail: func(t *table, cols []any, n int) error {
		if t == quarantineTable && !refused {
			refused = true
			return exc(53, "Type mismatch")
		}
		return failBadCallers(t, cols, n)
	}}
	s := newFakeSink(f)
	if err := s.Write(context.Background(), testBatch(50, 2, func(i int) bool { return i == 7 })); err != nil {
		t.Fatal(err)
	}
	if len(f.quar) != 1 || s.Quarantined.Load() != 1 || s.Retries.Load() != 1 {
		t.Errorf("%d quarantine inserts, %d quarantined, %d retries; want 1, 1, 1", len(f.quar), s.Quarantined.Load(), s.Retries.Load())
	}
}

// TestWriteStopsWhenContextEnds keeps ClickHouse down: Write gives up when
// its context ends, saying which insert and why.
func TestWriteStopsWhenContextEnds(t *testing.T) {
	f := &fakeCH{fail: func(*table, []any, int) error { return io.EOF }}
	s := newFakeSink(f)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Write(ctx, testBatch(10, 1, isBadNone))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, io.EOF) || s.Quarantined.Load() != 0 {
		t.Errorf("Write = %v; want the deadline and the last error, nothing quarantined", err)
	}
	if since, last := s.Failing(); since.IsZero() || !errors.Is(last, io.EOF) {
		t.Errorf("Failing() = %v, %v while ClickHouse is down", since, last)
	}
}

// TestWriteSendsBatchSlices checks that the normal path hands the driver
// the batch's own slices: no row is copied and the allocations of a
// write do not grow with its rows.
func TestWriteSendsBatchSlices(t *testing.T) {
	var sent []any
	f := &fakeCH{}
	s := newFakeSink(f)
	s.send = func(_ context.Context, t *table, cols []any) error {
		if t.name == "cdrs" {
			sent = cols
		}
		return nil
	}
	b := testBatch(1000, 3, isBadNone)
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if &sent[0].([]string)[0] != &b.cdrs.callKey[0] || &sent[4].([]time.Time)[0] != &b.cdrs.start[0] {
		t.Error("the cdrs insert was given copies of the batch's columns")
	}
	small := testBatch(10, 3, isBadNone)
	few := testing.AllocsPerRun(20, func() { s.Write(context.Background(), small) })
	many := testing.AllocsPerRun(20, func() { s.Write(context.Background(), b) })
	if many > few {
		t.Errorf("a write allocates %v times with 1000 CDRs, %v with 10; want no allocation per row", many, few)
	}
}
