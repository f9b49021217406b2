package traffic

import (
	"context"
	"io"
	"testing"
	"time"
)

// BenchmarkGenerate writes about a million records (200k subscribers over
// 4 hours at 1.2 calls per hour) and reports records per second.
func BenchmarkGenerate(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Duration = 4 * time.Hour
	cfg.Subscribers = 200000
	benchGenerate(b, cfg)
}

// BenchmarkGenerateDemo writes the demo's traffic (`make demo`: 500k
// subscribers, one hour, the default mix) and reports records per second.
func BenchmarkGenerateDemo(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Subscribers = 500000
	benchGenerate(b, cfg)
}

// benchGenerate generates cfg's traffic from a fixed date per iteration.
func benchGenerate(b *testing.B, cfg Config) {
	cfg.Start = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	var lines int64
	for b.Loop() {
		truth, err := Generate(context.Background(), cfg, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		lines += truth.Lines
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "records/s")
}
