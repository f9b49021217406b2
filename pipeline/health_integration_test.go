package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline"
)

// TestRefusedRowsDoNotWedge: ClickHouse refuses some rows for good (a
// column added under the pipeline that throws for one caller). The run
// keeps moving: every other row is stored, the refused ones are in the
// quarantine with their reason, and the run ends (it retried the refused
// insert for ever before, until its deadline).
func TestRefusedRowsDoNotWedge(t *testing.T) {
	const bad = "+8613900000666"
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var lines []string
	for i := range 3000 {
		caller := fmt.Sprintf("+86139%08d", 1000+i%500)
		if i%500 == 77 {
			caller = bad
		}
		lines = append(lines, fmt.Sprintf(`{"call_id":"c%d","switch_id":"SW","caller":%q,"callee":"+86138%08d","start_time":%q,"duration":30,"disposition":"answered"}`,
			i, caller, i, at.Add(time.Duration(i)*time.Second).Format(time.RFC3339)))
	}
	f := linesFixture(t, lines)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f.migrate(t, ctx, f.cfg)
	conn := f.stack.ClickHouse(t)
	if err := conn.Exec(ctx, "ALTER TABLE "+f.cfg.ClickHouse.Database+".cdrs ADD COLUMN guard UInt8 MATERIALIZED throwIf(caller = '"+bad+"')"); err != nil {
		t.Fatal(err)
	}
	sum, err := f.runOnly(ctx, f.cfg, pipeline.Options{UntilCaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run: %s", sum)
	f.check1(t, "SELECT count() FROM DB.cdrs FINAL", "2994")
	f.check1(t, "SELECT count(), any(reason), any(table_name) FROM DB.quarantine FINAL", "6 clickhouse_395 cdrs")
	if sum.Written < 3000 {
		t.Errorf("%d rows written, want every CDR (2994 in cdrs, 6 in the quarantine)", sum.Written)
	}
}

// TestReadiness: ready while Kafka and ClickHouse answer and writes
// succeed; not ready (but live: it waits, a restart would not help) while
// ClickHouse is unreachable; ready again after.
func TestReadiness(t *testing.T) {
	f := newFixture(t, 2000, 1, 21)
	cfg, px := f.proxied(t, 500*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.migrate(t, ctx, cfg)
	r, closeAll, err := f.runner(ctx, cfg, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	ready := func() error {
		rctx, rcancel := context.WithTimeout(ctx, 3*time.Second)
		defer rcancel()
		return r.Ready(rctx)
	}
	if err := ready(); err == nil || !strings.Contains(err.Error(), "not consuming") {
		t.Errorf("ready before running: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Run(ctx); done <- err }()
	waitFor(t, 60*time.Second, func() bool { return ready() == nil })
	conn := f.stack.ClickHouse(t)
	waitFor(t, 60*time.Second, func() bool {
		return e2e.Count(t, conn, "SELECT count() FROM "+cfg.ClickHouse.Database+".cdrs") > 0
	})

	px.Down()
	waitFor(t, 60*time.Second, func() bool {
		err := ready()
		return err != nil && strings.Contains(err.Error(), "clickhouse")
	})
	if err := r.Live(); err != nil {
		t.Errorf("not live while waiting for ClickHouse: %v", err)
	}
	t.Logf("while ClickHouse is cut: %v", ready())
	px.Up(t)
	waitFor(t, 60*time.Second, func() bool { return ready() == nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSilentPartitionsReleaseWindows: one caller's records all land in one
// partition of four; the other three never deliver. In a live run they
// hold the watermark back only for window.idle_partition, then the
// caller's windows close and their caller_stats rows are written.
func TestSilentPartitionsReleaseWindows(t *testing.T) {
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	var lines []string
	for i := range 120 {
		lines = append(lines, fmt.Sprintf(`{"call_id":"f%d","switch_id":"SW","caller":"+8613900000123","callee":"+86138%08d","start_time":%q,"duration":40,"disposition":"answered"}`,
			i, i*1000, start.Add(time.Duration(i)*30*time.Second).Format(time.RFC3339)))
	}
	f := linesFixture(t, lines)
	cfg := f.cfg
	cfg.Window.IdlePartition = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.migrate(t, ctx, cfg)
	done := make(chan error, 1)
	go func() { _, err := f.runOnly(ctx, cfg, pipeline.Options{}); done <- err }()
	conn := f.stack.ClickHouse(t)
	waitFor(t, 60*time.Second, func() bool {
		return e2e.Count(t, conn, "SELECT count() FROM "+cfg.ClickHouse.Database+".caller_stats") > 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.check1(t, "SELECT count() > 0, max(distinct_callees) >= 50 FROM DB.caller_stats WHERE caller = '+8613900000123'", "1 1")
}

// TestPipelineOverSecuredServices runs the whole pipeline as a carrier
// runs it: Kafka over SASL_SSL (SCRAM-SHA-512) and ClickHouse over TLS as
// a password user. Every CDR is stored and every planted caller flagged.
func TestPipelineOverSecuredServices(t *testing.T) {
	sec := e2e.RequireSecure(t)
	f := newFixture(t, 5000, 1, 41)
	cfg := f.cfg
	cfg.Kafka.Brokers = []string{sec.KafkaSASL}
	cfg.Kafka.TLS = config.TLS{Enabled: true, CAFile: sec.File("ca.crt")}
	cfg.Kafka.SASL = config.SASL{Mechanism: "scram-sha-512", Username: sec.KafkaUser, Password: sec.KafkaPassword}
	cfg.ClickHouse.Addr = sec.ClickHouseAddr
	cfg.ClickHouse.Username, cfg.ClickHouse.Password = sec.Writer, sec.WriterPassword
	cfg.ClickHouse.TLS = config.TLS{Enabled: true, CAFile: sec.File("ca.crt")}
	// What was written over TLS is read back through the same server's
	// plain port (whichever release the other tests use).
	f.stack.ClickHouseAddr = sec.ClickHousePlain
	conn := f.stack.ClickHouse(t)
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.ClickHouse.Database) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := f.run(t, ctx, cfg, pipeline.Options{UntilCaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("secured run: %s", sum)
	f.check(t)
}
