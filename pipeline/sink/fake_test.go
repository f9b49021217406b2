package sink

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

const badCaller = "+8613900000666"

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// attempt is one insert the fake received.
type attempt struct {
	table      string
	keys       []string // row keys, or the quarantine's row_key column
	partitions int
	err        error
}

// fakeCH stands for ClickHouse behind Sink.send: fail decides the outcome
// of each attempt, and the rows of successful ones are recorded.
type fakeCH struct {
	mu       sync.Mutex
	fail     func(t *table, cols []any, n int) error // n counts attempts from 0
	attempts []attempt
	inserted map[string]map[string]int // table -> row key -> times inserted
	quar     [][]any                   // columns of successful quarantine inserts
}

func (f *fakeCH) send(_ context.Context, t *table, cols []any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := attempt{table: t.name}
	n := colLen(cols[0])
	for i := range n {
		if t == quarantineTable {
			a.keys = append(a.keys, cols[1].([]string)[i])
		} else {
			a.keys = append(a.keys, t.rowKey(cols, i))
		}
	}
	if t.part >= 0 {
		a.partitions = t.partitions(cols, allRows(n))
	}
	if f.fail != nil {
		a.err = f.fail(t, cols, len(f.attempts))
	}
	f.attempts = append(f.attempts, a)
	if a.err != nil {
		return a.err
	}
	if t == quarantineTable {
		f.quar = append(f.quar, cols)
	}
	if f.inserted == nil {
		f.inserted = make(map[string]map[string]int)
	}
	if f.inserted[t.name] == nil {
		f.inserted[t.name] = make(map[string]int)
	}
	for _, k := range a.keys {
		f.inserted[t.name][k]++
	}
	return nil
}

// newFakeSink returns a sink whose inserts go to f, with short backoffs
// and a clock that advances a second a call.
func newFakeSink(f *fakeCH) *Sink {
	s := newSink(nil, "db", 20*time.Millisecond, slog.New(slog.DiscardHandler))
	s.minBackoff = time.Millisecond
	s.send = f.send
	clock := day0
	s.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	return s
}

// testBatch buffers n CDRs over days days, in an order that mixes the
// days, with bad(i) choosing those with badCaller, plus two flags, a
// stats row and two rejects.
func testBatch(n, days int, bad func(i int) bool) *Batch {
	return batchOf(n, bad, func(i int) time.Time {
		return day0.Add(time.Duration((i*7)%days)*24*time.Hour + time.Duration(i)*time.Second)
	})
}

// backlogBatch is testBatch as a backlog of days days read from Kafka
// looks: the start times grow with the offsets.
func backlogBatch(n, days int) *Batch {
	return batchOf(n, func(int) bool { return false }, func(i int) time.Time {
		return day0.Add(time.Duration(i*days) * 24 * time.Hour / time.Duration(n))
	})
}

func batchOf(n int, bad func(i int) bool, start func(i int) time.Time) *Batch {
	var b Batch
	for i := range n {
		c := schemas.CDR{Key: fmt.Sprintf("k%05d", i), CallID: fmt.Sprintf("k%05d", i), Caller: "+8613900000001",
			Callee: "+8613800000001", StartTime: start(i),
			Duration: 4, Disposition: schemas.Answered}
		if bad(i) {
			c.Caller = badCaller
		}
		b.AddCDR(&c, "cdrs", 2, int64(i))
	}
	for _, det := range []string{"fan_out", "short_calls"} {
		b.AddFlag(&schemas.Flag{Number: "+8613900000001", Detector: det, WindowStart: day0, WindowEnd: day0.Add(time.Hour), FlaggedAt: day0})
	}
	b.AddStats(&schemas.CallerStats{Caller: "+8613900000001", WindowStart: day0, WindowEnd: day0.Add(time.Hour), Calls: 12})
	for off := range 2 {
		b.AddReject(&schemas.Reject{Origin: schemas.Origin{Topic: "cdrs", Partition: 1, Offset: int64(off), Received: day0}, Raw: "{"})
	}
	return &b
}

// failBadCallers fails, as a MATERIALIZED throwIf column does, an insert
// into cdrs holding a row of badCaller.
func failBadCallers(t *table, cols []any, _ int) error {
	if t.name == "cdrs" && slices.Contains(cols[2].([]string), badCaller) {
		return exc(395, "Value passed to 'throwIf' function is non zero")
	}
	return nil
}

// checkInserted fails unless every row of b but the bad ones was inserted
// exactly once into its table, and no bad one was.
func checkInserted(t *testing.T, f *fakeCH, b *Batch, bad map[string]bool) {
	t.Helper()
	for _, tb := range tables {
		cols := tb.values(b)
		for i := range tb.rows(b) {
			key := tb.rowKey(cols, i)
			want := 1
			if tb.name == "cdrs" && bad[key] {
				want = 0
			}
			if got := f.inserted[tb.name][key]; got != want {
				t.Errorf("%s row %s inserted %d times, want %d", tb.name, key, got, want)
			}
		}
	}
}

func boolSet(m map[string]int) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func isBadNone(int) bool { return false }
