package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/schemas"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// Verdicts are a function of the input: the same messages give the same
// flags and caller stats however the partitions interleave, however the
// micro-batches are cut, and across a restart from a commit. These tests
// run the traffic model's records through the runner (no services: the
// rows are read from its batches) in several ways and compare.

// detTopic is the topic the messages claim to come from.
const detTopic = "cdrs"

// model generates the traffic model's messages over hours for subs
// subscribers, spread over parts partitions by caller (as cdrpipe's
// producer does) or at random (keyed is false), each partition's in
// order.
func model(t testing.TB, subs int, hours int, parts int, keyed bool) (cfg config.Config, byPart [][]kafka.Message) {
	t.Helper()
	cfg = config.Default()
	traffic.Configure(&cfg)
	tc := traffic.DefaultConfig()
	tc.Start = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	tc.Subscribers = subs
	tc.Duration = time.Duration(hours) * time.Hour
	tc.FanOut, tc.ShortCalls, tc.Sequential = 6, 6, 6
	tc.Seed = 5
	var buf bytes.Buffer
	if _, err := traffic.Generate(context.Background(), tc, &buf); err != nil {
		t.Fatal(err)
	}
	byPart = make([][]kafka.Message, parts)
	r := rand.New(rand.NewPCG(9, 9))
	ids := make([]int, parts)
	for i := range ids {
		ids[i] = i
	}
	at := tc.Start
	for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var key struct {
			Caller string `json:"caller"`
		}
		_ = json.Unmarshal(line, &key)
		p := r.IntN(parts)
		if keyed {
			p = (&kafka.Hash{}).Balance(kafka.Message{Key: []byte(key.Caller)}, ids...)
		}
		at = at.Add(time.Millisecond)
		byPart[p] = append(byPart[p], kafka.Message{Topic: detTopic, Partition: p, Offset: int64(len(byPart[p])),
			Value: slices.Clone(line), Time: at})
	}
	return cfg, byPart
}

// outcome is what a run wrote that must not depend on how it ran: each
// window's final flags (one per number, detector and window, the closing
// version) and caller stats.
type outcome struct {
	flags  map[string]string // "number detector window" -> "score value evidence"
	pairs  map[string]bool   // "number detector"
	stats  map[string]string // "caller window" -> the row
	calls  map[string]uint32 // "caller window" -> its calls (the row's version)
	groups map[string]string // "trunk prefix detector window" -> "score value evidence numbers"
	// days holds the day_windows rows written, as ClickHouse would keep
	// them, for a restarted run to read back.
	days map[string]schemas.DayWindow
}

// readDays reads o's day_windows rows as Sink.Days does.
func (o *outcome) readDays(_ context.Context, after time.Time) ([]schemas.DayWindow, error) {
	var out []schemas.DayWindow
	for _, d := range o.days {
		if d.DayEnd.After(after) {
			out = append(out, d)
		}
	}
	return out, nil
}

func newOutcome() *outcome {
	return &outcome{flags: map[string]string{}, pairs: map[string]bool{}, stats: map[string]string{}, groups: map[string]string{},
		days: map[string]schemas.DayWindow{}, calls: map[string]uint32{}}
}

// add takes the rows of b, later rows of a key replacing earlier ones as
// the tables' versions do.
func (o *outcome) add(b *sink.Batch) {
	for _, f := range b.Flags() {
		k := fmt.Sprintf("%s %s %s", f.Number, f.Detector, f.WindowStart.Format("15:04"))
		if old, ok := o.flags[k]; ok && strings.HasPrefix(old, "final") && !f.Final {
			continue // a crossing row never replaces the closing one
		}
		kind := "crossing"
		if f.Final {
			kind = "final"
		}
		o.flags[k] = fmt.Sprintf("%s %.4f %.4f %s", kind, f.Score, f.Value, f.Evidence)
	}
	clear(o.pairs)
	for k, v := range o.flags {
		if !strings.Contains(v, "withdrawn") {
			f := strings.Fields(k)
			o.pairs[f[0]+" "+f[1]] = true
		}
	}
	for _, d := range b.Days() {
		k := d.Caller + " " + d.WindowStart.String()
		if old, ok := o.days[k]; !ok || d.Calls >= old.Calls {
			o.days[k] = d // calls is the table's version
		}
	}
	for _, g := range b.Groups() {
		k := fmt.Sprintf("%s %s%s %s %s", g.TrunkID, g.SwitchID, g.Prefix, g.Detector, g.WindowStart.Format("15:04"))
		o.groups[k] = fmt.Sprintf("%.4f %.4f %s %v", g.Score, g.Value, g.Evidence, g.Numbers)
	}
	for _, s := range b.Stats() {
		k := fmt.Sprintf("%s %s", s.Caller, s.WindowStart.Format("15:04"))
		if s.Calls < o.calls[k] {
			continue // calls is the table's version: a fuller row stands
		}
		o.calls[k] = s.Calls
		o.stats[k] = fmt.Sprintf("%d %d %d %d %.3f %.3f", s.Calls, s.Answered, s.DistinctCallees, s.ShortCalls, s.AvgTalk, s.SequentialScore)
	}
}

// runOver processes byPart's messages with a fresh runner as the run
// loop takes them from its queue: from partitions chosen at random among
// those it is willing to read (eligible), runs of 1 to maxRun messages
// each, in micro-batches of batch messages. It returns what the runner
// wrote, after a final flush as a bounded run ends.
func runOver(t testing.TB, cfg config.Config, byPart [][]kafka.Message, seed uint64, maxRun, batch int) *outcome {
	t.Helper()
	o := newOutcome()
	r := detRunner(t, cfg, len(byPart), nil)
	drive(t, r, byPart, make([]int, len(byPart)), -1, seed, maxRun, batch, o)
	return o
}

// detRunner makes a runner that owns partitions 0 to parts-1, resuming
// each from the progress saved in commits when there is one.
func detRunner(t testing.TB, cfg config.Config, parts int, commits map[int]source.Commit) *Runner {
	t.Helper()
	return ownerOf(t, cfg, Options{}, parts, commits)
}

// ownerOf makes a runner with opts that owns partitions 0 to parts-1,
// resuming each from the progress saved in commits, on a fixed clock.
func ownerOf(t testing.TB, cfg config.Config, opts Options, parts int, commits map[int]source.Commit) *Runner {
	t.Helper()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	opts.Now = func() time.Time { return now }
	r, err := New(cfg, opts, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	all := make([]int, parts)
	for i := range all {
		all[i] = i
		if err := r.wm.Restore(i, commits[i].Metadata); err != nil {
			t.Fatal(err)
		}
	}
	r.owned = all
	r.wm.Expect(all, now)
	return r
}

// drive feeds r from next[p] on in each partition, as runOver describes,
// into o; after stopAfter messages (never when negative) it stops without
// the final flush, as a killed process does, and returns true.
func drive(t testing.TB, r *Runner, byPart [][]kafka.Message, next []int, stopAfter int, seed uint64, maxRun, batch int, o *outcome) bool {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var b sink.Batch
	stalls, done := 0, 0
	for {
		var ready, left []int
		for p := range byPart {
			if next[p] < len(byPart[p]) {
				left = append(left, p)
				if r.eligible(p) {
					ready = append(ready, p)
				}
			} else {
				r.wm.Done(p)
			}
		}
		if len(left) == 0 {
			break
		}
		if stopAfter >= 0 && done >= stopAfter {
			return true
		}
		if len(ready) == 0 {
			// As the run loop does on its ticker: let the watermark and
			// the held records move.
			if stalls++; stalls > 3 {
				t.Fatalf("no partition may be read (left: %v): the run would stall", left)
			}
			r.advanceIdle(context.Background(), &b)
			o.add(&b)
			b.Reset()
			continue
		}
		stalls = 0
		p := ready[rng.IntN(len(ready))]
		end := min(next[p]+1+rng.IntN(maxRun), len(byPart[p]))
		msgs := byPart[p][next[p]:end]
		next[p] = end
		done += len(msgs)
		for i := 0; i < len(msgs); i += batch {
			r.process(context.Background(), msgs[i:min(i+batch, len(msgs))], &b)
			o.add(&b)
			b.Reset()
		}
	}
	r.advanceIdle(context.Background(), &b)
	r.final(&b)
	o.add(&b)
	return false
}

// diff describes how two outcomes differ, at most a few lines each way.
func diff(a, b *outcome) string {
	var out []string
	cmp := func(name string, x, y map[string]string) {
		var only []string
		for k, v := range x {
			if w, ok := y[k]; !ok {
				only = append(only, fmt.Sprintf("%s %s only in the first: %s", name, k, v))
			} else if v != w {
				only = append(only, fmt.Sprintf("%s %s: %s / %s", name, k, v, w))
			}
		}
		for k, v := range y {
			if _, ok := x[k]; !ok {
				only = append(only, fmt.Sprintf("%s %s only in the second: %s", name, k, v))
			}
		}
		sort.Strings(only)
		if len(only) > 12 && os.Getenv("DET_ALL") == "" {
			only = append(only[:12], fmt.Sprintf("... %d more", len(only)-12))
		}
		out = append(out, only...)
	}
	cmp("flag", a.flags, b.flags)
	cmp("stats", a.stats, b.stats)
	cmp("group", a.groups, b.groups)
	return strings.Join(out, "\n")
}

// TestSameVerdictsWhateverTheInterleaving processes the model's messages
// keyed by caller, then spread at random over the partitions, each time
// in three interleavings and batch sizes: the windows' final flags and
// the caller stats are the same.
func TestSameVerdictsWhateverTheInterleaving(t *testing.T) {
	if testing.Short() {
		t.Skip("generates three hours of traffic")
	}
	for _, keyed := range []bool{true, false} {
		t.Run(fmt.Sprintf("keyed=%v", keyed), func(t *testing.T) {
			cfg, byPart := model(t, 20000, 3, 4, keyed)
			ref := runOver(t, cfg, byPart, 1, 5000, 4096)
			if len(ref.pairs) < 50 || len(ref.stats) < 100 {
				t.Fatalf("reference run: %d flagged pairs, %d stats rows; the model tests nothing", len(ref.pairs), len(ref.stats))
			}
			for i, way := range []struct {
				seed       uint64
				run, batch int
			}{{2, 1, 64}, {3, 300, 1000}} {
				got := runOver(t, cfg, byPart, way.seed, way.run, way.batch)
				if d := diff(ref, got); d != "" {
					t.Errorf("interleaving %d differs from the reference:\n%s", i+1, d)
				}
			}
		})
	}
}

// traits generates hours of traffic that leans on the traits whose state
// is sensitive to arrival order: robotic callers (regular gaps), callers
// whose callees call back before and after being called (no_callback),
// floods of one callee (call_bombing), one-ring bait and handsets in
// several calls at once, over a background of ordinary callers. Records
// go to random partitions, each partition's in order of sending (start
// plus a delay of up to 2 minutes), so they arrive out of start order.
func traits(t testing.TB, parts int) (cfg config.Config, byPart [][]kafka.Message) {
	t.Helper()
	cfg = config.Default()
	r := rand.New(rand.NewPCG(11, 3))
	t0 := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	type call struct {
		caller, callee string
		start          time.Time
		talk, ring     float64
		trunk          string
	}
	var calls []call
	num := func(kind, i int) string { return fmt.Sprintf("+86139%02d%06d", kind, i) }
	add := func(caller, callee string, at time.Time, talk, ring float64) {
		calls = append(calls, call{caller, callee, at, talk, ring, ""})
	}
	const hours = 3
	// Background: 3000 people, a call or two an hour each, to each other.
	for i := range 3000 {
		for range 1 + r.IntN(3*hours) {
			add(num(1, i), num(1, r.IntN(3000)), t0.Add(time.Duration(r.IntN(hours*3600))*time.Second), float64(20+r.IntN(300)), 8)
		}
	}
	// Robotic: a call every 30 s, 8 s of talk, for two hours.
	for i := range 4 {
		for k := range 240 {
			add(num(2, i), num(1, r.IntN(3000)), t0.Add(time.Duration(1800+k*30+r.IntN(2))*time.Second), 8, 3)
		}
	}
	// Callbacks: 40 callees an hour; a fifth call back, some before being
	// called (a missed call returned early), some within the grace.
	for i := range 6 {
		for k := range 80 {
			callee := num(3, i*100+k)
			at := t0.Add(time.Duration(600+k*90) * time.Second)
			add(num(4, i), callee, at, 30, 5)
			if k%5 == 0 {
				add(callee, num(4, i), at.Add(time.Duration(-300+r.IntN(2700))*time.Second), 60, 5)
			}
		}
	}
	// Floods: 25 callers call one callee 4 times each within 8 minutes.
	for v := range 3 {
		for c := range 25 {
			for k := range 4 {
				add(num(5, v*100+c), num(6, v), t0.Add(time.Duration(3600+v*1800+c*7+k*110)*time.Second), 5, 5)
			}
		}
	}
	// One-ring bait and handsets in several calls at once.
	for i := range 3 {
		for k := range 30 {
			add(num(7, i), num(1, r.IntN(3000)), t0.Add(time.Duration(2400+k*40)*time.Second), 0, 2)
			add(num(8, i), num(1, r.IntN(3000)), t0.Add(time.Duration(4000+k*20)*time.Second), 300, 5)
		}
	}
	// A call centre behind trunk SIPT-7 presenting one of 60 numbers of
	// its block on each call, 300 calls an hour, most hung up at once;
	// and a bank's 40 agents on SIPT-8, talking with people.
	for k := range 300 * hours {
		at := t0.Add(time.Duration(r.IntN(hours*3600)) * time.Second)
		talk := 0.0
		if r.IntN(3) == 0 {
			talk = float64(2 + r.IntN(7))
		}
		calls = append(calls, call{fmt.Sprintf("+862160001%03d", r.IntN(60)), num(1, r.IntN(3000)), at, talk, 6, "SIPT-7"})
		if k%2 == 0 {
			calls = append(calls, call{fmt.Sprintf("+861095000%03d", r.IntN(40)), num(1, r.IntN(3000)), at, float64(60 + r.IntN(600)), 6, "SIPT-8"})
		}
	}
	type sent struct {
		at  time.Time
		msg []byte
	}
	perPart := make([][]sent, parts)
	for i, c := range calls {
		disp := "answered"
		if c.talk == 0 {
			disp = "no_answer"
		}
		trunk := ""
		if c.trunk != "" {
			trunk = fmt.Sprintf(`,"trunk_id":%q`, c.trunk)
		}
		line := fmt.Sprintf(`{"call_id":"c%d","caller":%q,"callee":%q,"start_time":%q,"duration":%g,"ring_duration":%g,"disposition":%q%s}`,
			i, c.caller, c.callee, c.start.Format(time.RFC3339), c.talk, c.ring, disp, trunk)
		p := r.IntN(parts)
		perPart[p] = append(perPart[p], sent{c.start.Add(time.Duration(r.IntN(120)) * time.Second), []byte(line)})
	}
	byPart = make([][]kafka.Message, parts)
	for p, ss := range perPart {
		slices.SortStableFunc(ss, func(a, b sent) int { return a.at.Compare(b.at) })
		for _, s := range ss {
			byPart[p] = append(byPart[p], kafka.Message{Topic: detTopic, Partition: p, Offset: int64(len(byPart[p])), Value: s.msg, Time: s.at})
		}
	}
	return cfg, byPart
}

// TestSameTraitsWhateverTheInterleaving runs the traits that depend on
// more than one caller's calls, or on their order, through three
// interleavings and batch sizes: the same windows are flagged, with the
// same evidence, and every trait of the scenario shows up.
func TestSameTraitsWhateverTheInterleaving(t *testing.T) {
	cfg, byPart := traits(t, 4)
	ref := runOver(t, cfg, byPart, 1, 2000, 2048)
	found := map[string]bool{}
	for k := range ref.pairs {
		found[strings.Fields(k)[1]] = true
	}
	for _, want := range []string{"robotic_timing", "no_callback", "call_bombing", "one_ring", "concurrent_calls", "daily_fan_out"} {
		if !found[want] {
			t.Errorf("the scenario flagged no %s (flagged: %v)", want, found)
		}
	}
	// A trunk's key has no prefix: "SIPT-7  number_rotation 01:00".
	if !hasGroup(ref, "SIPT-7  ", "number_rotation") || !hasGroup(ref, "SIPT-7 +86216000100", "short_calls") || hasGroup(ref, "SIPT-8  ", "") {
		t.Errorf("want the call centre's trunk and ranges flagged, the bank's trunk not; got %d group flags", len(ref.groups))
	}
	for i, way := range []struct {
		seed       uint64
		run, batch int
	}{{2, 1, 50}, {3, 700, 900}, {4, 40, 4096}} {
		got := runOver(t, cfg, byPart, way.seed, way.run, way.batch)
		if d := diff(ref, got); d != "" {
			t.Errorf("interleaving %d differs from the reference:\n%s", i+1, d)
		}
	}
}

// TestRestartsGiveTheSameVerdicts stops runs at random points without a
// final flush, as a killed process does, twice, and resumes each time
// from what it would have committed (offsets and event-time progress):
// the windows' flags and stats are those of a run never stopped.
func TestRestartsGiveTheSameVerdicts(t *testing.T) {
	t.Run("traits", func(t *testing.T) {
		cfg, byPart := traits(t, 4)
		restarts(t, cfg, byPart)
	})
	t.Run("switches", func(t *testing.T) {
		if testing.Short() {
			t.Skip("generates three hours of traffic")
		}
		// Twenty switches, clocks off, records late and very late.
		cfg, byPart := model(t, 20000, 3, 4, false)
		restarts(t, cfg, byPart)
	})
}

func restarts(t *testing.T, cfg config.Config, byPart [][]kafka.Message) {
	ref := runOver(t, cfg, byPart, 1, 300, 1024)
	restartsOf(t, byPart, ref, func(commits map[int]source.Commit) *Runner {
		return detRunner(t, cfg, len(byPart), commits)
	})
}

// restartsOf is restarts with runners made by mk, resuming from commits,
// against the outcome of a run never stopped.
func restartsOf(t *testing.T, byPart [][]kafka.Message, ref *outcome, mk func(commits map[int]source.Commit) *Runner) {
	total := 0
	for _, ms := range byPart {
		total += len(ms)
	}
	rng := rand.New(rand.NewPCG(21, 5))
	for trial := range 3 {
		got := newOutcome()
		next := make([]int, len(byPart))
		var commits map[int]source.Commit
		for stop := range 3 {
			r := mk(commits)
			if commits != nil {
				// As assign does: the days the killed run wrote.
				r.opts.Days = got.readDays
				if err := r.restoreDays(context.Background(), r.owned); err != nil {
					t.Fatal(err)
				}
			}
			stopAfter := -1
			if stop < 2 {
				stopAfter = rng.IntN(total / 2)
			}
			if !drive(t, r, byPart, next, stopAfter, uint64(10*trial+stop), 300, 1024, got) {
				break
			}
			// What the writer would commit with the last batch: the
			// next run re-reads from there.
			commits = r.trk.commitable(r.snapshot)
			for p := range next {
				next[p] = 0
				if c, ok := commits[p]; ok {
					next[p] = int(c.Offset)
				}
			}
		}
		if d := diff(ref, got); d != "" {
			t.Errorf("trial %d, killed twice and resumed, differs from the run never stopped:\n%s", trial+1, d)
		}
	}
}

// hasGroup reports whether o holds a group flag whose key starts with
// prefix and names detector (any, when empty).
func hasGroup(o *outcome, prefix, detector string) bool {
	for k := range o.groups {
		if strings.HasPrefix(k, prefix) && (detector == "" || strings.Fields(k)[len(strings.Fields(k))-2] == detector) {
			return true
		}
	}
	return false
}

// slowDay is twelve hours of a caller who reaches 20 people an hour, most
// of whom hang up at once, over a background of 500 people, spread over
// parts partitions at random.
func slowDay(t testing.TB, parts int) (cfg config.Config, byPart [][]kafka.Message) {
	t.Helper()
	cfg = config.Default()
	r := rand.New(rand.NewPCG(8, 8))
	t0 := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	byPart = make([][]kafka.Message, parts)
	type call struct {
		at   time.Time
		line string
	}
	var calls []call
	add := func(caller, callee string, at time.Time, talk float64) {
		disp := "answered"
		if talk == 0 {
			disp = "no_answer"
		}
		calls = append(calls, call{at, fmt.Sprintf(`{"call_id":"d%d","caller":%q,"callee":%q,"start_time":%q,"duration":%g,"ring_duration":5,"disposition":%q}`,
			len(calls), caller, callee, at.Format(time.RFC3339), talk, disp)})
	}
	for h := range 12 {
		for k := range 20 {
			talk := 0.0
			if r.IntN(10) < 6 {
				talk = float64(2 + r.IntN(6))
			}
			add("+8613900000001", fmt.Sprintf("+86138%08d", r.IntN(1e8)), t0.Add(time.Duration(h*3600+k*180+r.IntN(60))*time.Second), talk)
		}
		for range 600 {
			add(fmt.Sprintf("+86137%08d", r.IntN(500)), fmt.Sprintf("+86137%08d", r.IntN(500)), t0.Add(time.Duration(h*3600+r.IntN(3600))*time.Second), 60)
		}
	}
	slices.SortFunc(calls, func(a, b call) int { return a.at.Compare(b.at) })
	for _, c := range calls {
		p := r.IntN(parts)
		byPart[p] = append(byPart[p], kafka.Message{Topic: detTopic, Partition: p, Offset: int64(len(byPart[p])), Value: []byte(c.line), Time: c.at})
	}
	return cfg, byPart
}

// TestRestartsKeepTheDays kills a run eight hours into a day and resumes
// it from its commits: the day-long window, rebuilt from what the killed
// run wrote to day_windows, flags what a run never stopped flags, and
// without that it would not.
func TestRestartsKeepTheDays(t *testing.T) {
	cfg, byPart := slowDay(t, 3)
	ref := runOver(t, cfg, byPart, 1, 300, 1024)
	if !ref.pairs["+8613900000001 daily_fan_out"] || !ref.pairs["+8613900000001 daily_short_calls"] {
		t.Fatalf("the run never stopped does not flag the slow caller's day: %v", ref.pairs)
	}
	total := 0
	for _, ms := range byPart {
		total += len(ms)
	}
	for _, restore := range []bool{true, false} {
		got := newOutcome()
		next := make([]int, len(byPart))
		r := detRunner(t, cfg, len(byPart), nil)
		if !drive(t, r, byPart, next, total*2/3, 2, 300, 1024, got) {
			t.Fatal("the run was not stopped")
		}
		commits := r.trk.commitable(r.snapshot)
		for p := range next {
			next[p] = 0
			if c, ok := commits[p]; ok {
				next[p] = int(c.Offset)
			}
		}
		r = detRunner(t, cfg, len(byPart), commits)
		if restore {
			r.opts.Days = got.readDays
			if err := r.restoreDays(context.Background(), r.owned); err != nil {
				t.Fatal(err)
			}
		}
		drive(t, r, byPart, next, -1, 3, 300, 1024, got)
		d := diff(ref, got)
		if restore && d != "" {
			t.Errorf("killed and resumed, differs from the run never stopped:\n%s", d)
		}
		if !restore && !strings.Contains(d, "daily_") {
			t.Errorf("resumed without the days written, the day still came out whole: the test proves nothing")
		}
	}
}
