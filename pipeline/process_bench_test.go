package pipeline

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// BenchmarkDecodeDetect measures everything `run` does per CDR between fetch
// and insert: parallel decode, watermark, engine shards, and filling the
// columnar batch, over generated carrier traffic (no broker, no server).
func BenchmarkDecodeDetect(b *testing.B) {
	tc := traffic.DefaultConfig()
	tc.Start = time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	tc.Subscribers = 200000
	lines, _, err := traffic.Lines(context.Background(), tc)
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]kafka.Message, len(lines))
	for i, line := range lines {
		msgs[i] = kafka.Message{Topic: "cdrs", Partition: i % 4, Offset: int64(i / 4), Value: line}
	}
	b.ReportAllocs()
	var bytesIn int64
	for _, m := range msgs {
		bytesIn += int64(len(m.Value))
	}
	b.SetBytes(bytesIn)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		cfg := config.Default()
		traffic.Configure(&cfg)
		r, err := New(cfg, Options{}, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			b.Fatal(err)
		}
		r.wm.Expect([]int{0, 1, 2, 3}, time.Now())
		batch := new(sink.Batch)
		b.StartTimer()
		for i := 0; i < len(msgs); i += microBatch {
			r.process(context.Background(), msgs[i:min(i+microBatch, len(msgs))], batch)
			if batch.Rows() >= 50000 {
				batch.Reset()
			}
		}
	}
	b.ReportMetric(float64(len(msgs)*b.N)/b.Elapsed().Seconds(), "CDR/s")
}
