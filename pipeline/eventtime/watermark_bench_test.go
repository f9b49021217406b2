package eventtime

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkObserve is the run loop's per-record cost of event time: 20
// switches interleaved in one partition, times moving on, a partition
// recompute now and then. The run loop is serial, so this bounds
// throughput directly.
func BenchmarkObserve(b *testing.B) {
	names := make([]string, 20)
	keys := make([]uint64, 20)
	for i := range names {
		names[i] = fmt.Sprintf("SW-%02d-MSC", i)
		keys[i] = SourceKey(names[i])
	}
	w := New(settings())
	now := t0.Add(48 * time.Hour)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at := t0.Add(time.Duration(i) * 5 * time.Millisecond)
		j := (i * 7) % len(names)
		w.Observe(i%4, keys[j], names[j], at, now)
		i++
	}
}
