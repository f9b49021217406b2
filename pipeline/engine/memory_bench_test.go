package engine

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkStatePerCaller measures the heap held per caller: a million
// callers making one or two calls an hour, the bulk of a carrier's
// subscribers, plus heavy callers for comparison.
func BenchmarkStatePerCaller(b *testing.B) {
	const callers = 1_000_000
	for _, tc := range []struct {
		name  string
		calls int
	}{{"one_call", 1}, {"two_calls", 2}, {"heavy_20_calls", 20}} {
		b.Run(tc.name, func(b *testing.B) {
			n := callers
			if tc.calls > 4 {
				n = callers / 20
			}
			recs := make([]*Record, 0, n*tc.calls)
			for i := range n {
				for j := range tc.calls {
					recs = append(recs, call(number(i), number(i+1+j), t0.Add(time.Duration(j)*time.Minute), 30))
				}
			}
			b.ResetTimer()
			var perCaller, perCDR float64
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				e := testEngine(b, 2)
				b.StartTimer()
				for i := 0; i < len(recs); i += 4096 {
					e.Process(recs[i:min(i+4096, len(recs))], time.Time{}, false)
				}
				b.StopTimer()
				// The dedup sets and the callee-side counters are per CDR
				// of the last window or span, not per caller: measure
				// them apart.
				for _, s := range e.shards {
					s.dedup.forget()
					s.out = Output{}
				}
				e.outs = nil
				runtime.GC()
				var withCallees, after runtime.MemStats
				runtime.ReadMemStats(&withCallees)
				for _, s := range e.shards {
					s.received = table[hits]{}
					s.victims = table[*victim]{}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perCaller = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
				perCDR = float64(withCallees.HeapAlloc-after.HeapAlloc) / float64(len(recs))
				runtime.KeepAlive(e)
				b.StartTimer()
			}
			b.ReportMetric(perCaller, "bytes/caller")
			b.ReportMetric(perCDR, "callee-side-bytes/CDR")
			b.ReportMetric(float64(len(recs))/b.Elapsed().Seconds()*float64(b.N), "records/s")
		})
	}
}
