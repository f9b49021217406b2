package detectors_test

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/internal/golden"
)

// TestOneRing checks both gates of wangiri, the count of one-ring
// attempts and their share of all attempts, just below, at and above.
func TestOneRing(t *testing.T) {
	d := detectors.OneRing{MinAttempts: 10, MinShare: 0.5}
	f := func(calls, oneRing int, want bool, score float64, evidence ...string) {
		t.Helper()
		w := &detectors.Window{Length: time.Hour, Calls: calls, OneRing: oneRing}
		got, ok := d.Check(w)
		checkFinding(t, got, ok, want, score, float64(oneRing)/float64(max(calls, 1)), evidence)
	}
	f(0, 0, false, 0)
	f(9, 9, false, 0)      // count just below, all one-ring
	f(21, 10, false, 0)    // share just below
	f(1000, 499, false, 0) // share just below, large volume
	f(20, 10, true, 0.5, "10 of 20 attempts (50%)", "hung up after ringing", "in 1 h", "(threshold 10 and 50%)")
	f(22, 11, true, (11.0/21+0.5)/2, "11 of 22 attempts", "(threshold 10 and 50%)") // count just above
	f(19, 10, true, (0.5+(10.0/19)/(10.0/19+0.5))/2, "10 of 19 attempts (53%)")     // share just above
	f(40, 37, true, 0, "37 of 40 attempts (92%)", "(threshold 10 and 50%)")
}

// TestLowAnswerRate checks the volume gate and the answer-rate ceiling
// just below, at and above; nothing answered scores highest.
func TestLowAnswerRate(t *testing.T) {
	d := detectors.LowAnswerRate{MinAttempts: 30, MaxRate: 0.2}
	f := func(calls, answered int, want bool, score float64, evidence ...string) {
		t.Helper()
		w := &detectors.Window{Length: time.Hour, Calls: calls, Answered: answered}
		got, ok := d.Check(w)
		checkFinding(t, got, ok, want, score, float64(answered)/float64(max(calls, 1)), evidence)
	}
	f(0, 0, false, 0)
	f(29, 0, false, 0)  // volume just below
	f(30, 7, false, 0)  // rate just above the ceiling
	f(30, 30, false, 0) // all answered
	f(30, 6, true, 0.5, "6 of 30 attempts answered (20%)", "in 1 h", "(threshold at most 20% of at least 30)")
	f(30, 5, true, (0.5+0.2/(0.2+5.0/30))/2, "5 of 30 attempts answered (17%)") // rate just below
	f(31, 0, true, (31.0/61+1)/2, "0 of 31 attempts answered (0%)")             // volume just above
	if got, ok := (detectors.LowAnswerRate{}).Check(&detectors.Window{Length: time.Hour}); ok {
		t.Errorf("zero thresholds flagged an empty window: %+v", got)
	}
}

// TestBurst checks the calls-per-minute threshold.
func TestBurst(t *testing.T) {
	d := detectors.Burst{MinPerMinute: 10}
	f := func(peak int, want bool, score float64, evidence ...string) {
		t.Helper()
		got, ok := d.Check(&detectors.Window{Length: time.Hour, Calls: peak, PeakPerMinute: peak})
		checkFinding(t, got, ok, want, score, float64(peak), evidence)
	}
	f(0, false, 0)
	f(9, false, 0)
	f(10, true, 0.5, "10 calls started within one minute", "in 1 h", "(threshold 10)")
	f(11, true, 11.0/21, "11 calls started within one minute", "(threshold 10)")
	f(600, true, 600.0/610, "600 calls")
}

// TestConcurrentCalls checks the threshold and that only mobile callers
// are judged.
func TestConcurrentCalls(t *testing.T) {
	d := detectors.ConcurrentCalls{MinConcurrent: 3}
	f := func(mobile bool, n int, want bool, score float64, evidence ...string) {
		t.Helper()
		w := &detectors.Window{Length: time.Hour, Calls: n, MaxConcurrent: n, Mobile: mobile}
		got, ok := d.Check(w)
		checkFinding(t, got, ok, want, score, float64(n), evidence)
	}
	f(true, 0, false, 0)
	f(true, 2, false, 0)
	f(true, 3, true, 0.5, "3 calls in progress at once", "mobile", "in 1 h", "(threshold 3)")
	f(true, 4, true, 4.0/7, "4 calls in progress at once", "(threshold 3)")
	f(false, 3, false, 0)   // a fixed line or trunk at the threshold
	f(false, 500, false, 0) // a PBX trunk
}

// TestInvalidCallees checks both gates of attempts to invalid numbers.
func TestInvalidCallees(t *testing.T) {
	d := detectors.InvalidCallees{MinAttempts: 10, MinShare: 0.25}
	f := func(calls, invalid int, want bool, score float64, evidence ...string) {
		t.Helper()
		w := &detectors.Window{Length: time.Hour, Calls: calls, Invalid: invalid}
		got, ok := d.Check(w)
		checkFinding(t, got, ok, want, score, float64(invalid)/float64(max(calls, 1)), evidence)
	}
	f(0, 0, false, 0)
	f(9, 9, false, 0)   // count just below
	f(41, 10, false, 0) // share just below
	f(40, 10, true, 0.5, "10 of 40 attempts (25%)", "unallocated or invalid numbers", "in 1 h", "(threshold 10 and 25%)")
	f(44, 11, true, (11.0/21+0.5)/2, "11 of 44 attempts (25%)") // count just above
	f(39, 10, true, (0.5+(10.0/39)/(10.0/39+0.25))/2, "10 of 39 attempts (26%)")
}

// TestSpoofedOrigin checks the spoofed-call count: caller IDs outside the
// plan on their own, domestic ones from abroad only to several people (a
// roamer calls a few).
func TestSpoofedOrigin(t *testing.T) {
	f := func(threshold, spoofed, badID, distinct int, want bool, score float64, evidence ...string) {
		t.Helper()
		d := detectors.SpoofedOrigin{MinCalls: threshold, MinCalleesAbroad: 5}
		got, ok := d.Check(&detectors.Window{Length: time.Hour, Calls: spoofed + 5, Spoofed: spoofed, BadID: badID, Distinct: distinct})
		value := float64(spoofed)
		if badID >= threshold && badID > 0 {
			value = float64(badID)
		}
		checkFinding(t, got, ok, want, score, value, evidence)
	}
	f(1, 0, 0, 9, false, 0)
	f(1, 1, 1, 1, true, 0.5, "1 calls with a caller ID outside the numbering plan", "in 1 h", "(threshold 1)")
	f(1, 3, 3, 1, true, 0.75, "3 calls", "(threshold 1)")
	f(1, 1, 0, 5, true, 0.5, "1 calls with a domestic caller ID arrived on an international trunk", "to 5 distinct callees", "(threshold 1 calls, 5 callees")
	f(1, 6, 0, 2, false, 0) // a roamer calling home six times, to two people
	f(1, 6, 0, 4, false, 0)
	f(3, 2, 2, 9, false, 0)
	f(3, 3, 3, 1, true, 0.5, "3 calls", "(threshold 3)")
	f(3, 4, 4, 1, true, 4.0/7, "4 calls", "(threshold 3)")
	f(0, 0, 0, 0, false, 0) // nothing spoofed never flags
}

// TestNoCallback checks the callee volume, the callback ceiling, and that
// only the closing summary is judged.
func TestNoCallback(t *testing.T) {
	d := detectors.NoCallback{MinCallees: 20, MaxShare: 0.1}
	f := func(closing bool, distinct, callbacks int, want bool, score float64, evidence ...string) {
		t.Helper()
		w := &detectors.Window{Length: time.Hour, Calls: distinct, Distinct: distinct, Callbacks: callbacks, Closing: closing}
		got, ok := d.Check(w)
		checkFinding(t, got, ok, want, score, float64(callbacks)/float64(max(distinct, 1)), evidence)
	}
	f(true, 0, 0, false, 0)
	f(true, 19, 0, false, 0) // volume just below
	f(true, 20, 3, false, 0) // share just above the ceiling
	f(true, 20, 2, true, 0.5, "2 of 20 callees called back (10%)", "in 1 h", "(threshold at most 10% of at least 20)")
	f(true, 20, 1, true, (0.5+0.1/0.15)/2, "1 of 20 callees called back (5%)") // share just below
	f(true, 21, 0, true, (21.0/41+1)/2, "0 of 21 callees called back (0%)")    // volume just above
	f(false, 180, 0, false, 0)                                                 // not closing: callbacks may still come
	f(false, 20, 2, false, 0)
}

// TestCallBombing checks both gates of a flooded callee, and that the
// per-caller Check never flags.
func TestCallBombing(t *testing.T) {
	d := detectors.CallBombing{MinCalls: 20, MinPerCaller: 3}
	f := func(calls, callers, callerCalls int, want bool, score float64, evidence ...string) {
		t.Helper()
		got, ok := d.CheckTarget(&detectors.Target{Span: 10 * time.Minute, Calls: calls, Callers: callers, CallerCalls: callerCalls})
		checkFinding(t, got, ok, want, score, float64(calls), evidence)
	}
	f(0, 0, 0, false, 0)
	f(19, 1, 19, false, 0) // callee volume just below
	f(20, 9, 2, false, 0)  // this caller just below
	f(20, 3, 3, true, 0.5, "one callee received 20 calls from 3 numbers within 10 min", "3 of them from this number",
		"(threshold 20, at least 3 from one number)")
	f(21, 3, 3, true, (21.0/41+0.5)/2, "21 calls") // callee volume just above
	f(20, 3, 4, true, (0.5+4.0/7)/2, "4 of them")  // this caller just above
	f(45, 3, 30, true, 0, "45 calls from 3 numbers", "30 of them from this number")
	if got, ok := d.Check(&detectors.Window{Length: time.Hour, Calls: 1000, Distinct: 1, PeakPerMinute: 100}); ok {
		t.Errorf("Check flagged a caller window: %+v", got)
	}
}

// timing builds a window from talk times of answered calls and the
// seconds between call starts, summing them the way the engine does.
func timing(talk, gaps []float64) *detectors.Window {
	w := &detectors.Window{Length: time.Hour, Calls: len(gaps) + 1, Answered: len(talk), Gaps: len(gaps)}
	for _, v := range talk {
		w.TalkSeconds += v
		w.TalkSquares += v * v
	}
	for _, v := range gaps {
		w.GapSum += v
		w.GapSquares += v * v
	}
	return w
}

// repeat returns n copies of v.
func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// alternate returns n values alternating a and b.
func alternate(a, b float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = a
		if i%2 == 1 {
			out[i] = b
		}
	}
	return out
}

// logNormal returns n talk times spread like people's calls: log-normal
// with median 60 s, at evenly spaced quantiles so the test is fixed.
func logNormal(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		z := math.Sqrt2 * math.Erfinv(2*(float64(i)+0.5)/float64(n)-1)
		out[i] = 60 * math.Exp(z)
	}
	return out
}

// TestRoboticTiming checks the spread of talk times and of gaps at, just
// below and above MaxCV and MinCalls, the choice between the two, and
// that zero means and single values never flag.
func TestRoboticTiming(t *testing.T) {
	d := detectors.RoboticTiming{MinCalls: 20, MaxCV: 0.1}
	f := func(w *detectors.Window, want bool, score, value float64, evidence ...string) {
		t.Helper()
		got, ok := d.Check(w)
		checkFinding(t, got, ok, want, score, value, evidence)
	}
	f(timing(nil, nil), false, 0, 0)
	// Talk times.
	f(timing(repeat(42, 40), nil), true, (40.0/60+1)/2, 0,
		"talk times of 40 answered calls vary by only 0.0% around 42 s", "in 1 h", "(threshold 10% of at least 20)")
	f(timing(repeat(42, 20), nil), true, 0.75, 0, "talk times of 20 answered calls")
	f(timing(repeat(42, 19), nil), false, 0, 0) // volume just below
	f(timing(alternate(90, 110, 20), nil), true, 0.5, 0.1, "vary by only 10.0% around 100 s", "(threshold 10% of at least 20)")
	f(timing(alternate(91, 109, 20), nil), true, (0.5+0.1/0.19)/2, 0.09, "vary by only 9.0%")
	f(timing(alternate(89, 111, 20), nil), false, 0, 0) // CV 11%
	f(timing(logNormal(200), nil), false, 0, 0)         // people talk for very different times
	f(timing(repeat(0, 40), nil), false, 0, 0)          // zero mean talk time: short_calls' business
	// Gaps between call starts.
	f(timing(nil, repeat(60, 59)), true, (59.0/79+1)/2, 0,
		"59 gaps between call starts vary by only 0.0% around 60 s", "in 1 h", "(threshold 10% of at least 20)")
	f(timing(nil, alternate(27, 33, 20)), true, 0.5, 0.1, "20 gaps between call starts vary by only 10.0% around 30 s")
	f(timing(nil, repeat(60, 19)), false, 0, 0) // volume just below
	f(timing(nil, logNormal(100)), false, 0, 0) // gaps of a person's calls
	f(timing(nil, repeat(0, 100)), false, 0, 0) // all in the same second: burst's business
	f(timing(repeat(0, 40), repeat(0, 40)), false, 0, 0)
	// Both qualify, or only one does: the more regular one is reported.
	f(timing(alternate(91, 109, 20), repeat(60, 30)), true, (30.0/50+1)/2, 0, "30 gaps between call starts")
	f(timing(repeat(42, 30), alternate(27, 33, 20)), true, (30.0/50+1)/2, 0, "talk times of 30 answered calls")
	f(timing(logNormal(200), repeat(60, 30)), true, 0, 0, "30 gaps between call starts")
	f(timing(repeat(42, 30), logNormal(100)), true, 0, 0, "talk times of 30 answered calls")
	f(timing(repeat(42, 30), repeat(0, 30)), true, 0, 0, "talk times of 30 answered calls")
}

// TestRoboticTimingEdges covers what the sums alone can produce: one
// value (no spread), rounding that leaves a tiny negative variance, and
// sums that overflowed or are not numbers.
func TestRoboticTimingEdges(t *testing.T) {
	loose := detectors.RoboticTiming{MinCalls: 0, MaxCV: 0.1}
	if got, ok := loose.Check(timing(repeat(42, 1), repeat(60, 1))); ok {
		t.Errorf("one talk time and one gap flagged: %+v", got)
	}
	if got, ok := loose.Check(timing(repeat(42, 2), nil)); !ok || got.Value != 0 {
		t.Errorf("two equal talk times: %+v, %v; want CV 0", got, ok)
	}
	for _, v := range []float64{0.1, 1.0 / 3, 37.3, 59.99, 1e6 + 0.1, 86399.7} {
		for _, n := range []int{20, 41, 997} {
			w := timing(repeat(v, n), repeat(v, n))
			got, ok := loose.Check(w)
			if !ok || math.IsNaN(got.Value) || got.Value < 0 || got.Value > 1e-6 || !(got.Score > 0 && got.Score <= 1) {
				t.Errorf("%d equal values of %v: %+v, %v; want CV about 0", n, v, got, ok)
			}
		}
	}
	bad := []*detectors.Window{
		{Length: time.Hour, Answered: 40, TalkSeconds: math.NaN(), TalkSquares: math.NaN()},
		{Length: time.Hour, Answered: 40, TalkSeconds: math.Inf(1), TalkSquares: math.Inf(1)},
		{Length: time.Hour, Gaps: 40, GapSum: 2400, GapSquares: math.Inf(1)},
		{Length: time.Hour, Gaps: 40, GapSum: -2400, GapSquares: 144000},
	}
	for _, w := range bad {
		if got, ok := loose.Check(w); ok {
			t.Errorf("%+v flagged: %+v", *w, got)
		}
	}
}

// TestTraitsInterface pins the names stored in flagged_numbers; none of
// these detectors reads the sorted callees.
func TestTraitsInterface(t *testing.T) {
	tests := []struct {
		d    detectors.Detector
		name string
	}{
		{detectors.OneRing{}, "one_ring"},
		{detectors.LowAnswerRate{}, "low_answer_rate"},
		{detectors.Burst{}, "burst"},
		{detectors.ConcurrentCalls{}, "concurrent_calls"},
		{detectors.InvalidCallees{}, "invalid_callees"},
		{detectors.RoboticTiming{}, "robotic_timing"},
		{detectors.NoCallback{}, "no_callback"},
		{detectors.SpoofedOrigin{}, "spoofed_origin"},
		{detectors.CallBombing{}, "call_bombing"},
	}
	for _, tt := range tests {
		if got := tt.d.Name(); got != tt.name {
			t.Errorf("%T.Name() = %q, want %q", tt.d, got, tt.name)
		}
		if tt.d.NeedsSorted() {
			t.Errorf("%T.NeedsSorted() = true, want false", tt.d)
		}
	}
}

// TestTraitsZeroWindow makes sure an empty window (and an empty closing
// one, on a mobile number) flags nothing, whatever the thresholds.
func TestTraitsZeroWindow(t *testing.T) {
	ds := []detectors.Detector{
		detectors.OneRing{}, detectors.LowAnswerRate{}, detectors.Burst{}, detectors.ConcurrentCalls{},
		detectors.InvalidCallees{}, detectors.RoboticTiming{}, detectors.NoCallback{}, detectors.SpoofedOrigin{},
		detectors.CallBombing{},
		detectors.OneRing{MinAttempts: 10, MinShare: 0.5}, detectors.LowAnswerRate{MinAttempts: 30, MaxRate: 0.2},
		detectors.Burst{MinPerMinute: 10}, detectors.ConcurrentCalls{MinConcurrent: 3},
		detectors.InvalidCallees{MinAttempts: 10, MinShare: 0.25}, detectors.RoboticTiming{MinCalls: 20, MaxCV: 0.1},
		detectors.NoCallback{MinCallees: 20, MaxShare: 0.02}, detectors.SpoofedOrigin{MinCalls: 1},
	}
	for _, d := range ds {
		for _, w := range []detectors.Window{{Length: time.Hour}, {Length: time.Hour, Mobile: true, Closing: true}} {
			if got, ok := d.Check(&w); ok {
				t.Errorf("%s %+v flagged an empty window %+v: %+v", d.Name(), d, w, got)
			}
		}
	}
	if got, ok := (detectors.CallBombing{}).CheckTarget(&detectors.Target{Span: time.Minute}); ok {
		t.Errorf("call_bombing flagged an empty target: %+v", got)
	}
}

// TestTraitsScoresInRange sweeps each detector across and past its
// threshold: every score is in (0, 1], and never falls as the measured
// value gets worse.
func TestTraitsScoresInRange(t *testing.T) {
	type sweep struct {
		d  detectors.Detector
		at func(n int) *detectors.Window
	}
	sweeps := []sweep{
		{detectors.OneRing{MinAttempts: 2, MinShare: 0.5}, func(n int) *detectors.Window {
			return &detectors.Window{Length: time.Hour, Calls: n, OneRing: n}
		}},
		{detectors.LowAnswerRate{MinAttempts: 2, MaxRate: 0.5}, func(n int) *detectors.Window {
			return &detectors.Window{Length: time.Hour, Calls: n}
		}},
		{detectors.Burst{MinPerMinute: 2}, func(n int) *detectors.Window {
			return &detectors.Window{Length: time.Hour, PeakPerMinute: n}
		}},
		{detectors.ConcurrentCalls{MinConcurrent: 2}, func(n int) *detectors.Window {
			return &detectors.Window{Length: time.Hour, MaxConcurrent: n, Mobile: true}
		}},
		{detectors.InvalidCallees{MinAttempts: 2, MinShare: 0.5}, func(n int) *detectors.Window {
			return &detectors.Window{Length: time.Hour, Calls: n, Invalid: n}
		}},
		{detectors.RoboticTiming{MinCalls: 2, MaxCV: 0.5}, func(n int) *detectors.Window {
			return timing(repeat(30, n), nil)
		}},
		{detectors.NoCallback{MinCallees: 2, MaxShare: 0.5}, func(n int) *detectors.Window {
			return &detectors.Window{Length: time.Hour, Distinct: n, Closing: true}
		}},
		{detectors.SpoofedOrigin{MinCalls: 1}, func(n int) *detectors.Window {
			return &detectors.Window{Length: time.Hour, Spoofed: n}
		}},
	}
	for _, s := range sweeps {
		prev, flagged := 0.0, false
		for n := 0; n <= 1<<20; n = n*2 + 1 {
			got, ok := s.d.Check(s.at(n))
			if !ok {
				continue
			}
			flagged = true
			if !(got.Score > 0 && got.Score <= 1) {
				t.Errorf("%s: score %v outside (0, 1] at %d", s.d.Name(), got.Score, n)
			}
			if got.Score < prev {
				t.Errorf("%s: score fell from %v to %v at %d", s.d.Name(), prev, got.Score, n)
			}
			prev = got.Score
		}
		if !flagged {
			t.Errorf("%s never flagged in the sweep", s.d.Name())
		}
	}
	bomb := detectors.CallBombing{MinCalls: 2, MinPerCaller: 1}
	prev := 0.0
	for n := 1; n <= 1<<20; n *= 2 {
		got, ok := bomb.CheckTarget(&detectors.Target{Span: time.Minute, Calls: n, Callers: 1, CallerCalls: n})
		if n < 2 {
			if ok {
				t.Errorf("call_bombing flagged %d calls", n)
			}
			continue
		}
		if !ok || !(got.Score > 0 && got.Score <= 1) || got.Score < prev {
			t.Errorf("call_bombing at %d: %+v, %v (previous score %v)", n, got, ok, prev)
		}
		prev = got.Score
	}
}

// TestTraitsGolden renders the findings of a fixed set of windows, one
// line each, and compares them with testdata/traits.golden (rerun with
// go test ./detectors -run TraitsGolden -update and review the diff).
func TestTraitsGolden(t *testing.T) {
	oneRing := detectors.OneRing{MinAttempts: 10, MinShare: 0.5}
	answer := detectors.LowAnswerRate{MinAttempts: 30, MaxRate: 0.2}
	burst := detectors.Burst{MinPerMinute: 10}
	conc := detectors.ConcurrentCalls{MinConcurrent: 3}
	invalid := detectors.InvalidCallees{MinAttempts: 10, MinShare: 0.25}
	robotic := detectors.RoboticTiming{MinCalls: 20, MaxCV: 0.1}
	noCallback := detectors.NoCallback{MinCallees: 20, MaxShare: 0.02}
	spoofed := detectors.SpoofedOrigin{MinCalls: 1, MinCalleesAbroad: 5}
	bomb := detectors.CallBombing{MinCalls: 20, MinPerCaller: 3}
	h := time.Hour
	with := func(w *detectors.Window, length time.Duration) detectors.Window {
		w.Length = length
		return *w
	}
	cases := []struct {
		name string
		d    detectors.Detector
		w    detectors.Window
	}{
		{"one_ring below share", oneRing, detectors.Window{Length: h, Calls: 40, OneRing: 19}},
		{"one_ring at threshold", oneRing, detectors.Window{Length: h, Calls: 20, OneRing: 10}},
		{"one_ring 37 of 40", oneRing, detectors.Window{Length: h, Calls: 40, OneRing: 37}},
		{"low_answer below volume", answer, detectors.Window{Length: h, Calls: 29}},
		{"low_answer at threshold", answer, detectors.Window{Length: h, Calls: 30, Answered: 6}},
		{"low_answer none answered", answer, detectors.Window{Length: 30 * time.Minute, Calls: 400}},
		{"burst below", burst, detectors.Window{Length: h, PeakPerMinute: 9}},
		{"burst 14", burst, detectors.Window{Length: h, PeakPerMinute: 14}},
		{"concurrent fixed line", conc, detectors.Window{Length: h, MaxConcurrent: 30}},
		{"concurrent mobile", conc, detectors.Window{Length: h, MaxConcurrent: 8, Mobile: true}},
		{"invalid below count", invalid, detectors.Window{Length: h, Calls: 12, Invalid: 9}},
		{"invalid at threshold", invalid, detectors.Window{Length: h, Calls: 40, Invalid: 10}},
		{"invalid most", invalid, detectors.Window{Length: 2 * h, Calls: 500, Invalid: 410}},
		{"robotic people", robotic, with(timing(logNormal(200), logNormal(199)), h)},
		{"robotic talk", robotic, with(timing(alternate(40, 42, 40), logNormal(120)), h)},
		{"robotic gaps", robotic, with(timing(logNormal(50), alternate(29, 31, 59)), 30*time.Minute)},
		{"robotic zero mean gap", robotic, with(timing(nil, repeat(0, 99)), time.Minute)},
		{"no_callback open", noCallback, detectors.Window{Length: h, Distinct: 180, Callbacks: 1}},
		{"no_callback closing", noCallback, detectors.Window{Length: h, Distinct: 180, Callbacks: 1, Closing: true}},
		{"no_callback people", noCallback, detectors.Window{Length: h, Distinct: 25, Callbacks: 11, Closing: true}},
		{"spoofed none", spoofed, detectors.Window{Length: h, Calls: 50}},
		{"spoofed 3", spoofed, detectors.Window{Length: h, Calls: 50, Spoofed: 3, Distinct: 40}},
		{"spoofed bad ids", spoofed, detectors.Window{Length: h, Calls: 50, Spoofed: 3, BadID: 2, Distinct: 40}},
		{"roamer calling home", spoofed, detectors.Window{Length: h, Calls: 6, Spoofed: 6, Distinct: 2}},
	}
	var b strings.Builder
	line := func(name, detector string, got detectors.Finding, ok bool) {
		if !ok {
			fmt.Fprintf(&b, "%-26s %-18s -\n", name, detector)
			return
		}
		fmt.Fprintf(&b, "%-26s %-18s score=%.4f value=%g: %s\n", name, detector, got.Score, got.Value, got.Evidence)
	}
	for _, c := range cases {
		got, ok := c.d.Check(&c.w)
		line(c.name, c.d.Name(), got, ok)
	}
	targets := []struct {
		name string
		t    detectors.Target
	}{
		{"call_bombing one call", detectors.Target{Span: 10 * time.Minute, Calls: 45, Callers: 3, CallerCalls: 1}},
		{"call_bombing 30 of 45", detectors.Target{Span: 10 * time.Minute, Calls: 45, Callers: 3, CallerCalls: 30}},
		{"call_bombing below", detectors.Target{Span: 10 * time.Minute, Calls: 19, Callers: 1, CallerCalls: 19}},
	}
	for _, c := range targets {
		got, ok := bomb.CheckTarget(&c.t)
		line(c.name, bomb.Name(), got, ok)
	}
	golden.Check(t, filepath.Join("testdata", "traits.golden"), b.String())
}
