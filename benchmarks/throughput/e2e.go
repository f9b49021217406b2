package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/traffic"
)

// e2eDatabase is the database the e2e mode's cdrpipe writes; it is
// dropped before each run and kept afterwards for inspection.
const e2eDatabase = "bench_e2e"

// e2eFlags are the e2e mode's flags.
type e2eFlags struct {
	stackFlags
	cdrs        int
	subscribers int
	// twoStages also times cdrpipe in two stages (kafka.repartition) on
	// the same topic.
	twoStages bool
	// model is the traffic: quality (benchmarks/quality's model of the
	// field, the figure that counts) or generator (traffic.Generate, the
	// mix of the older rows).
	model string
}

func parseE2E(args []string) (*e2eFlags, error) {
	f := &e2eFlags{}
	fs := flag.NewFlagSet("e2e", flag.ContinueOnError)
	f.register(fs)
	fs.IntVar(&f.cdrs, "cdrs", 2000000, "about how many CDR lines to generate and read")
	fs.BoolVar(&f.twoStages, "two-stages", false, "also time cdrpipe in two stages (kafka.repartition: an internal topic partitioned by number) on the same topic")
	fs.StringVar(&f.model, "model", "quality", "traffic: quality (benchmarks/quality's model of the field: enterprises, call centres, campaigns, roamers, redialers, messy switches, 24 h) or generator (traffic.Generate's mix)")
	fs.IntVar(&f.subscribers, "subscribers", 500000, "ordinary subscribers of the operator; hours (and then subscribers) are scaled to reach --cdrs")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("e2e: unexpected arguments %q", fs.Args())
	}
	if f.model != "quality" && f.model != "generator" {
		return nil, fmt.Errorf("e2e: --model %q: want quality or generator", f.model)
	}
	if f.cdrs < 10000 || f.subscribers < 1000 {
		return nil, errors.New("e2e: --cdrs must be at least 10000 and --subscribers at least 1000")
	}
	return f, nil
}

// runE2E is the e2e mode: generate, produce, then time the plain
// consumer and cdrpipe on the same topic, and check cdrpipe's rows.
func runE2E(ctx context.Context, args []string, stdout io.Writer) (err error) {
	f, err := parseE2E(args)
	if err != nil {
		return err
	}
	b, err := prepare(ctx, &f.stackFlags, "e2e")
	if err != nil {
		return err
	}
	var topic string
	defer func() { b.finish(ctx, topic, err != nil) }()

	var gen generated
	if f.model == "quality" {
		gen, err = qualityTraffic(ctx, f.cdrs, filepath.Join(b.dir, "traffic.jsonl"))
	} else {
		gen, err = generateTraffic(ctx, f.cdrs, f.subscribers, filepath.Join(b.dir, "traffic.jsonl"))
	}
	if err != nil {
		return err
	}
	b.env = gen.env
	name := "bench-e2e-" + b.stamp
	progress("producing %s lines to %s (%d partitions)", thousands(gen.truth.Lines), name, f.partitions)
	topic = name // from here on, the topic may exist
	prod, err := produceFile(ctx, b.brokers, topic, f.partitions, gen.path)
	if err != nil {
		return err
	}
	if prod.Messages != gen.truth.Lines {
		return fmt.Errorf("produced %d messages, generated %d lines", prod.Messages, gen.truth.Lines)
	}
	plain, err := b.runPlain(ctx, topic, prod.Messages)
	if err != nil {
		return err
	}
	pipe, err := b.runPipeline(ctx, topic, prod.Messages, false)
	if err != nil {
		return err
	}
	rows, err := verifyRows(ctx, b.wh, gen.truth)
	if err != nil {
		return err
	}
	res := e2eResult{machine: b.machine, gen: gen, prod: prod, plain: plain, pipe: pipe, rows: rows, topic: topic}
	if f.twoStages {
		if res.two, err = b.runPipeline(ctx, topic, prod.Messages, true); err != nil {
			return err
		}
		if _, err := verifyRows(ctx, b.wh, gen.truth); err != nil {
			return fmt.Errorf("two stages: %w", err)
		}
	}
	res.print(stdout)
	return writeResult(stdout, res.table(), f.out)
}

// generated is the traffic file and what it holds.
type generated struct {
	path        string
	truth       traffic.Truth
	subscribers int
	hours       int
	elapsed     time.Duration
	model       string
	env         []string // the settings cdrpipe reads the traffic with
}

// The default traffic mix writes about linesPerSubscriberHour lines per
// ordinary subscriber and hour (1.2 calls less those that do not fit,
// plus re-sends and malformed lines) and plantedLines for the 60 planted
// callers, whatever the size: measured with `cdrpipe gen` at 100k and 500k
// subscribers for 1 h (121,859 and 595,460 lines) and 500k for 3 h
// (1,773,737).
const (
	linesPerSubscriberHour = 1.183
	plantedLines           = 3500
)

// sizeTraffic picks whole hours of the operator's traffic, then adjusts
// the subscribers so the lines come close to cdrs. Scaling hours first
// keeps the operator's size, so long runs exercise windows closing and
// callers being forgotten as a long-running consumer does.
func sizeTraffic(cdrs, subscribers int) (subs, hours int) {
	ordinary := float64(max(cdrs-plantedLines, 1000))
	hours = max(1, int(math.Round(ordinary/(float64(subscribers)*linesPerSubscriberHour))))
	subs = int(math.Round(ordinary / (float64(hours) * linesPerSubscriberHour)))
	return subs, hours
}

// generateTraffic writes about cdrs lines of the realistic mix to path.
func generateTraffic(ctx context.Context, cdrs, subscribers int, path string) (generated, error) {
	subs, hours := sizeTraffic(cdrs, subscribers)
	tc := traffic.DefaultConfig()
	tc.Subscribers, tc.Duration = subs, time.Duration(hours)*time.Hour
	// As in DefaultConfig, end four hours ago: the one far-future record,
	// dated three hours after the end, must still be in the past, or the
	// pipeline rightly rejects it and the row count is off by one.
	tc.Start = time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(hours+4) * time.Hour)
	progress("generating %d h of traffic for %s subscribers", hours, thousands(int64(subs)))
	f, err := os.Create(path)
	if err != nil {
		return generated{}, fmt.Errorf("create traffic file: %w", err)
	}
	start := time.Now()
	truth, err := traffic.Generate(ctx, tc, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close traffic file: %w", cerr)
	}
	if err != nil {
		return generated{}, fmt.Errorf("generate traffic: %w", err)
	}
	return generated{path: path, truth: truth, subscribers: subs, hours: hours, elapsed: time.Since(start), model: "generator",
		env: []string{"CDRPIPE_INPUT_SWITCH_ZONES=" + strings.Join(traffic.SwitchZones(), ",")}}, nil
}

// qualityLinesPerSubscriberDay is what benchmarks/quality's model writes
// per ordinary subscriber and day: 1,467,454 lines for 50,000 (seed 1).
const qualityLinesPerSubscriberDay = 29.35

// qualityTraffic writes a day of benchmarks/quality's model, sized to
// about cdrs lines, by running that command with --emit; it reads the
// settings and the counts the command writes beside the file.
func qualityTraffic(ctx context.Context, cdrs int, path string) (generated, error) {
	subs := max(2000, int(math.Round(float64(cdrs)/qualityLinesPerSubscriberDay)))
	progress("generating 24 h of benchmarks/quality's model for %s subscribers", thousands(int64(subs)))
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "run", "./benchmarks/quality", "--emit", path, "--hours", "24",
		"--subscribers", strconv.Itoa(subs), "--seed", "1")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return generated{}, fmt.Errorf("benchmarks/quality --emit (run from the repository's root): %w", err)
	}
	b, err := os.ReadFile(path + ".env")
	if err != nil {
		return generated{}, fmt.Errorf("quality model settings: %w", err)
	}
	g := generated{path: path, subscribers: subs, hours: 24, elapsed: time.Since(start), model: "quality"}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if counts, ok := strings.CutPrefix(l, "# "); ok {
			var dup int64
			if _, err := fmt.Sscanf(counts, "lines=%d unique_valid=%d malformed=%d duplicates=%d",
				&g.truth.Lines, &g.truth.UniqueValid, &g.truth.Malformed, &dup); err != nil {
				return generated{}, fmt.Errorf("quality model counts %q: %w", counts, err)
			}
			g.truth.Duplicates = dup
			continue
		}
		g.env = append(g.env, l)
	}
	if g.truth.Lines == 0 {
		return generated{}, fmt.Errorf("quality model wrote no counts to %s.env", path)
	}
	return g, nil
}

// plainRun is the plain consumer's run.
type plainRun struct {
	usage
	result consumeResult
}

// runPlain times the plain consumer, this program re-executed in its
// hidden consume mode, reading the whole topic in a fresh group.
func (b *bench) runPlain(ctx context.Context, topic string, expect int64) (plainRun, error) {
	self, err := os.Executable()
	if err != nil {
		return plainRun{}, fmt.Errorf("find this program to re-execute: %w", err)
	}
	progress("plain consumer: reading %s", topic)
	c, err := startChild(ctx, "plain consumer", filepath.Join(b.dir, "plain.log"), nil, self, consumeMode,
		"--brokers", strings.Join(b.brokers, ","), "--topic", topic, "--group", "bench-e2e-plain-"+b.stamp,
		"--expect", strconv.FormatInt(expect, 10))
	if err != nil {
		return plainRun{}, err
	}
	u, err := c.wait()
	if err != nil {
		return plainRun{}, err
	}
	var r consumeResult
	if err := json.Unmarshal([]byte(c.output()), &r); err != nil {
		return plainRun{}, fmt.Errorf("plain consumer printed %q, not its result: %w", c.output(), err)
	}
	return plainRun{usage: u, result: r}, nil
}

// pipelineRun is cdrpipe's run.
type pipelineRun struct {
	usage
	summary summary
	// stages are cdrpipe's CPU seconds per stage, from its CPU profile.
	stages map[string]float64
	// services are the CPU the ClickHouse server and the broker spent
	// during the run and settle after it.
	services map[string]time.Duration
}

// settle is how long after cdrpipe exits the server's CPU is still
// charged to the run: it merges the parts the run inserted.
const settle = 10 * time.Second

// runPipeline times `cdrpipe run --until-caught-up` on the topic, in a
// fresh group, into a freshly dropped database.
func (b *bench) runPipeline(ctx context.Context, topic string, expect int64, twoStages bool) (pipelineRun, error) {
	if err := b.wh.dropDatabase(ctx, e2eDatabase); err != nil {
		return pipelineRun{}, err
	}
	// The traffic's local-time switches need their zones, and the
	// model its international trunks and day zone.
	env := slices.Clone(b.env)
	group, log := "bench-e2e-cdrpipe-"+b.stamp, "cdrpipe.log"
	if twoStages {
		env = append(env, "CDRPIPE_KAFKA_REPARTITION_ENABLED=true")
		group, log = group+"-two", "cdrpipe-two-stages.log"
	}
	progress("cdrpipe run --until-caught-up (two stages: %v): reading %s into %s", twoStages, topic, e2eDatabase)
	prof := filepath.Join(b.dir, strings.TrimSuffix(log, ".log")+".pprof")
	meter := startMeter(stackServices(b.flags.stackDir))
	c, err := startChild(ctx, "cdrpipe run", filepath.Join(b.dir, log), env, b.bin, "run",
		"--brokers", strings.Join(b.brokers, ","), "--clickhouse-addr", b.flags.clickhouse,
		"--topic", topic, "--group", group, "--database", e2eDatabase, "--until-caught-up", "--cpuprofile", prof)
	if err != nil {
		return pipelineRun{}, err
	}
	u, err := c.wait()
	if err != nil {
		return pipelineRun{}, err
	}
	progress("charging the services %s more for the merges of the run's parts", settle)
	time.Sleep(settle)
	services := meter.stop()
	stages, err := stageSeconds(prof)
	if err != nil {
		progress("warning: %v", err)
	}
	sum, ok := parseSummary(c.output())
	if !ok {
		// The row check below is what proves the run; the summary only
		// adds cdrpipe's own timing, so a changed format is not fatal.
		progress("warning: cdrpipe printed no summary line this harness understands: %q", c.output())
	} else if sum.Records != expect {
		return pipelineRun{}, fmt.Errorf("cdrpipe read %d records, the topic holds %d", sum.Records, expect)
	}
	return pipelineRun{usage: u, summary: sum, stages: stages, services: services}, nil
}

// summary is what `cdrpipe run` printed at the end.
type summary struct {
	Line                                string
	Records, Valid, Rejects, Duplicates int64
	Seconds, PerSecond                  float64
}

var (
	summaryCounts = regexp.MustCompile(`records (\d+) \(valid (\d+), rejects (\d+), duplicates (\d+)`)
	summaryTiming = regexp.MustCompile(`, ([0-9.]+)s, ([0-9.]+) CDR/s`)
)

// parseSummary finds the "summary:" line of `cdrpipe run`.
func parseSummary(out string) (summary, bool) {
	for _, l := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(l, "summary: ")
		if !ok {
			continue
		}
		s := summary{Line: rest}
		c := summaryCounts.FindStringSubmatch(rest)
		t := summaryTiming.FindStringSubmatch(rest)
		if c == nil || t == nil {
			return s, false
		}
		s.Records, _ = strconv.ParseInt(c[1], 10, 64)
		s.Valid, _ = strconv.ParseInt(c[2], 10, 64)
		s.Rejects, _ = strconv.ParseInt(c[3], 10, 64)
		s.Duplicates, _ = strconv.ParseInt(c[4], 10, 64)
		s.Seconds, _ = strconv.ParseFloat(t[1], 64)
		s.PerSecond, _ = strconv.ParseFloat(t[2], 64)
		return s, true
	}
	return summary{}, false
}

// rowCheck is what the e2e database holds after the run.
type rowCheck struct {
	CDRs, Rejects uint64
}

// verifyRows requires exactly one cdrs row per unique valid CDR generated
// and one cdr_rejects row per malformed line: a pipeline that is fast
// because it lost or doubled records must not produce a benchmark figure.
func verifyRows(ctx context.Context, wh *warehouse, truth traffic.Truth) (rowCheck, error) {
	var rc rowCheck
	var err error
	// FINAL collapses re-inserted keys, as every exact query must.
	if rc.CDRs, err = wh.count(ctx, "SELECT count() FROM "+e2eDatabase+".cdrs FINAL"); err != nil {
		return rc, err
	}
	if rc.Rejects, err = wh.count(ctx, "SELECT count() FROM "+e2eDatabase+".cdr_rejects FINAL"); err != nil {
		return rc, err
	}
	progress("rows: %s.cdrs %s (want %s), cdr_rejects %s (want %s)", e2eDatabase,
		thousands(int64(rc.CDRs)), thousands(truth.UniqueValid), thousands(int64(rc.Rejects)), thousands(truth.Malformed))
	if int64(rc.CDRs) != truth.UniqueValid || int64(rc.Rejects) != truth.Malformed {
		return rc, fmt.Errorf("WRONG ROW COUNT: %s.cdrs holds %d rows, want %d unique valid CDRs; cdr_rejects holds %d, want %d malformed lines",
			e2eDatabase, rc.CDRs, truth.UniqueValid, rc.Rejects, truth.Malformed)
	}
	return rc, nil
}

// e2eResult is everything the e2e mode measured.
type e2eResult struct {
	machine machine
	gen     generated
	prod    produced
	plain   plainRun
	pipe    pipelineRun
	rows    rowCheck
	topic   string
	// two is cdrpipe in two stages, when timed (Wall is zero otherwise).
	two pipelineRun
}

// Rates are CDRs over each child's wall time, process start to exit, so
// both pay the same fixed costs (start, group join, leaving the group);
// cdrpipe also pays its ClickHouse connection and migrations, which is
// what a bounded run costs an operator.
func (r e2eResult) plainRate() float64 { return perSecond(r.prod.Messages, r.plain.Wall) }
func (r e2eResult) pipeRate() float64  { return perSecond(r.prod.Messages, r.pipe.Wall) }

// print writes the results for a reader.
func (r e2eResult) print(w io.Writer) {
	t, n := r.gen.truth, r.prod.Messages
	fmt.Fprintf(w, "machine: %s, %s\n", r.machine, r.machine.Date.Format(time.RFC3339))
	fmt.Fprintf(w, "traffic (%s): %s lines (%s unique valid, %s re-sent, %s malformed), %s subscribers × %d h, generated in %s\n",
		r.gen.model, thousands(t.Lines), thousands(t.UniqueValid), thousands(t.Duplicates), thousands(t.Malformed),
		thousands(int64(r.gen.subscribers)), r.gen.hours, r.gen.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "produce: %s messages to %s in %s: %s CDR/s\n",
		thousands(n), r.topic, r.prod.Elapsed.Round(time.Millisecond), rate(r.prod.PerSecond()))
	pr := r.plain.result
	fmt.Fprintf(w, "plain consumer: %s CDR/s over %s wall (own clock: %s from first fetch, %s from first message, %d commits, %s leaving the group); peak RSS %s MiB; CPU %s (%s s per M CDRs)\n",
		rate(r.plainRate()), r.plain.Wall.Round(time.Millisecond),
		seconds(pr.Seconds), seconds(pr.FromFirstSeconds), pr.Commits, seconds(pr.CloseSeconds),
		mib(r.plain.MaxRSS), r.plain.CPU.Round(time.Millisecond), cpuPerMillion(r.plain.CPU, n))
	fmt.Fprintf(w, "cdrpipe run:    %s CDR/s over %s wall; peak RSS %s MiB; CPU %s (%s s per M CDRs)\n",
		rate(r.pipeRate()), r.pipe.Wall.Round(time.Millisecond),
		mib(r.pipe.MaxRSS), r.pipe.CPU.Round(time.Millisecond), cpuPerMillion(r.pipe.CPU, n))
	if r.pipe.summary.Line != "" {
		fmt.Fprintf(w, "cdrpipe summary: %s\n", r.pipe.summary.Line)
	}
	r.pipe.printCPU(w, "cdrpipe", n)
	fmt.Fprintf(w, "rows: %s.cdrs FINAL %s = unique valid CDRs; cdr_rejects FINAL %s = malformed lines\n",
		e2eDatabase, thousands(int64(r.rows.CDRs)), thousands(int64(r.rows.Rejects)))
	fmt.Fprintf(w, "ratio cdrpipe/plain (wall): %.2f\n", r.ratio())
	if r.two.Wall > 0 {
		fmt.Fprintf(w, "cdrpipe run, two stages: %s CDR/s over %s wall (%.2f of one stage); peak RSS %s MiB; CPU %s (%s s per M CDRs); rows checked again\n",
			rate(r.twoRate()), r.two.Wall.Round(time.Millisecond), r.twoRate()/r.pipeRate(),
			mib(r.two.MaxRSS), r.two.CPU.Round(time.Millisecond), cpuPerMillion(r.two.CPU, n))
		r.two.printCPU(w, "cdrpipe, two stages", n)
	}
}

// printCPU writes what each CDR cost in CPU-µs: cdrpipe by stage (from
// its profile, scaled to its rusage CPU), the ClickHouse server and the
// broker.
func (p pipelineRun) printCPU(w io.Writer, who string, n int64) {
	if n == 0 {
		return
	}
	us := func(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()*1e6/float64(n)) }
	var profiled float64
	for _, s := range p.stages {
		profiled += s
	}
	fmt.Fprintf(w, "%s CPU per CDR: %s µs", who, us(p.CPU))
	if profiled > 0 {
		var parts []string
		for _, name := range stageNames {
			if s := p.stages[name]; s > 0 {
				share := s / profiled
				parts = append(parts, fmt.Sprintf("%s %s (%.0f%%)", name, us(time.Duration(share*float64(p.CPU))), 100*share))
			}
		}
		fmt.Fprintf(w, " = %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	for _, name := range []string{"clickhouse", "kafka"} {
		if d, ok := p.services[name]; ok {
			fmt.Fprintf(w, "%s server CPU per CDR (during the run and %s after): %s µs\n", name, settle, us(d))
		}
	}
}

// twoRate is the two-stage run's CDRs over its wall time.
func (r e2eResult) twoRate() float64 { return perSecond(r.prod.Messages, r.two.Wall) }

// seconds renders a float number of seconds as a rounded duration.
func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond)
}

func (r e2eResult) ratio() float64 {
	if r.plainRate() == 0 {
		return 0
	}
	return r.pipeRate() / r.plainRate()
}

// table is the markdown row of this run.
func (r e2eResult) table() table {
	n := r.prod.Messages
	return table{
		header: []string{"date", "CDRs", "produce CDR/s", "plain consume CDR/s (wall)", "cdrpipe CDR/s (wall)", "cdrpipe/plain",
			"plain peak RSS MiB", "cdrpipe peak RSS MiB", "plain CPU s per M CDRs", "cdrpipe CPU s per M CDRs",
			"plain wall s", "cdrpipe wall s", "cdrpipe CPU µs per CDR", "ClickHouse CPU µs per CDR", "Kafka CPU µs per CDR", "machine"},
		row: []string{r.machine.Date.Format("2006-01-02 15:04"), thousands(n), rate(r.prod.PerSecond()),
			rate(r.plainRate()), rate(r.pipeRate()), fmt.Sprintf("%.2f", r.ratio()),
			mib(r.plain.MaxRSS), mib(r.pipe.MaxRSS), cpuPerMillion(r.plain.CPU, n), cpuPerMillion(r.pipe.CPU, n),
			fmt.Sprintf("%.1f", r.plain.Wall.Seconds()), fmt.Sprintf("%.1f", r.pipe.Wall.Seconds()),
			perCDR(r.pipe.CPU, n), perCDR(r.pipe.services["clickhouse"], n), perCDR(r.pipe.services["kafka"], n), r.machine.String()},
	}
}

// perCDR renders d per CDR in µs.
func perCDR(d time.Duration, n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", d.Seconds()*1e6/float64(n))
}
