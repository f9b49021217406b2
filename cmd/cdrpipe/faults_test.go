//go:build faults

package main

// Fault tests (`make test-faults`): the real binary against the real
// broker and server, killed, stopped and restarted while it works, and
// the services under it restarted. After each, the flags, the blocklist
// and the caller stats must equal those of a run that was never
// disturbed, and a plain SELECT must see each call once. They take the
// local stack over (they restart its services), so they run alone, after
// `make test`.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// faultRig is a topic of generated traffic and the binary to run on it.
type faultRig struct {
	t     *testing.T
	stack e2e.Stack
	bin   string
	topic string
	env   []string
	conn  driver.Conn
	data  string // the generated JSON lines
	truth traffic.Truth
}

// newFaultRig builds the binary and generates hours of the traffic
// model's traffic for subscribers, produced to a fresh topic (by `produce`
// with produceFlags, such as --key).
func newFaultRig(t *testing.T, subscribers, hours int, produceFlags ...string) *faultRig {
	t.Helper()
	stack := e2e.Require(t)
	f := newRig(t, stack.Brokers, stack.ClickHouseAddr, "cdrs_fault")
	f.stack, f.conn = stack, stack.ClickHouse(t)
	f.generate(subscribers, hours, produceFlags...)
	return f
}

// newRig is a rig of the binary on brokers and the ClickHouse at chAddr,
// with a fresh topic named after prefix and the settings of the fault
// tests in its environment (extra ones too).
func newRig(t *testing.T, brokers []string, chAddr, prefix string, extraEnv ...string) *faultRig {
	t.Helper()
	f := &faultRig{t: t, bin: buildBinary(t), topic: e2e.Name(prefix)}
	f.env = append(os.Environ(),
		"CDRPIPE_KAFKA_BROKERS="+strings.Join(brokers, ","),
		"CDRPIPE_CLICKHOUSE_ADDR="+chAddr,
		"CDRPIPE_KAFKA_TOPIC="+f.topic,
		"CDRPIPE_SINK_BATCH_SIZE=5000",
		"CDRPIPE_INPUT_SWITCH_ZONES="+strings.Join(traffic.SwitchZones(), ","),
		"CDRPIPE_KAFKA_STATE_DIR="+t.TempDir(),
	)
	f.env = append(f.env, extraEnv...)
	return f
}

// generate writes hours of the traffic model's traffic for subscribers
// and produces it to the rig's topic (by `produce` with produceFlags,
// such as --key).
func (f *faultRig) generate(subscribers, hours int, produceFlags ...string) {
	f.t.Helper()
	dir := f.t.TempDir()
	f.data = filepath.Join(dir, "t.jsonl")
	truthFile := filepath.Join(dir, "truth.json")
	start := time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(hours+4) * time.Hour).Format(time.RFC3339)
	f.must("gen", "--subscribers", fmt.Sprint(subscribers), "--start", start, "--duration", fmt.Sprintf("%dh", hours),
		"--out", f.data, "--truth", truthFile)
	f.must(append(append([]string{"produce"}, produceFlags...), f.data)...)
	b, err := os.ReadFile(truthFile)
	if err != nil {
		f.t.Fatal(err)
	}
	if f.truth, err = traffic.ReadTruth(bytes.NewReader(b)); err != nil {
		f.t.Fatal(err)
	}
}

// cmd is the binary with args, reading the rig's topic into database db
// as group.
func (f *faultRig) cmd(ctx context.Context, group, db string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, f.bin, args...)
	c.Env = append(slicesClone(f.env), "CDRPIPE_KAFKA_GROUP="+group, "CDRPIPE_CLICKHOUSE_DATABASE="+db)
	return c
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// must runs the binary with args to completion, failing on an error.
func (f *faultRig) must(args ...string) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := f.cmd(ctx, e2e.Name("g"), e2e.Name("cdrpipe_unused"), args...).CombinedOutput()
	if err != nil {
		f.t.Fatalf("cdrpipe %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// caughtUp runs `run --until-caught-up` as group into db.
func (f *faultRig) caughtUp(group, db string) { f.t.Helper(); f.caughtUpOut(group, db) }

// caughtUpOut is caughtUp, returning the run's output.
func (f *faultRig) caughtUpOut(group, db string) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := f.cmd(ctx, group, db, "run", "--until-caught-up").CombinedOutput()
	if err != nil {
		f.t.Fatalf("run --until-caught-up into %s: %v\n%s", db, err, out)
	}
	f.t.Logf("run --until-caught-up into %s: %s (%s)", db, summaryLine(string(out)), time.Since(start).Round(time.Millisecond))
	return string(out)
}

// process is a running `cdrpipe run`.
type process struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	start  time.Time
}

// start starts `cdrpipe run` as group into db.
func (f *faultRig) start(group, db string) *process {
	f.t.Helper()
	p := &process{cmd: f.cmd(context.Background(), group, db, "run"), stderr: new(bytes.Buffer), start: time.Now()}
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// waitFor waits until the process's log holds s, failing after d.
func (f *faultRig) waitFor(p *process, s string, d time.Duration) time.Duration {
	f.t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			f.t.Fatalf("%q not logged within %s:\n%s", s, d, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(p.start)
}

// written waits until db holds at least n calls, failing after d.
func (f *faultRig) written(db string, n uint64, d time.Duration) {
	f.t.Helper()
	deadline := time.Now().Add(d)
	for {
		// Until the run has migrated, the table is missing; while a
		// cluster migration makes a Distributed table again, 18.16 fails
		// reads of system.tables: both just mean "not yet".
		var got uint64
		err := f.conn.QueryRow(context.Background(), "SELECT count() FROM "+db+".cdrs").Scan(&got)
		if err == nil && got >= n {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("fewer than %d calls in %s after %s", n, db, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill kills p with SIGKILL, as the OOM killer or a power cut does.
func kill(t *testing.T, p *process) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// outcome reads what must not depend on the faults: the flagged (number,
// trait) pairs, the blocklist, the caller stats, and the plain counts of
// calls and rejects.
func (f *faultRig) outcome(db string) map[string][]string {
	f.t.Helper()
	q := map[string]string{
		"flags":     "SELECT DISTINCT concat(number, ' ', detector) FROM " + db + ".flagged_numbers ORDER BY 1",
		"blocklist": "SELECT concat(number, ' ', toString(round(score, 4))) FROM " + db + ".blocklist ORDER BY 1",
		"stats": "SELECT concat(caller, ' ', toString(window_start), ' ', toString(calls), ' ', toString(answered), ' ', " +
			"toString(distinct_callees), ' ', toString(short_calls), ' ', toString(round(avg_talk, 3)), ' ', toString(round(sequential_score, 3))) " +
			"FROM " + db + ".caller_stats ORDER BY 1",
		"plain counts": "SELECT concat(toString((SELECT count() FROM " + db + ".cdrs)), ' calls, ', toString((SELECT count() FROM " + db + ".cdr_rejects)), ' rejects')",
	}
	out := map[string][]string{}
	for name, sql := range q {
		out[name] = e2e.Column(f.t, f.conn, sql)
	}
	return out
}

// same fails t unless got equals want, naming the first differences.
func same(t *testing.T, what string, want, got map[string][]string) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if strings.Join(w, "\n") == strings.Join(g, "\n") {
			continue
		}
		in := map[string]bool{}
		for _, s := range g {
			in[s] = true
		}
		var missing, extra []string
		for _, s := range w {
			if !in[s] {
				missing = append(missing, s)
			}
			delete(in, s)
		}
		for s := range in {
			extra = append(extra, s)
		}
		t.Errorf("%s: %s differs from the undisturbed run (%d rows / %d): missing %v, extra %v",
			what, name, len(w), len(g), firstOf(missing), firstOf(extra))
	}
}

func firstOf(s []string) []string { return s[:min(len(s), 5)] }

// summaryLine picks the summary out of a run's output.
func summaryLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "summary:") {
			return strings.TrimSpace(l)
		}
	}
	return "(no summary)"
}

// reference runs an undisturbed bounded run into a fresh database and
// returns its outcome.
func (f *faultRig) reference() map[string][]string {
	f.t.Helper()
	db := e2e.Name("cdrpipe_ref")
	f.drop(db)
	f.caughtUp(e2e.Name("g_ref"), db)
	out := f.outcome(db)
	if len(out["flags"]) < 50 || len(out["blocklist"]) < 10 || len(out["stats"]) < 100 {
		f.t.Fatalf("the reference run flagged %d pairs, blocked %d, wrote %d stats rows: the traffic tests nothing",
			len(out["flags"]), len(out["blocklist"]), len(out["stats"]))
	}
	want := fmt.Sprintf("%d calls, %d rejects", f.truth.UniqueValid, f.truth.Malformed)
	if got := out["plain counts"][0]; got != want {
		f.t.Errorf("reference run: %s, want %s", got, want)
	}
	return out
}

// drop drops db when the test passes.
func (f *faultRig) drop(db string) {
	f.t.Cleanup(func() {
		if !f.t.Failed() {
			f.conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		}
	})
}

// TestFaultKilledTwiceThenResumed kills a running pipeline with SIGKILL at
// two random points, each after it wrote something, restarts it, and
// lets the last start run until caught up: everything equals an
// undisturbed run, a plain count sees each call once, and each restart
// takes its partitions back within seconds (the killed member is made to
// leave the group instead of timing out).
func TestFaultKilledTwiceThenResumed(t *testing.T) {
	f := newFaultRig(t, 60000, 3)
	want := f.reference()
	group, db := e2e.Name("g_kill"), e2e.Name("cdrpipe_kill")
	f.drop(db)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	total := int(f.truth.UniqueValid)
	// The first kill after a quarter to 60% of the calls are written, the
	// second after 75 to 95%: each restart resumes from commits of its
	// own, not from the start of the topic. (Offsets are committed only
	// up to the oldest window still open and its callback grace, about
	// 1.6 h of the 3 h of traffic behind the watermark: a second kill
	// at 60% could come before anything was committable.)
	for i, at := range []int{total/4 + rng.IntN(total*35/100), total*75/100 + rng.IntN(total*20/100)} {
		p := f.start(group, db)
		took := f.waitFor(p, "assignment:", 20*time.Second)
		t.Logf("start %d took its partitions after %s", i+1, took.Round(time.Millisecond))
		if i > 0 && took > 8*time.Second {
			t.Errorf("the restart after a SIGKILL took its partitions back after %s, want seconds", took.Round(time.Millisecond))
		}
		f.written(db, uint64(at), time.Minute)
		kill(t, p)
		t.Logf("killed after %s with %d calls written", time.Since(p.start).Round(time.Millisecond),
			e2e.Count(t, f.conn, "SELECT count() FROM "+db+".cdrs"))
	}
	out := f.caughtUpOut(group, db)
	if strings.Contains(out, fmt.Sprintf("records %d ", f.truth.Lines)) {
		t.Errorf("the last start re-read the whole topic: nothing was committed before the kills\n%s", summaryLine(out))
	}
	same(t, "killed twice", want, f.outcome(db))
}

// TestFaultSIGTERMThenResumed stops a running pipeline with SIGTERM at a
// random point: it exits 0 having written and committed what it
// processed; the next start finishes the topic, and everything equals an
// undisturbed run.
func TestFaultSIGTERMThenResumed(t *testing.T) {
	f := newFaultRig(t, 60000, 3)
	want := f.reference()
	group, db := e2e.Name("g_term"), e2e.Name("cdrpipe_term")
	f.drop(db)
	p := f.start(group, db)
	f.written(db, uint64(rand.IntN(int(f.truth.UniqueValid)/2))+1, time.Minute)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("run after SIGTERM: %v (want exit 0)\n%s", err, p.stderr.String())
	}
	f.caughtUp(group, db)
	same(t, "SIGTERM", want, f.outcome(db))
}

// runBounded starts `run --until-caught-up` as group into db.
func (f *faultRig) runBounded(group, db string) *process {
	f.t.Helper()
	p := &process{cmd: f.cmd(context.Background(), group, db, "run", "--until-caught-up"), stderr: new(bytes.Buffer), start: time.Now()}
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// finish waits up to d for p to exit 0.
func (f *faultRig) finish(p *process, d time.Duration) {
	f.t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			f.t.Fatalf("run: %v\n%s", err, p.stderr.String())
		}
		f.t.Logf("run finished after %s: %s", time.Since(p.start).Round(time.Millisecond), summaryLine(p.stderr.String()))
	case <-time.After(d):
		p.cmd.Process.Kill()
		f.t.Fatalf("run did not finish within %s:\n%s", d, p.stderr.String())
	}
}

// TestFaultClickHouseRestart kills ClickHouse while a bounded run writes,
// and starts it again: the run waits, retries, finishes, and everything
// equals an undisturbed run.
func TestFaultClickHouseRestart(t *testing.T) {
	f := newFaultRig(t, 60000, 3)
	want := f.reference()
	group, db := e2e.Name("g_chr"), e2e.Name("cdrpipe_chr")
	f.drop(db)
	p := f.runBounded(group, db)
	f.written(db, uint64(f.truth.UniqueValid/4), time.Minute)
	e2e.Control(t, "kill", "clickhouse")
	time.Sleep(2 * time.Second)
	e2e.Control(t, "start", "clickhouse")
	f.conn = f.stack.ClickHouse(t)
	f.finish(p, 3*time.Minute)
	if !strings.Contains(p.stderr.String(), "retry") {
		t.Errorf("the run never retried a write while ClickHouse was down:\n%s", p.stderr.String())
	}
	same(t, "ClickHouse restarted", want, f.outcome(db))
}

// TestFaultBrokerRestart kills the Kafka broker while a bounded run
// reads, and starts it again: the run rejoins its group, finishes, and
// everything equals an undisturbed run.
func TestFaultBrokerRestart(t *testing.T) {
	f := newFaultRig(t, 60000, 3)
	want := f.reference()
	group, db := e2e.Name("g_kr"), e2e.Name("cdrpipe_kr")
	f.drop(db)
	p := f.runBounded(group, db)
	f.written(db, uint64(f.truth.UniqueValid/4), time.Minute)
	e2e.Control(t, "kill", "kafka")
	time.Sleep(time.Second)
	e2e.Control(t, "start", "kafka")
	f.finish(p, 4*time.Minute)
	same(t, "broker restarted", want, f.outcome(db))
}

// TestFaultSIGTERMDuringBurst stops a running pipeline with SIGTERM while
// a burst is being produced into its topic; the next start finishes the
// topic, and everything equals an undisturbed run over all of it.
func TestFaultSIGTERMDuringBurst(t *testing.T) {
	f := newFaultRig(t, 60000, 3)
	// Hold the last 60% back as the burst: a fresh topic gets the first
	// 40%, then the rest while the pipeline runs.
	lines, err := os.ReadFile(f.data)
	if err != nil {
		t.Fatal(err)
	}
	all := bytes.SplitAfter(lines, []byte("\n"))
	cut := len(all) * 40 / 100
	dir := t.TempDir()
	first, burst := filepath.Join(dir, "first.jsonl"), filepath.Join(dir, "burst.jsonl")
	if err := os.WriteFile(first, bytes.Join(all[:cut], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(burst, bytes.Join(all[cut:], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	f.topic = e2e.Name("cdrs_burst")
	f.env = append(f.env, "CDRPIPE_KAFKA_TOPIC="+f.topic)
	f.must("produce", first)
	group, db := e2e.Name("g_burst"), e2e.Name("cdrpipe_burst")
	f.drop(db)
	p := f.start(group, db)
	f.written(db, uint64(cut/4), time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	producing := f.cmd(ctx, e2e.Name("g"), e2e.Name("cdrpipe_unused"), "produce", burst)
	var pout bytes.Buffer
	producing.Stdout, producing.Stderr = &pout, &pout
	if err := producing.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("run after SIGTERM during the burst: %v (want exit 0)\n%s", err, p.stderr.String())
	}
	if err := producing.Wait(); err != nil {
		t.Fatalf("produce the burst: %v\n%s", err, pout.String())
	}
	f.caughtUp(group, db)
	got := f.outcome(db)
	want := f.reference()
	same(t, "SIGTERM during a burst", want, got)
}
