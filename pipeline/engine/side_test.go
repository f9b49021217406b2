package engine

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// sideCall is one call of the side scenario.
type sideCall struct {
	caller, callee string
	at             time.Time
	talk, ring     float64
}

// sideScenario is three hours of ordinary calls with every trait that
// needs both sides of calls or their order: robotic timing, callers whose
// callees call back (before and after), floods of one callee, one-ring
// bait and handsets in several calls at once.
func sideScenario() []sideCall {
	r := rand.New(rand.NewPCG(7, 11))
	num := func(kind, i int) string { return fmt.Sprintf("+86139%02d%06d", kind, i) }
	var calls []sideCall
	add := func(caller, callee string, sec int, talk, ring float64) {
		calls = append(calls, sideCall{caller, callee, t0.Add(time.Duration(sec) * time.Second), talk, ring})
	}
	for i := range 2000 {
		for range 1 + r.IntN(8) {
			add(num(1, i), num(1, r.IntN(2000)), r.IntN(3*3600), float64(20+r.IntN(300)), 8)
		}
	}
	for i := range 3 {
		for k := range 200 {
			add(num(2, i), num(1, r.IntN(2000)), 1800+k*30+r.IntN(2), 8, 3)
		}
	}
	for i := range 5 {
		for k := range 80 {
			callee := num(3, i*100+k)
			at := 600 + k*90
			add(num(4, i), callee, at, 30, 5)
			if k%5 == 0 {
				add(callee, num(4, i), at-300+r.IntN(2700), 60, 5)
			}
		}
	}
	for v := range 3 {
		for c := range 25 {
			for k := range 4 {
				add(num(5, v*100+c), num(6, v), 3600+v*1800+c*7+k*110, 5, 5)
			}
		}
	}
	for i := range 3 {
		for k := range 30 {
			add(num(7, i), num(1, r.IntN(2000)), 2400+k*40, 0, 2)
			add(num(8, i), num(1, r.IntN(2000)), 4000+k*20, 300, 5)
		}
	}
	slices.SortStableFunc(calls, func(a, b sideCall) int { return a.at.Compare(b.at) })
	return calls
}

// sideRecord makes the record of call i for side.
func sideRecord(e *Engine, c sideCall, i int, side Side) *Record {
	cdr := schemas.CDR{CallID: fmt.Sprint("s", i), Caller: c.caller, Callee: c.callee, StartTime: c.at,
		Duration: c.talk, RingDuration: c.ring, Disposition: schemas.NoAnswer}
	if c.talk > 0 {
		cdr.Disposition = schemas.Answered
	}
	cdr.Key = cdr.CallID
	r := &Record{CDR: cdr, Side: side}
	e.Prepare(r)
	return r
}

// sideOutcome is what a run wrote: each window's last flag row and stats.
type sideOutcome map[string]string

func (o sideOutcome) add(outs []Output) {
	for _, out := range outs {
		for _, f := range out.Flags {
			k := fmt.Sprintf("flag %s %s %s", f.Number, f.Detector, f.WindowStart.Format("15:04"))
			if prev, ok := o[k]; ok && strings.HasPrefix(prev, "final") && !f.Final {
				continue
			}
			o[k] = fmt.Sprintf("final=%v withdrawn=%v %.4f %.4f %s", f.Final, f.Withdrawn, f.Score, f.Value, f.Evidence)
		}
		for _, s := range out.Stats {
			k := fmt.Sprintf("stats %s %s", s.Caller, s.WindowStart.Format("15:04"))
			o[k] = fmt.Sprintf("%d %d %d %d %.3f %.3f", s.Calls, s.Answered, s.DistinctCallees, s.ShortCalls, s.AvgTalk, s.SequentialScore)
		}
	}
}

// instance is an engine fed the copies routed to it.
type instance struct {
	e    *Engine
	recs []*Record
}

// runSides runs the scenario over n engines in batches of batch calls:
// with split, each call goes as a caller-side copy to the engine its
// caller hashes to and a callee-side copy to its callee's, in shuffled
// order within the batch; otherwise as one record to the only engine.
// The watermark trails the batch's earliest start by the lateness.
func runSides(t *testing.T, calls []sideCall, n, batch int, split bool, seed uint64) sideOutcome {
	t.Helper()
	cfg := config.Default()
	cfg.Engine.Shards = 2
	ins := make([]*instance, n)
	for i := range ins {
		e, err := New(engineConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		ins[i] = &instance{e: e}
	}
	route := func(number string) *instance {
		h := fnv.New32a()
		h.Write([]byte(number))
		return ins[int(h.Sum32())%n]
	}
	r := rand.New(rand.NewPCG(seed, 3))
	out := sideOutcome{}
	lateness := cfg.Window.AllowedLateness
	for from := 0; from < len(calls); from += batch {
		to := min(from+batch, len(calls))
		wm := calls[from].at.Add(-lateness).Truncate(time.Second)
		for i := from; i < to; i++ {
			if !split {
				ins[0].recs = append(ins[0].recs, sideRecord(ins[0].e, calls[i], i, Both))
				continue
			}
			ci, ce := route(calls[i].caller), route(calls[i].callee)
			ci.recs = append(ci.recs, sideRecord(ci.e, calls[i], i, CallerSide))
			ce.recs = append(ce.recs, sideRecord(ce.e, calls[i], i, CalleeSide))
		}
		for _, in := range ins {
			r.Shuffle(len(in.recs), func(a, b int) { in.recs[a], in.recs[b] = in.recs[b], in.recs[a] })
			out.add(in.e.Process(in.recs, wm, true))
			in.recs = in.recs[:0]
		}
	}
	end := calls[len(calls)-1].at.Add(6 * time.Hour)
	for _, in := range ins {
		out.add(in.e.Process(nil, end, true))
	}
	return out
}

// TestCallSidesSplitAcrossEngines checks what the repartitioned topic
// relies on: a call's caller side and callee side handled apart, by the
// engines its caller and its callee route to, give the flags and stats
// of one engine that sees every call whole.
func TestCallSidesSplitAcrossEngines(t *testing.T) {
	calls := sideScenario()
	want := runSides(t, calls, 1, 500, false, 1)
	found := map[string]bool{}
	for k := range want {
		if f := strings.Fields(k); f[0] == "flag" {
			found[f[2]] = true
		}
	}
	for _, d := range []string{"robotic_timing", "no_callback", "call_bombing", "one_ring", "concurrent_calls"} {
		if !found[d] {
			t.Errorf("the scenario flagged no %s (flagged: %v)", d, found)
		}
	}
	for _, tc := range []struct{ n, batch int }{{1, 500}, {2, 300}, {3, 1000}, {5, 77}} {
		got := runSides(t, calls, tc.n, tc.batch, true, uint64(tc.n))
		if d := diffOutcomes(want, got); d != "" {
			t.Errorf("%d engines, batches of %d, differ from one engine seeing whole calls:\n%s", tc.n, tc.batch, d)
		}
	}
}

func diffOutcomes(a, b sideOutcome) string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, k+" only whole: "+v)
		} else if v != w {
			out = append(out, k+": "+v+" / "+w)
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k+" only split: "+v)
		}
	}
	sort.Strings(out)
	if len(out) > 15 {
		out = append(out[:15], fmt.Sprintf("... %d more", len(out)-15))
	}
	return strings.Join(out, "\n")
}
