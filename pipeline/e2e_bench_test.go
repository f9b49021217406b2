package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// BenchmarkEndToEnd measures `run --until-caught-up` on the real broker
// and server: an hour of traffic of 500k subscribers (about 610k CDRs) is
// produced once; each iteration reads all of it with a fresh group into a
// fresh database, and reports CDR/s from fetch to committed insert.
func BenchmarkEndToEnd(b *testing.B) {
	stack := e2e.Require(b)
	ctx := context.Background()
	tc := traffic.DefaultConfig()
	tc.Subscribers = 500000
	var buf bytes.Buffer
	truth, err := traffic.Generate(ctx, tc, &buf)
	if err != nil {
		b.Fatal(err)
	}
	topic := e2e.Name("bench")
	if err := source.EnsureTopic(ctx, stack.Brokers, topic, 4); err != nil {
		b.Fatal(err)
	}
	if _, err := traffic.Produce(ctx, traffic.ProduceConfig{Brokers: stack.Brokers, Topic: topic}, &buf, nil); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	conn := stack.ClickHouse(b)
	var records int64
	b.ResetTimer()
	for b.Loop() {
		cfg := config.Default()
		cfg.Kafka.Brokers, cfg.Kafka.Topic, cfg.Kafka.Group = stack.Brokers, topic, e2e.Name("bench")
		cfg.ClickHouse.Addr, cfg.ClickHouse.Database = stack.ClickHouseAddr, e2e.Name("cdrpipe_bench")
		s, err := sink.Open(ctx, cfg.ClickHouse, cfg.Sink, log)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
			b.Fatal(err)
		}
		src := source.New(cfg.Kafka, log)
		r, err := pipeline.New(cfg, pipeline.Options{UntilCaughtUp: true}, src, s, log)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := r.Run(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if sum.Records != truth.Lines {
			b.Fatalf("read %d records, produced %d", sum.Records, truth.Lines)
		}
		records += sum.Records
		src.Close()
		s.Close()
		b.StopTimer()
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.ClickHouse.Database)
		time.Sleep(100 * time.Millisecond)
		b.StartTimer()
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "CDR/s")
}
