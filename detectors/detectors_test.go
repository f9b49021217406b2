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

// checkFinding compares one Check result with what a table row expects:
// whether it flags, the score (when wantScore > 0), the measured value,
// and substrings the evidence must contain.
func checkFinding(t *testing.T, got detectors.Finding, ok, wantOK bool, wantScore, wantValue float64, wantEvidence []string) {
	t.Helper()
	if ok != wantOK {
		t.Fatalf("flagged = %v, want %v (finding %+v)", ok, wantOK, got)
	}
	if !ok {
		if got != (detectors.Finding{}) {
			t.Errorf("no finding, but Finding is not zero: %+v", got)
		}
		return
	}
	if got.Score <= 0 || got.Score > 1 || math.IsNaN(got.Score) {
		t.Errorf("score %v outside (0, 1]", got.Score)
	}
	if wantScore > 0 && math.Abs(got.Score-wantScore) > 1e-12 {
		t.Errorf("score = %v, want %v", got.Score, wantScore)
	}
	if math.Abs(got.Value-wantValue) > 1e-12 {
		t.Errorf("value = %v, want %v", got.Value, wantValue)
	}
	for _, s := range wantEvidence {
		if !strings.Contains(got.Evidence, s) {
			t.Errorf("evidence %q does not contain %q", got.Evidence, s)
		}
	}
}

// TestFanOut checks the distinct-callee threshold just below, exactly at
// and above it: 0.5 at the threshold, rising towards 1.
func TestFanOut(t *testing.T) {
	d := detectors.FanOut{MinCallees: 50}
	tests := []struct {
		name      string
		distinct  int
		want      bool
		wantScore float64
		evidence  []string
	}{
		{"none", 0, false, 0, nil},
		{"just below", 49, false, 0, nil},
		{"at threshold", 50, true, 0.5, []string{"50 distinct callees", "in 1 h", "(threshold 50)"}},
		{"just above", 51, true, 51.0 / 101, []string{"51 distinct callees", "(threshold 50)"}},
		{"far above", 5000, true, 5000.0 / 5050, []string{"5000 distinct callees", "(threshold 50)"}},
		{"huge", math.MaxInt32, true, 0, []string{fmt.Sprint(math.MaxInt32), "(threshold 50)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &detectors.Window{Length: time.Hour, Calls: tt.distinct, Distinct: tt.distinct}
			got, ok := d.Check(w)
			checkFinding(t, got, ok, tt.want, tt.wantScore, float64(tt.distinct), tt.evidence)
		})
	}
}

// TestShortCalls checks both gates: the volume of answered calls and the
// share of short ones, each just below, at and above its threshold.
func TestShortCalls(t *testing.T) {
	d := detectors.ShortCalls{MinAnswered: 20, MaxTalk: 10 * time.Second, MinShare: 0.7}
	tests := []struct {
		name            string
		answered, short int
		want            bool
		wantScore       float64
		evidence        []string
	}{
		{"nothing answered", 0, 0, false, 0, nil},
		{"volume just below, all short", 19, 19, false, 0, nil},
		{"share just below", 20, 13, false, 0, nil},
		{"share just below, large volume", 1000, 699, false, 0, nil},
		{"both at threshold", 20, 14, true, 0.5,
			[]string{"70% of 20 answered calls", "under 10s", "in 1 h", "(threshold 70% of at least 20)"}},
		{"share just above", 20, 15, true, (0.5 + 0.75/1.45) / 2,
			[]string{"75% of 20 answered calls", "(threshold 70% of at least 20)"}},
		{"volume just above", 21, 21, true, (21.0/41 + 1/1.7) / 2,
			[]string{"100% of 21 answered calls", "(threshold 70% of at least 20)"}},
		{"all short, large volume", 1000, 1000, true, (1000.0/1020 + 1/1.7) / 2,
			[]string{"100% of 1000 answered calls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &detectors.Window{Length: time.Hour, Calls: tt.answered + 5, Answered: tt.answered, Short: tt.short}
			got, ok := d.Check(w)
			checkFinding(t, got, ok, tt.want, tt.wantScore, float64(tt.short)/float64(max(tt.answered, 1)), tt.evidence)
		})
	}
}

// TestShortCallsNoAnswered makes sure a zero volume threshold never
// divides by zero.
func TestShortCallsNoAnswered(t *testing.T) {
	d := detectors.ShortCalls{MinAnswered: 0, MaxTalk: 10 * time.Second, MinShare: 0.5}
	if got, ok := d.Check(&detectors.Window{Length: time.Hour, Calls: 7}); ok {
		t.Errorf("no answered calls flagged: %+v", got)
	}
}

// TestSequentialInRuns counts callees in qualifying runs on the edges:
// empty input, runs exactly MinRun long, steps of MaxStep and MaxStep+1,
// several runs, a run at the end, and values near the top of uint64.
func TestSequentialInRuns(t *testing.T) {
	const top = math.MaxUint64
	tests := []struct {
		name     string
		minRun   int
		maxStep  uint64
		sorted   []uint64
		wantIn   int
		wantRuns int
	}{
		{"nil", 5, 3, nil, 0, 0},
		{"empty", 5, 3, []uint64{}, 0, 0},
		{"single", 2, 3, []uint64{42}, 0, 0},
		{"single, min run 1", 1, 3, []uint64{42}, 1, 1},
		{"one short of min run", 5, 1, []uint64{10, 11, 12, 13}, 0, 0},
		{"exactly min run", 5, 1, []uint64{10, 11, 12, 13, 14}, 5, 1},
		{"longer than min run", 5, 1, []uint64{10, 11, 12, 13, 14, 15, 16}, 7, 1},
		{"step exactly max step", 5, 3, []uint64{0, 3, 6, 9, 12}, 5, 1},
		{"step max step plus one", 5, 3, []uint64{0, 4, 8, 12, 16}, 0, 0},
		{"one gap of max step plus one breaks the run", 5, 3, []uint64{0, 1, 2, 3, 7, 8, 9, 10}, 0, 0},
		{"two runs split by max step plus one", 5, 3, []uint64{0, 1, 2, 3, 4, 8, 9, 10, 11, 12}, 10, 2},
		{"two runs with noise", 3, 1, []uint64{5, 100, 101, 102, 500, 900, 901, 902, 903, 2000}, 7, 2},
		{"run at the start", 3, 2, []uint64{1, 3, 5, 100, 200}, 3, 1},
		{"run at the end", 5, 1, []uint64{1, 100, 200, 201, 202, 203, 204}, 5, 1},
		{"short run at the end", 5, 1, []uint64{1, 2, 3, 4, 5, 100, 101, 102, 103}, 5, 1},
		{"no runs", 2, 1, []uint64{10, 20, 30, 40}, 0, 0},
		{"all one run", 2, 10, []uint64{10, 20, 30, 40}, 4, 1},
		{"top of uint64", 5, 2, []uint64{top - 8, top - 6, top - 4, top - 2, top}, 5, 1},
		{"top of uint64, step too wide", 2, 2, []uint64{top - 3, top}, 0, 0},
		{"zero and top are not neighbours", 2, 3, []uint64{0, top}, 0, 0},
		{"max step covers everything", 2, top, []uint64{0, top}, 2, 1},
		{"phone numbers", 5, 3, []uint64{8613900000000, 8613900000001, 8613900000003, 8613900000006, 8613900000009, 8613999999999}, 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := detectors.Sequential{MinCallees: 10, MinRun: tt.minRun, MaxStep: tt.maxStep}
			in, runs := d.InRuns(tt.sorted)
			if in != tt.wantIn || runs != tt.wantRuns {
				t.Errorf("InRuns(%v) = %d in %d runs, want %d in %d runs", tt.sorted, in, runs, tt.wantIn, tt.wantRuns)
			}
		})
	}
}

// TestSequentialScore checks the share of callees in runs kept in
// caller_stats.
func TestSequentialScore(t *testing.T) {
	d := detectors.Sequential{MinCallees: 4, MinRun: 3, MaxStep: 1}
	f := func(sorted []uint64, want float64) {
		t.Helper()
		if got := d.Score(sorted); math.Abs(got-want) > 1e-12 {
			t.Errorf("Score(%v) = %v, want %v", sorted, got, want)
		}
	}
	f(nil, 0)
	f([]uint64{7}, 0)
	f([]uint64{1, 10, 100}, 0)
	f([]uint64{1, 2, 3}, 1)
	f([]uint64{1, 2, 3, 10, 20, 30}, 0.5)
	f([]uint64{1, 2, 10, 11, 12, 13, 50, 60}, 0.5)
	f([]uint64{math.MaxUint64 - 2, math.MaxUint64 - 1, math.MaxUint64}, 1)
}

// TestSequentialCheck checks both gates of sequential dialing: enough
// distinct callees, and enough of them in runs, with evidence naming
// both counts and the run rule.
func TestSequentialCheck(t *testing.T) {
	d := detectors.Sequential{MinCallees: 10, MinRun: 5, MaxStep: 3}
	run := func(from uint64, n int) []uint64 {
		out := make([]uint64, n)
		for i := range out {
			out[i] = from + uint64(i)
		}
		return out
	}
	cat := func(parts ...[]uint64) []uint64 {
		var out []uint64
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name      string
		distinct  int
		sorted    []uint64
		want      bool
		wantScore float64
		wantValue float64
		evidence  []string
	}{
		{"distinct just below", 9, run(100, 9), false, 0, 0, nil},
		{"distinct at threshold, none in runs", 10, []uint64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, false, 0, 0, nil},
		{"in runs just below", 12, cat(run(100, 5), run(200, 4), []uint64{300, 400, 500}), false, 0, 0, nil},
		{"in runs at threshold", 12, cat(run(100, 5), run(200, 5), []uint64{300, 400}), true, 0.5, 10,
			[]string{"10 of 12 distinct callees", "in 1 h", "lie in 2 runs", "at least 5 numbers", "at most 3", "(threshold 10)"}},
		{"in runs just above", 11, run(100, 11), true, 11.0 / 21, 11,
			[]string{"11 of 11 distinct callees", "lie in 1 runs", "(threshold 10)"}},
		{"sorted not computed", 50, nil, false, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &detectors.Window{Length: time.Hour, Calls: tt.distinct, Distinct: tt.distinct, Sorted: tt.sorted}
			got, ok := d.Check(w)
			checkFinding(t, got, ok, tt.want, tt.wantScore, tt.wantValue, tt.evidence)
		})
	}
}

// TestDetectorInterface pins the names stored in flagged_numbers and
// which detectors need the sorted callees.
func TestDetectorInterface(t *testing.T) {
	tests := []struct {
		d          detectors.Detector
		name       string
		needSorted bool
	}{
		{detectors.FanOut{}, "fan_out", false},
		{detectors.ShortCalls{}, "short_calls", false},
		{detectors.Sequential{}, "sequential_dialing", true},
	}
	for _, tt := range tests {
		if got := tt.d.Name(); got != tt.name {
			t.Errorf("%T.Name() = %q, want %q", tt.d, got, tt.name)
		}
		if got := tt.d.NeedsSorted(); got != tt.needSorted {
			t.Errorf("%T.NeedsSorted() = %v, want %v", tt.d, got, tt.needSorted)
		}
	}
}

// TestScoresInRange sweeps each detector across and past its threshold:
// every score is in (0, 1], and never falls as the measured value grows.
func TestScoresInRange(t *testing.T) {
	fan := detectors.FanOut{MinCallees: 2}
	short := detectors.ShortCalls{MinAnswered: 1, MaxTalk: time.Second, MinShare: 0.01}
	seq := detectors.Sequential{MinCallees: 2, MinRun: 2, MaxStep: 1}
	prev := map[string]float64{}
	check := func(d detectors.Detector, w *detectors.Window) {
		t.Helper()
		got, ok := d.Check(w)
		if !ok {
			return
		}
		if !(got.Score > 0 && got.Score <= 1) {
			t.Errorf("%s: score %v outside (0, 1] for %+v", d.Name(), got.Score, *w)
		}
		if got.Score < prev[d.Name()] {
			t.Errorf("%s: score fell from %v to %v at %+v", d.Name(), prev[d.Name()], got.Score, *w)
		}
		prev[d.Name()] = got.Score
	}
	for n := 0; n <= 1<<20; n = n*2 + 1 {
		check(fan, &detectors.Window{Length: time.Hour, Distinct: n})
		check(short, &detectors.Window{Length: time.Hour, Answered: n, Short: n})
		sorted := make([]uint64, n)
		for i := range sorted {
			sorted[i] = uint64(i)
		}
		check(seq, &detectors.Window{Length: time.Hour, Distinct: n, Sorted: sorted})
	}
	for _, name := range []string{"fan_out", "short_calls", "sequential_dialing"} {
		if prev[name] == 0 {
			t.Errorf("%s never flagged in the sweep", name)
		}
	}
}

// TestEvidenceGolden renders the findings of a fixed set of windows, one
// line each, and compares them with testdata/evidence.golden. Evidence is
// what an analyst reads in flagged_numbers, so its wording changes only
// on purpose (rerun with -update and review the diff).
func TestEvidenceGolden(t *testing.T) {
	fan := detectors.FanOut{MinCallees: 50}
	short := detectors.ShortCalls{MinAnswered: 20, MaxTalk: 10 * time.Second, MinShare: 0.7}
	seq := detectors.Sequential{MinCallees: 10, MinRun: 5, MaxStep: 3}
	scan := []uint64{8613900000000, 8613900000001, 8613900000002, 8613900000003, 8613900000004,
		8613900000010, 8613900000013, 8613900000016, 8613900000019, 8613900000022, 8613977777777}
	cases := []struct {
		name string
		d    detectors.Detector
		w    detectors.Window
	}{
		{"fan_out below", fan, detectors.Window{Length: time.Hour, Calls: 60, Distinct: 49}},
		{"fan_out at threshold", fan, detectors.Window{Length: time.Hour, Calls: 60, Distinct: 50}},
		{"fan_out 2h", fan, detectors.Window{Length: 2 * time.Hour, Calls: 400, Distinct: 350}},
		{"fan_out 30min", fan, detectors.Window{Length: 30 * time.Minute, Calls: 80, Distinct: 75}},
		{"fan_out 90s", fan, detectors.Window{Length: 90 * time.Second, Calls: 80, Distinct: 51}},
		{"short_calls below volume", short, detectors.Window{Length: time.Hour, Calls: 40, Answered: 19, Short: 19}},
		{"short_calls at threshold", short, detectors.Window{Length: time.Hour, Calls: 40, Answered: 20, Short: 14}},
		{"short_calls all short", short, detectors.Window{Length: 90 * time.Minute, Calls: 300, Answered: 250, Short: 250}},
		{"short_calls 29 of 30", short, detectors.Window{Length: time.Hour, Calls: 30, Answered: 30, Short: 29}},
		{"sequential below", seq, detectors.Window{Length: time.Hour, Calls: 12, Distinct: 6, Sorted: scan[5:]}},
		{"sequential one run short", seq, detectors.Window{Length: time.Hour, Calls: 12, Distinct: 10, Sorted: scan[1:]}},
		{"sequential two runs", seq, detectors.Window{Length: time.Hour, Calls: 11, Distinct: 11, Sorted: scan}},
		{"sequential 15min", seq, detectors.Window{Length: 15 * time.Minute, Calls: 10, Distinct: 10, Sorted: scan[:10]}},
	}
	var b strings.Builder
	for _, c := range cases {
		got, ok := c.d.Check(&c.w)
		if !ok {
			fmt.Fprintf(&b, "%-26s %-18s -\n", c.name, c.d.Name())
			continue
		}
		fmt.Fprintf(&b, "%-26s %-18s score=%.4f value=%g: %s\n", c.name, c.d.Name(), got.Score, got.Value, got.Evidence)
	}
	golden.Check(t, filepath.Join("testdata", "evidence.golden"), b.String())
}
