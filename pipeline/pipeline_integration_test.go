package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/blocklist"
	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/report"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// fixture is one test's topic, group and database with traffic in it.
type fixture struct {
	stack e2e.Stack
	cfg   config.Config
	truth traffic.Truth
	log   *slog.Logger
}

func newFixture(t *testing.T, subscribers int, hours int, seed int64) *fixture {
	t.Helper()
	f := emptyFixture(t, "cdrpipe_test")
	traffic.Configure(&f.cfg)
	tc := traffic.DefaultConfig()
	tc.Start = time.Now().UTC().Truncate(time.Hour).Add(-6 * time.Hour)
	tc.Subscribers = subscribers
	tc.Duration = time.Duration(hours) * time.Hour
	tc.FanOut, tc.ShortCalls, tc.Sequential = 8, 8, 8
	tc.Seed = seed
	tc.MalformedRate = 0.005
	var buf bytes.Buffer
	truth, err := traffic.Generate(context.Background(), tc, &buf)
	if err != nil {
		t.Fatal(err)
	}
	f.truth = truth
	f.produce(t, &buf)
	return f
}

// emptyFixture makes one test's topic (4 partitions), group and database
// (named after dbPrefix), with a configuration that reads the first into
// the last; the database is dropped when the test passes.
func emptyFixture(t *testing.T, dbPrefix string) *fixture {
	t.Helper()
	stack := e2e.Require(t)
	f := &fixture{stack: stack, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if testing.Verbose() {
		f.log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	f.cfg = config.Default()
	f.cfg.Kafka.Brokers = stack.Brokers
	f.cfg.Kafka.Topic = e2e.Name("cdrs")
	f.cfg.Kafka.Group = e2e.Name("group")
	f.cfg.ClickHouse.Addr = stack.ClickHouseAddr
	f.cfg.ClickHouse.Database = e2e.Name(dbPrefix)
	f.cfg.Sink.FlushInterval = 200 * time.Millisecond
	if err := source.EnsureTopic(context.Background(), stack.Brokers, f.cfg.Kafka.Topic, 4); err != nil {
		t.Fatal(err)
	}
	conn := stack.ClickHouse(t)
	t.Cleanup(func() {
		if !t.Failed() {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+f.cfg.ClickHouse.Database)
		}
	})
	return f
}

// produce sends the JSON lines of r to the fixture's topic.
func (f *fixture) produce(t *testing.T, r io.Reader) {
	t.Helper()
	if _, err := traffic.Produce(context.Background(), traffic.ProduceConfig{Brokers: f.stack.Brokers, Topic: f.cfg.Kafka.Topic}, r, nil); err != nil {
		t.Fatal(err)
	}
}

// migrate creates cfg's tables and views.
func (f *fixture) migrate(t *testing.T, ctx context.Context, cfg config.Config) {
	t.Helper()
	s, err := sink.Open(ctx, cfg.ClickHouse, cfg.Sink, f.log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.Migrate(mctx, cfg.Verdict()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
}

// run migrates and runs the pipeline once with cfg.
func (f *fixture) run(t *testing.T, ctx context.Context, cfg config.Config, opts pipeline.Options) (pipeline.Summary, error) {
	t.Helper()
	f.migrate(t, ctx, cfg)
	return f.runOnly(ctx, cfg, opts)
}

// check asserts what ClickHouse holds against the truth: every planted
// number flagged by its detector, nobody else flagged, rejects equal to
// the malformed lines, one row per unique valid CDR.
func (f *fixture) check(t *testing.T) *report.Report {
	t.Helper()
	conn := f.stack.ClickHouse(t)
	rep, err := report.Read(context.Background(), conn, f.cfg.ClickHouse.Database, &f.truth)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Scores {
		if s.Recall != 1 {
			t.Errorf("%s: planted numbers not flagged: %v", s.Detector, s.Missed)
		}
		if s.Precision != 1 {
			t.Errorf("%s: numbers flagged that were not planted for it: %v", s.Detector, s.FalsePositives)
		}
	}
	for _, fl := range rep.Flagged {
		if f.truth.Kind(fl.Number) == "" {
			t.Errorf("ordinary subscriber %s flagged by %s: %s", fl.Number, fl.Detector, fl.Evidence)
		}
	}
	if rep.Counts.Rejects != uint64(f.truth.Malformed) {
		t.Errorf("cdr_rejects has %d rows, want %d (malformed lines sent)", rep.Counts.Rejects, f.truth.Malformed)
	}
	if rep.Counts.CDRs != uint64(f.truth.UniqueValid) {
		t.Errorf("cdrs has %d rows, want %d (unique valid CDRs sent)", rep.Counts.CDRs, f.truth.UniqueValid)
	}
	if rep.Counts.Stats == 0 {
		t.Error("caller_stats is empty")
	}
	if rep.Counts.Blocklist < uint64(len(f.truth.Planted)) {
		t.Errorf("blocklist has %d numbers, want at least %d", rep.Counts.Blocklist, len(f.truth.Planted))
	}
	return rep
}

func TestEndToEnd(t *testing.T) {
	f := newFixture(t, 10000, 2, 11)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sum, err := f.run(t, ctx, f.cfg, pipeline.Options{UntilCaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %s", sum)
	if sum.Records != f.truth.Lines || sum.Rejects != f.truth.Malformed {
		t.Errorf("summary %d records, %d rejects; sent %d lines, %d malformed", sum.Records, sum.Rejects, f.truth.Lines, f.truth.Malformed)
	}
	before := f.check(t)

	// Replaying the whole topic (a new group starts from the beginning)
	// into the same tables changes nothing: every output is idempotent.
	replay := f.cfg
	replay.Kafka.Group = e2e.Name("replay")
	if _, err := f.run(t, ctx, replay, pipeline.Options{UntilCaughtUp: true}); err != nil {
		t.Fatal(err)
	}
	after := f.check(t)
	// The same windows are flagged again and collapse. A replay in another
	// group interleaves partitions differently, which can move what is
	// late, and so a few flags at the edges of windows; nothing more.
	if grown := after.Counts.Flags - before.Counts.Flags; after.Counts.Flags < before.Counts.Flags || grown*50 > before.Counts.Flags {
		t.Errorf("flagged_numbers went from %d to %d rows after a replay", before.Counts.Flags, after.Counts.Flags)
	}

	// The same group again re-reads only what the engine still needed at
	// the end (the windows open, those closed whose callbacks are still
	// awaited, and the allowed lateness behind the slowest partition:
	// about the last 1 h 45 min of two hours, 85-90% of the records
	// depending on the hour the traffic is laid out from), stores none of
	// it again, and changes nothing. A commit stuck at the start re-reads
	// everything.
	sum, err = f.run(t, ctx, f.cfg, pipeline.Options{UntilCaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("same group again: %s", sum)
	if sum.Records == 0 || sum.Records > f.truth.Lines*95/100 {
		t.Errorf("a second run of the same group re-read %d of %d records; want the open windows' share", sum.Records, f.truth.Lines)
	}
	f.check(t)
}

func TestStopMidwayThenResume(t *testing.T) {
	f := newFixture(t, 20000, 1, 12)
	cfg := f.cfg
	cfg.Sink.BatchSize = 2000
	ctx, cancel := context.WithCancel(context.Background())
	var sum pipeline.Summary
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		sum, err = f.run(t, ctx, cfg, pipeline.Options{})
	}()
	// Stop as soon as some rows are in, as SIGTERM would.
	conn := f.stack.ClickHouse(t)
	waitFor(t, 60*time.Second, func() bool {
		return tableExists(t, conn, cfg.ClickHouse.Database) &&
			e2e.Count(t, conn, "SELECT count() FROM "+cfg.ClickHouse.Database+".cdrs") > 0
	})
	cancel()
	<-done
	if err != nil {
		t.Fatalf("a stopped run returned %v", err)
	}
	t.Logf("stopped run: %s", sum)
	if sum.Written == 0 {
		t.Error("the stopped run wrote nothing")
	}
	sum2, err := f.run(t, context.Background(), cfg, pipeline.Options{UntilCaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed run: %s", sum2)
	f.check(t)
}

func TestClickHouseOutageLosesNothing(t *testing.T) {
	f := newFixture(t, 10000, 1, 13)
	cfg, px := f.proxied(t, 500*time.Millisecond)
	cfg.Sink.BatchSize = 1000

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Migrate through the proxy first, then cut it before any CDR row.
	f.migrate(t, ctx, cfg)
	px.Down()
	var sum pipeline.Summary
	done := make(chan error, 1)
	go func() {
		var err error
		sum, err = f.runOnly(ctx, cfg, pipeline.Options{UntilCaughtUp: true})
		done <- err
	}()
	time.Sleep(4 * time.Second)
	adm, err := source.NewAdmin(cfg.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := adm.Partitions(ctx)
	committed, err := adm.Committed(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	if len(committed) != 0 {
		t.Errorf("offsets %v committed while ClickHouse was unreachable", committed)
	}
	px.Up(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("the run did not finish after ClickHouse came back")
	}
	t.Logf("run through an outage: %s", sum)
	if sum.Retries == 0 {
		t.Error("no insert was retried, so the outage was not exercised")
	}
	f.check(t)
}

// runOnly runs the pipeline once on an already migrated database.
func (f *fixture) runOnly(ctx context.Context, cfg config.Config, opts pipeline.Options) (pipeline.Summary, error) {
	r, closeAll, err := f.runner(ctx, cfg, opts)
	if err != nil {
		return pipeline.Summary{}, err
	}
	defer closeAll()
	return r.Run(ctx)
}

// runner builds a pipeline on cfg's sink and consumer group, for tests
// that watch it while it runs; closeAll closes both.
func (f *fixture) runner(ctx context.Context, cfg config.Config, opts pipeline.Options) (r *pipeline.Runner, closeAll func(), err error) {
	s, err := sink.Open(ctx, cfg.ClickHouse, cfg.Sink, f.log)
	if err != nil {
		return nil, nil, err
	}
	src, err := source.NewGroup(ctx, cfg.Kafka, f.log)
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	closeAll = func() { src.Close(); s.Close() }
	if r, err = pipeline.New(cfg, opts, src, s, f.log); err != nil {
		closeAll()
		return nil, nil, err
	}
	return r, closeAll, nil
}

// proxied returns the fixture's configuration with ClickHouse behind a
// TCP proxy the test can cut, and quick to notice: a one-second dial
// timeout and backoff capped at maxBackoff.
func (f *fixture) proxied(t *testing.T, maxBackoff time.Duration) (config.Config, *e2e.Proxy) {
	px := e2e.StartProxy(t, f.stack.ClickHouseAddr)
	cfg := f.cfg
	cfg.ClickHouse.Addr = px.Addr
	cfg.ClickHouse.DialTimeout = time.Second
	cfg.Sink.MaxBackoff = maxBackoff
	return cfg, px
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func tableExists(t *testing.T, conn driver.Conn, db string) bool {
	return e2e.Count(t, conn, "SELECT count() FROM system.tables WHERE database = '"+db+"' AND name = 'cdrs'") == 1
}

// TestShadowReplayAndDiff replays the topic outside the consumer group
// with a more lenient rule set into another database, then diffs
// blocklists: the shadow only releases, production's offsets are
// untouched.
func TestShadowReplayAndDiff(t *testing.T) {
	produced := time.Now().Add(-time.Second)
	f := newFixture(t, 10000, 1, 14)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := f.run(t, ctx, f.cfg, pipeline.Options{UntilCaughtUp: true}); err != nil {
		t.Fatal(err)
	}
	adm, err := source.NewAdmin(f.cfg.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := adm.Partitions(ctx)
	before, err := adm.Committed(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}

	shadow := f.cfg
	shadow.ClickHouse.Database = e2e.Name("cdrpipe_shadow")
	// Only range scanning blocks; traits add little on their own.
	shadow.Blocklist.Rules = []string{"sequential_dialing = 0.95"}
	shadow.Blocklist.TraitRisk = 0.1
	replay, err := source.NewReplay(ctx, shadow.Kafka, produced.Add(-time.Minute), time.Now().Add(time.Second), f.log)
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	s, err := sink.Open(ctx, shadow.ClickHouse, shadow.Sink, f.log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer s.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+shadow.ClickHouse.Database)
	if _, err := s.Migrate(ctx, shadow.Verdict()); err != nil {
		t.Fatal(err)
	}
	r, err := pipeline.New(shadow, pipeline.Options{UntilCaughtUp: true}, replay, s, f.log)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != f.truth.Lines {
		t.Errorf("shadow replayed %d records, the topic holds %d", sum.Records, f.truth.Lines)
	}
	d, err := blocklist.Diff(ctx, s.Conn(), f.cfg.ClickHouse.Database, shadow.ClickHouse.Database, produced.Add(-24*time.Hour), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("diff: %d newly blocked, %d released, %d kept", len(d.Blocked), len(d.Released), d.Kept)
	var scanners int
	for _, p := range f.truth.Planted {
		if p.Kind == traffic.KindSequential {
			scanners++
		}
	}
	if len(d.Blocked) != 0 || len(d.Released) == 0 || d.Kept != scanners {
		t.Errorf("a lenient shadow should only release, keeping the %d range scanners: %s", scanners, d)
	}
	for _, e := range d.Released {
		if slices.ContainsFunc(e.Reasons, func(r string) bool { return strings.HasPrefix(r, "sequential_dialing") }) {
			t.Errorf("range scanner %s released: %v", e.Number, e.Reasons)
		}
	}
	after, err := adm.Committed(ctx, parts)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(before, after) {
		t.Errorf("the shadow run moved production's offsets from %v to %v", before, after)
	}
}

// TestStopWhileClickHouseDown stops a run whose writes cannot get through:
// it must give up after the drain deadline instead of hanging, report the
// failure, and commit nothing, so the next run re-reads everything.
func TestStopWhileClickHouseDown(t *testing.T) {
	f := newFixture(t, 5000, 1, 15)
	cfg, px := f.proxied(t, 200*time.Millisecond)
	cfg.Sink.BatchSize = 500
	ctx := context.Background()
	f.migrate(t, ctx, cfg)
	px.Down()

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := f.runOnly(runCtx, cfg, pipeline.Options{DrainTimeout: 2 * time.Second})
		done <- err
	}()
	time.Sleep(3 * time.Second)
	stopped := time.Now()
	stop()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a run that could not write returned no error")
		}
		if took := time.Since(stopped); took > 10*time.Second {
			t.Errorf("stopping took %s", took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not stop within 30 s of being asked to while ClickHouse was down")
	}
	adm, err := source.NewAdmin(cfg.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	parts, _ := adm.Partitions(ctx)
	if committed, err := adm.Committed(ctx, parts); err != nil || len(committed) != 0 {
		t.Errorf("committed %v (%v) while nothing was written", committed, err)
	}
}
