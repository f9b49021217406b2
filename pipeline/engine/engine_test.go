package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/schemas"
)

var t0 = time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)

func engineConfig(c config.Config) Config {
	return Config{Window: c.Window, Detectors: c.Detectors, Stats: c.Stats, Engine: c.Engine, Numbering: c.Numbering, Verdict: c.Verdict()}
}

// prep classifies test records as a default engine would.
var prep, _ = New(engineConfig(config.Default()))

func testEngine(t testing.TB, shards int) *Engine {
	t.Helper()
	c := config.Default()
	c.Engine.Shards = shards
	e, err := New(engineConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var seq int

// call builds a prepared record.
func call(caller, callee string, at time.Time, talk float64) *Record {
	seq++
	c := schemas.CDR{CallID: fmt.Sprint("id", seq), Caller: caller, Callee: callee, StartTime: at, Duration: talk}
	c.Key = c.CallID
	if talk > 0 {
		c.Disposition = schemas.Answered
	} else {
		c.Disposition = schemas.NoAnswer
	}
	r := &Record{CDR: c}
	prep.Prepare(r)
	return r
}

// flags runs batches through e at watermark wm and returns flags by
// detector and number.
type result struct {
	flags map[string]map[string][]time.Time // detector → number → window starts
	out   Output
}

func run(e *Engine, wm time.Time, recs ...*Record) result {
	res := result{flags: map[string]map[string][]time.Time{}}
	outs := e.Process(recs, wm, !wm.IsZero())
	for _, o := range outs {
		for _, f := range o.Flags {
			if res.flags[f.Detector] == nil {
				res.flags[f.Detector] = map[string][]time.Time{}
			}
			res.flags[f.Detector][f.Number] = append(res.flags[f.Detector][f.Number], f.WindowStart)
		}
		res.out.CDRs = append(res.out.CDRs, o.CDRs...)
		res.out.Stats = append(res.out.Stats, o.Stats...)
		res.out.Duplicates += o.Duplicates
		res.out.Late += o.Late
	}
	return res
}

func number(i int) string { return fmt.Sprintf("+86139%08d", i) }

func TestFanOutFlagsAsSoonAsCrossed(t *testing.T) {
	e := testEngine(t, 2)
	caller := "+8613800000001"
	var recs []*Record
	for i := range 49 {
		recs = append(recs, call(caller, number(i*1000), t0.Add(time.Duration(i)*20*time.Second), 60))
	}
	if r := run(e, time.Time{}, recs...); len(r.flags["fan_out"]) != 0 {
		t.Fatalf("49 distinct callees flagged fan_out: %v", r.flags)
	}
	// Repeating a callee does not count.
	if r := run(e, time.Time{}, call(caller, number(0), t0.Add(20*time.Minute), 60)); len(r.flags["fan_out"]) != 0 {
		t.Fatalf("a repeated callee flagged fan_out")
	}
	r := run(e, time.Time{}, call(caller, number(99000), t0.Add(21*time.Minute), 60))
	wins := r.flags["fan_out"][caller]
	if len(wins) == 0 {
		t.Fatalf("50th distinct callee did not flag: %v", r.flags)
	}
	// Every window holding all 50 calls ([t0-35m .. t0]) is flagged once.
	if len(wins) != 8 {
		t.Errorf("flagged %d windows, want 8 (starts %v)", len(wins), wins)
	}
	if r := run(e, time.Time{}, call(caller, number(99001), t0.Add(22*time.Minute), 60)); len(r.flags["fan_out"]) != 0 {
		t.Errorf("windows flagged twice: %v", r.flags)
	}
}

func TestClosingWindowRefreshesEvidence(t *testing.T) {
	e := testEngine(t, 1)
	caller := "+8613800000010"
	var recs []*Record
	for i := range 120 {
		recs = append(recs, call(caller, number(i*1000), t0.Add(time.Duration(i)*10*time.Second), 60))
	}
	first := run(e, time.Time{}, recs...)
	if len(first.flags["fan_out"][caller]) == 0 {
		t.Fatal("not flagged")
	}
	outs := e.Process(nil, t0.Add(3*time.Hour), true)
	var final []schemas.Flag
	for _, o := range outs {
		for _, f := range o.Flags {
			if f.Detector == "fan_out" {
				final = append(final, f)
			}
		}
	}
	if len(final) != len(first.flags["fan_out"][caller]) {
		t.Fatalf("%d refreshed flags for %d flagged windows", len(final), len(first.flags["fan_out"][caller]))
	}
	for _, f := range final {
		want := 0
		for i := range 120 {
			if at := t0.Add(time.Duration(i) * 10 * time.Second); !at.Before(f.WindowStart) && at.Before(f.WindowEnd) {
				want++
			}
		}
		if int(f.Value) != want || !strings.HasPrefix(f.Evidence, fmt.Sprintf("%d distinct callees", want)) {
			t.Errorf("window %v refreshed to %v %q, want %d", f.WindowStart, f.Value, f.Evidence, want)
		}
		if !f.FlaggedAt.Equal(f.WindowStart) || !f.Final {
			t.Errorf("refreshed flag of %v: flagged_at %v, final %v; want the window's start, final", f.WindowStart, f.FlaggedAt, f.Final)
		}
	}
}

func TestBurstStraddlingWindowBoundaryIsFound(t *testing.T) {
	e := testEngine(t, 1)
	caller := "+8613800000002"
	var recs []*Record
	// 60 callees from 00:58 to 01:02: no hour-aligned window holds them all,
	// a sliding one does.
	for i := range 60 {
		recs = append(recs, call(caller, number(i*777), t0.Add(58*time.Minute+time.Duration(i)*4*time.Second), 60))
	}
	r := run(e, time.Time{}, recs...)
	if len(r.flags["fan_out"][caller]) == 0 {
		t.Fatal("burst straddling an hour boundary was missed")
	}
}

func TestShortCalls(t *testing.T) {
	e := testEngine(t, 1)
	caller := "+8613800000003"
	var recs []*Record
	for i := range 20 {
		talk := 3.0
		if i%4 == 0 {
			talk = 40 // 75% short
		}
		recs = append(recs, call(caller, number(i%10*1000), t0.Add(time.Duration(i)*time.Minute), talk))
	}
	r := run(e, time.Time{}, recs...)
	if len(r.flags["short_calls"][caller]) == 0 {
		t.Fatalf("20 answered, 75%% short: not flagged")
	}
	if len(r.flags["fan_out"]) != 0 || len(r.flags["sequential_dialing"]) != 0 {
		t.Errorf("other detectors fired: %v", r.flags)
	}

	e = testEngine(t, 1)
	recs = recs[:0]
	for i := range 20 {
		talk := 3.0
		if i%3 == 0 {
			talk = 40 // 65% short
		}
		recs = append(recs, call(caller, number(i*1000), t0.Add(time.Duration(i)*time.Minute), talk))
	}
	if r := run(e, time.Time{}, recs...); len(r.flags["short_calls"]) != 0 {
		t.Errorf("65%% short flagged")
	}
}

func TestSequentialDialing(t *testing.T) {
	e := testEngine(t, 1)
	caller := "+8613800000004"
	var recs []*Record
	// Two runs of 5 with steps up to 3, and noise between them.
	callees := []int{100, 101, 104, 106, 109, 5000, 5002, 5003, 5006, 5007, 90000, 123456}
	for i, c := range callees {
		recs = append(recs, call(caller, number(c), t0.Add(time.Duration(i)*time.Minute), 0))
	}
	r := run(e, time.Time{}, recs...)
	if len(r.flags["sequential_dialing"][caller]) == 0 {
		t.Fatalf("10 callees in two runs of 5 not flagged")
	}

	e = testEngine(t, 1)
	recs = recs[:0]
	// Step of 4 breaks runs.
	for i := range 20 {
		recs = append(recs, call(caller, number(100+4*i), t0.Add(time.Duration(i)*time.Minute), 0))
	}
	if r := run(e, time.Time{}, recs...); len(r.flags["sequential_dialing"]) != 0 {
		t.Errorf("steps of 4 flagged: %v", r.flags)
	}
}

func TestDuplicatesCountOnce(t *testing.T) {
	e := testEngine(t, 1)
	caller := "+8613800000005"
	var recs []*Record
	for i := range 19 {
		r := call(caller, number(i), t0.Add(time.Duration(i)*time.Minute), 2)
		recs = append(recs, r, r) // re-sent: same call_id
	}
	res := run(e, time.Time{}, recs...)
	if res.out.Duplicates != 19 || len(res.out.CDRs) != 19 {
		t.Fatalf("duplicates %d, stored %d; want 19 and 19", res.out.Duplicates, len(res.out.CDRs))
	}
	if len(res.flags["short_calls"]) != 0 {
		t.Fatal("19 short calls sent twice flagged short_calls")
	}
}

func TestLateRecordsStoredNotCounted(t *testing.T) {
	e := testEngine(t, 1)
	caller := "+8613800000006"
	wm := t0.Add(2 * time.Hour)
	var recs []*Record
	for i := range 60 {
		recs = append(recs, call(caller, number(i*1000), t0.Add(time.Duration(i)*time.Second), 60))
	}
	r := run(e, wm, recs...)
	if r.out.Late != 60 || len(r.out.CDRs) != 60 {
		t.Fatalf("late %d stored %d, want 60 and 60", r.out.Late, len(r.out.CDRs))
	}
	if len(r.flags) != 0 {
		t.Fatalf("late records flagged: %v", r.flags)
	}
}

func TestOutOfOrderWithinLateness(t *testing.T) {
	e := testEngine(t, 1)
	caller := "+8613800000007"
	var recs []*Record
	for i := range 50 {
		recs = append(recs, call(caller, number(i*1000), t0.Add(time.Duration(50-i)*4*time.Second), 60))
	}
	// Newest first, spread over 200 s; the watermark trails the newest by
	// the allowed lateness, so all of them are on time.
	r := run(e, t0.Add(200*time.Second-5*time.Minute), recs...)
	if r.out.Late != 0 {
		t.Fatalf("late = %d", r.out.Late)
	}
	if len(r.flags["fan_out"][caller]) == 0 {
		t.Fatal("reverse-ordered burst not flagged")
	}
}

func TestStatsWrittenWhenWindowsClose(t *testing.T) {
	e := testEngine(t, 1)
	caller := "+8613800000008"
	var recs []*Record
	for i := range 12 {
		recs = append(recs, call(caller, number(i), t0.Add(time.Duration(i)*time.Minute), 30))
	}
	r := run(e, t0, recs...)
	if len(r.out.Stats) != 0 {
		t.Fatalf("stats before any window closed: %d", len(r.out.Stats))
	}
	// Calls span 00:00-00:11; windows holding them start 23:05..00:10 and
	// close by 01:15. Windows starting 23:15..00:00 hold all 12 calls.
	r = run(e, t0.Add(2*time.Hour))
	full := 0
	for _, s := range r.out.Stats {
		if s.Caller != caller {
			t.Errorf("stats for %s", s.Caller)
		}
		if s.Calls == 12 {
			full++
			if s.DistinctCallees != 12 || s.Answered != 12 || s.AvgTalk != 30 {
				t.Errorf("stats row %+v", s)
			}
		}
	}
	if full != 10 {
		t.Errorf("%d windows with all 12 calls, want 10 (rows %d)", full, len(r.out.Stats))
	}
	if c, h := e.Size(); c != 0 || h != 0 {
		t.Errorf("state kept after all windows closed: %d callers, %d heavy", c, h)
	}
}

func TestSmallCallersStaySmall(t *testing.T) {
	e := testEngine(t, 2)
	var recs []*Record
	for i := range 10000 {
		recs = append(recs, call(number(i), number(i+1), t0.Add(time.Duration(i)*time.Millisecond), 30))
	}
	run(e, time.Time{}, recs...)
	if c, h := e.Size(); c != 10000 || h != 0 {
		t.Errorf("callers %d heavy %d, want 10000 and 0", c, h)
	}
}

func TestOverflowSketchKeepsCountingDistinct(t *testing.T) {
	c := config.Default()
	c.Engine.Shards = 1
	c.Engine.MaxCallees = 100
	e, err := New(engineConfig(c))
	if err != nil {
		t.Fatal(err)
	}
	caller := "+8613800000009"
	var recs []*Record
	for i := range 2000 {
		recs = append(recs, call(caller, number(i*7919), t0.Add(time.Duration(i)*time.Second), 0))
	}
	run(e, time.Time{}, recs...)
	r := run(e, t0.Add(3*time.Hour))
	var best uint32
	for _, s := range r.out.Stats {
		best = max(best, s.DistinctCallees)
	}
	if best < 1900 || best > 2100 {
		t.Errorf("distinct callees estimated %d, want about 2000", best)
	}
}

func BenchmarkShardProcess(b *testing.B) {
	e := testEngine(b, 1)
	const n = 4096
	recs := make([]*Record, n)
	b.ReportAllocs()
	base := t0
	for i := 0; b.Loop(); i++ {
		for j := range recs {
			k := i*n + j
			recs[j] = call(number(k%200000), number(k%200000+k%7), base.Add(time.Duration(k)*10*time.Millisecond), 30)
		}
		e.Process(recs, base.Add(time.Duration(i*n)*10*time.Millisecond-10*time.Minute), i > 0)
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "records/s")
}
