package sink_test

import (
	"context"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
)

// TestWriteWaitsForSchema writes before the database exists: ClickHouse
// answers UNKNOWN_DATABASE, which an operator fixes, so the rows are
// retried whole, not quarantined, and land once the schema is migrated.
func TestWriteWaitsForSchema(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.Sink.MaxBackoff = 300 * time.Millisecond
	s, cfg := e2e.Require(t).Sink(t, cfg, "cdrpipe_schema_wait")
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, cdrBatch(500, func(int) bool { return false })) }()
	waitFailing(t, s, done)
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	checkRecovered(t, s, cfg, done, 500)
}

// TestWriteRetriesThroughOutage cuts the connection to ClickHouse (a
// proxy that closes its connections and stops listening) while a batch is
// written: Write retries until the proxy is back, quarantines nothing,
// and Probe fails fast meanwhile.
func TestWriteRetriesThroughOutage(t *testing.T) {
	ctx := context.Background()
	stack := e2e.Require(t)
	p := e2e.StartProxy(t, stack.ClickHouseAddr)
	stack.ClickHouseAddr = p.Addr
	cfg := config.Default()
	cfg.Sink.MaxBackoff = 300 * time.Millisecond
	s, cfg := stack.Sink(t, cfg, "cdrpipe_outage")
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	if err := s.Probe(ctx); err != nil {
		t.Fatalf("probe with the server up: %v", err)
	}
	p.Down()
	start := time.Now()
	if err := s.Probe(ctx); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("probe with the server down: %v after %v; want an error within 3s", err, time.Since(start))
	}
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, cdrBatch(500, func(int) bool { return false })) }()
	waitFailing(t, s, done)
	p.Up(t)
	checkRecovered(t, s, cfg, done, 500)
}

// waitFailing waits until the sink reports failing inserts and has retried.
func waitFailing(t *testing.T, s *sink.Sink, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("write returned before the failure was fixed: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if since, err := s.Failing(); !since.IsZero() && err != nil && s.Retries.Load() >= 2 {
			t.Logf("failing since %v: %v", since, err)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink never reported failing inserts")
		}
	}
}

// checkRecovered waits for the write to end and checks its rows are
// stored, none quarantined, and Failing cleared.
func checkRecovered(t *testing.T, s *sink.Sink, cfg config.Config, done <-chan error, cdrs uint64) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("write still retrying 30s after the failure was fixed")
	}
	db := cfg.ClickHouse.Database
	if got := e2e.Count(t, s.Conn(), "SELECT count() FROM "+db+".cdrs FINAL"); got != cdrs {
		t.Errorf("cdrs: %d rows, want %d", got, cdrs)
	}
	if got := e2e.Count(t, s.Conn(), "SELECT count() FROM "+db+".quarantine"); got != 0 || s.Quarantined.Load() != 0 || s.Splits.Load() != 0 {
		t.Errorf("%d rows quarantined (counter %d), %d splits; want none", got, s.Quarantined.Load(), s.Splits.Load())
	}
	if since, err := s.Failing(); !since.IsZero() || err != nil {
		t.Errorf("Failing() = %v, %v after recovering", since, err)
	}
}
