package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

// latencyDatabase is the database the latency mode's cdrpipe writes; it
// is dropped before each run and kept afterwards for inspection.
const latencyDatabase = "bench_latency"

// warmUpCDRs are sent, and must be consumed, before measuring, so the
// group join and the first fetches are not part of any latency.
const warmUpCDRs = 2000

// latencyFlags are the latency mode's flags.
type latencyFlags struct {
	stackFlags
	rate     int
	duration time.Duration
	abusers  int
	grace    time.Duration
	sets     settingFlags
}

func parseLatency(args []string) (*latencyFlags, error) {
	f := &latencyFlags{}
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	f.register(fs)
	fs.IntVar(&f.rate, "rate", 50000, "CDRs per second to produce")
	fs.DurationVar(&f.duration, "duration", 60*time.Second, "how long to produce")
	fs.IntVar(&f.abusers, "abusers", 100, "planted fan-out callers, crossing the threshold at staggered times")
	fs.DurationVar(&f.grace, "grace", 30*time.Second, "how long after producing to wait for the last flags")
	fs.Var(&f.sets, "set", "cdrpipe setting for the child, key=value (repeatable), e.g. sink.flush_interval=200ms")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("latency: unexpected arguments %q", fs.Args())
	case f.rate < 100:
		return nil, errors.New("latency: --rate must be at least 100 CDR/s")
	case f.duration < 5*time.Second:
		return nil, errors.New("latency: --duration must be at least 5s")
	case f.abusers < 1 || f.abusers >= maxPlanted:
		return nil, fmt.Errorf("latency: --abusers must be 1 to %d", maxPlanted-1)
	}
	return f, nil
}

// settingFlags are --set key=value pairs, passed to the child as
// CDRPIPE_* variables (the binary reads every key from the environment).
type settingFlags []string

var settingKey = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// String implements flag.Value.
func (s *settingFlags) String() string { return strings.Join(*s, " ") }

// Set implements flag.Value.
func (s *settingFlags) Set(v string) error {
	k, _, ok := strings.Cut(v, "=")
	if !ok || !settingKey.MatchString(k) {
		return fmt.Errorf("want key=value with a cdrpipe key such as sink.flush_interval=200ms, got %q", v)
	}
	*s = append(*s, v)
	return nil
}

// env renders the settings as environment variables.
func (s settingFlags) env() []string {
	out := make([]string, 0, len(s))
	for _, kv := range s {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, "CDRPIPE_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))+"="+v)
	}
	return out
}

// latencyRun is one latency measurement and its parts.
type latencyRun struct {
	f         *latencyFlags
	b         *bench
	topic     string   // set once created
	env       []string // added to the child's environment
	flags     []string // cdrpipe's global flags
	settings  settings
	threshold int
	child     *child
	mon       *monitor
	w         *kafka.Writer
	gen       *load
	stopped   bool
}

// runLatency is the latency mode.
func runLatency(ctx context.Context, args []string, stdout io.Writer) (err error) {
	f, err := parseLatency(args)
	if err != nil {
		return err
	}
	b, err := prepare(ctx, &f.stackFlags, "latency")
	if err != nil {
		return err
	}
	r := &latencyRun{f: f, b: b}
	defer func() { b.finish(ctx, r.topic, err != nil) }()
	if err := r.setUp(ctx); err != nil {
		return err
	}
	defer r.w.Close()
	defer r.abandon()
	if err := r.start(ctx); err != nil {
		return err
	}
	res, err := r.measure(ctx)
	if err != nil {
		return err
	}
	if err := r.stop(&res); err != nil {
		return err
	}
	res.print(stdout)
	if err := writeResult(stdout, res.table(), f.out); err != nil {
		return err
	}
	if missed := len(res.seen) - len(res.latencies); missed > 0 {
		return fmt.Errorf("%d of %d planted fan-out abusers never appeared in %s.flagged_numbers within %s after producing stopped",
			missed, len(res.seen), latencyDatabase, f.grace)
	}
	return nil
}

// setUp resolves the child's configuration (first, so a bad --set
// fails before anything is created), then makes the fresh topic and
// database.
func (r *latencyRun) setUp(ctx context.Context) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	r.mon = newMonitor(addr)
	r.env = append(r.f.sets.env(), "CDRPIPE_METRICS_ADDR="+addr)
	name := "bench-latency-" + r.b.stamp
	r.flags = []string{"--brokers", strings.Join(r.b.brokers, ","), "--clickhouse-addr", r.b.flags.clickhouse,
		"--topic", name, "--group", name, "--database", latencyDatabase}
	if r.settings, err = effectiveSettings(ctx, r.b.bin, r.env, r.flags); err != nil {
		return err
	}
	if r.threshold, err = r.settings.intValue("detectors.fan_out.min_callees"); err != nil {
		return err
	}
	if r.threshold >= maxPlanted {
		return fmt.Errorf("detectors.fan_out.min_callees %d: this harness plants at most %d callees per abuser", r.threshold, maxPlanted-1)
	}
	if err := r.b.wh.dropDatabase(ctx, latencyDatabase); err != nil {
		return err
	}
	if err := source.EnsureTopic(ctx, r.b.brokers, name, r.f.partitions); err != nil {
		return err
	}
	r.topic = name
	perTick := int(float64(r.f.rate) * tickEvery.Seconds())
	r.w = newLoadWriter(r.b.brokers, r.topic, perTick)
	r.gen = newLoad("lat"+r.b.stamp, r.f.rate, r.f.duration)
	return nil
}

// start runs `cdrpipe run` and returns once it has consumed the warm-up
// CDRs: it has joined the group, fetches and processes.
func (r *latencyRun) start(ctx context.Context) error {
	var err error
	progress("starting cdrpipe run on %s into %s (%s)", r.topic, latencyDatabase, strings.Join(r.env, " "))
	r.child, err = startChild(ctx, "cdrpipe run", filepath.Join(r.b.dir, "cdrpipe.log"), r.env, r.b.bin,
		append([]string{"run"}, r.flags...)...)
	if err != nil {
		return err
	}
	healthy := func() bool { _, err := r.mon.get(ctx, "/healthz"); return err == nil }
	if err := waitFor(ctx, r.child, 60*time.Second, "cdrpipe /healthz", healthy); err != nil {
		return err
	}
	msgs := make([]kafka.Message, warmUpCDRs)
	for i := range msgs {
		msgs[i] = r.gen.warmUp(i, time.Now())
	}
	if err := r.w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("produce warm-up CDRs to %s: %w", r.topic, err)
	}
	consumed := func() bool {
		n, err := r.mon.metric(ctx, "cdrpipe_records_total")
		return err == nil && n >= warmUpCDRs
	}
	if err := waitFor(ctx, r.child, 60*time.Second, "cdrpipe to consume the warm-up CDRs", consumed); err != nil {
		return err
	}
	progress("cdrpipe is consuming")
	return nil
}

// measure produces the load while watching flagged_numbers, then waits
// (at most --grace) for the last abusers and for the consumer to catch up.
func (r *latencyRun) measure(ctx context.Context) (latencyResult, error) {
	wat := newWatcher(r.b.wh, latencyDatabase, r.f.abusers)
	stopWatch := wat.start(ctx)
	progress("producing %s CDR/s for %s with %d planted abusers (fan_out at %d distinct callees)",
		thousands(int64(r.f.rate)), r.f.duration, r.f.abusers, r.threshold)
	plan := schedule(r.f.abusers, r.threshold, r.f.duration)
	ld, err := produceLoad(ctx, r.w, r.gen, plan, r.threshold, r.f.rate, r.f.abusers, r.f.duration)
	if err == nil {
		progress("produced %s CDRs; waiting up to %s for flags and consumption", thousands(ld.sent), r.f.grace)
		err = r.await(ctx, wat, warmUpCDRs+ld.sent)
	}
	if werr := stopWatch(); err == nil {
		err = werr
	}
	if err != nil {
		return latencyResult{}, err
	}
	return r.result(ctx, wat, ld)
}

// await waits until every abuser is visible and every CDR consumed, or
// --grace passes; what is still missing then is reported, not waited for.
func (r *latencyRun) await(ctx context.Context, wat *watcher, expect int64) error {
	deadline := time.Now().Add(r.f.grace)
	for time.Now().Before(deadline) {
		if err := wat.failed(); err != nil {
			return err
		}
		n, err := r.mon.metric(ctx, "cdrpipe_records_total")
		if err != nil {
			return err
		}
		if n >= expect && wat.seenCount() == r.f.abusers {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.child.exited():
			return unexpectedExit(r.child)
		case <-time.After(pollEvery):
		}
	}
	progress("gave up waiting after %s", r.f.grace)
	return nil
}

// result gathers the measurement; the child is still running.
func (r *latencyRun) result(ctx context.Context, wat *watcher, ld loadResult) (latencyResult, error) {
	res := latencyResult{machine: r.b.machine, f: r.f, settings: r.settings, load: ld}
	var others int
	res.seen, others, res.polls = wat.sightings()
	res.othersFlagged = others
	for a, at := range res.seen {
		if !at.IsZero() {
			res.latencies = append(res.latencies, at.Sub(ld.crossed[a]))
		}
	}
	var err error
	if res.records, err = r.mon.metric(ctx, "cdrpipe_records_total"); err != nil {
		return res, err
	}
	if res.commits, err = r.mon.metric(ctx, "cdrpipe_offset_commits_total"); err != nil {
		return res, err
	}
	return res, nil
}

// stop sends SIGTERM and requires a clean exit, as an operator would.
func (r *latencyRun) stop(res *latencyResult) error {
	r.stopped = true
	if err := r.child.terminate(); err != nil {
		return err
	}
	t0 := time.Now()
	u, err := r.child.wait()
	if err != nil {
		return fmt.Errorf("cdrpipe did not exit 0 after SIGTERM: %w", err)
	}
	res.usage, res.stopTook = u, time.Since(t0)
	if s, ok := parseSummary(r.child.output()); ok {
		res.summary = s.Line
	}
	return nil
}

// abandon stops the child after a failure, so no cdrpipe outlives the
// harness.
func (r *latencyRun) abandon() {
	if r.stopped || r.child == nil {
		return
	}
	select {
	case <-r.child.exited():
	default:
		_ = r.child.terminate()
		_, _ = r.child.wait()
	}
}
