package engine

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/mix"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// mixRecords decodes and prepares generated carrier traffic: ordinary
// subscribers, planted abusers, duplicates and records out of order, in
// the order a topic would hold them.
func mixRecords(b testing.TB, subscribers int) []*Record {
	b.Helper()
	tc := traffic.DefaultConfig()
	tc.Start = t0
	tc.Subscribers = subscribers
	tc.FarFuture = 0
	lines, _, err := traffic.Lines(context.Background(), tc)
	if err != nil {
		b.Fatal(err)
	}
	cfg := config.Default()
	traffic.Configure(&cfg)
	d := decode.NewDecoder(decode.OptionsFrom(cfg))
	now := tc.End().Add(time.Hour)
	var recs []*Record
	for _, line := range lines {
		c, err := d.Decode(line, now)
		if err != nil {
			continue
		}
		r := &Record{CDR: c}
		prep.Prepare(r)
		recs = append(recs, r)
	}
	return recs
}

// BenchmarkEngine measures the detector engine alone on one shard (one
// core): de-duplication, small and heavy caller state, every detector, the
// callee-side phase and window closing, over a realistic mix. Each
// iteration is the next hour of the same traffic into the same engine, so
// after the first the engine is in its steady state, as in a long run:
// allocations reported are those of the steady path. The watermark trails
// the newest start by the generator's largest disorder, as the pipeline's
// would.
func BenchmarkEngine(b *testing.B) {
	benchSteady(b, mixRecords(b, 200000), traffic.MaxOutOfOrder)
}

// benchSteady feeds recs, an hour of traffic, to a one-shard engine in
// micro-batches, once to warm up and then once per iteration, each time an
// hour later. The watermark trails the newest start by lag. It reports
// CDR/s and ns/CDR.
func benchSteady(b *testing.B, recs []*Record, lag time.Duration) {
	feed := hourly(testEngine(b, 1), recs, lag)
	feed() // warm up: tables and slices reach their working size
	// Collect the setup's garbage (the generated traffic) now, not in
	// the timed loop.
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		feed()
	}
	b.ReportMetric(float64(len(recs)*b.N)/b.Elapsed().Seconds(), "CDR/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(len(recs)*b.N), "ns/CDR")
}

// hourly returns a function that feeds recs, an hour of traffic, to e in
// micro-batches with the watermark lag behind the newest start, moves
// them an hour on for the next call, and returns the flag and stats rows
// written.
func hourly(e *Engine, recs []*Record, lag time.Duration) func() (rows int) {
	var newest time.Time
	return func() (rows int) {
		for i := 0; i < len(recs); i += processBatch {
			part := recs[i:min(i+processBatch, len(recs))]
			for _, o := range e.Process(part, newest.Add(-lag), !newest.IsZero()) {
				rows += len(o.Flags) + len(o.Stats)
			}
			for _, r := range part {
				if r.CDR.StartTime.After(newest) {
					newest = r.CDR.StartTime
				}
			}
		}
		for _, r := range recs {
			r.CDR.StartTime = r.CDR.StartTime.Add(time.Hour)
		}
		return rows
	}
}

// processBatch is the pipeline's micro-batch size.
const processBatch = 4096

// BenchmarkEngineHeavy measures the heavy-caller path alone: 500 callers
// (robocallers, call centres) each calling a new number of a list every
// 4 s for an hour, in start-time order, on one shard.
func BenchmarkEngineHeavy(b *testing.B) {
	const callers, calls = 500, 900
	recs := make([]*Record, 0, callers*calls)
	for j := range calls {
		for i := range callers {
			talk := float64(5 + (i+j)%40)
			recs = append(recs, call(number(i), number(int(mix.Mix64(uint64(i*calls+j))%90_000_000)), t0.Add(time.Duration(j)*4*time.Second+time.Duration(i)*time.Millisecond), talk))
		}
	}
	benchSteady(b, recs, time.Minute)
}

// TestSteadyStateAllocations guards the steady path: once an engine has
// seen an hour of traffic, another hour allocates for what it writes (a
// flag's evidence text, a stats row's number, a victim's list), not per
// CDR.
func TestSteadyStateAllocations(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("generates traffic; allocation counts mean nothing under -race")
	}
	recs := mixRecords(t, 20000)
	feed := hourly(testEngine(t, 1), recs, traffic.MaxOutOfOrder)
	feed()
	feed()
	rows := 0
	allocs := testing.AllocsPerRun(1, func() { rows = feed() })
	// A row's evidence takes a few allocations (formatting); everything
	// else must be far below one per CDR.
	const perRow, perCDR = 5, 0.05
	budget := perRow*float64(rows) + perCDR*float64(len(recs))
	t.Logf("%.0f allocations for %d CDRs and %d flag and stats rows (budget %.0f)", allocs, len(recs), rows, budget)
	if allocs > budget {
		t.Fatalf("%.0f allocations for %d CDRs and %d rows, budget %.0f", allocs, len(recs), rows, budget)
	}
}
