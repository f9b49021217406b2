package engine

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// callCentre makes the calls of numbers first..first+n-1 on trunk (or,
// with trunk empty, switch sw): perNumber calls each within the hour from
// t0, answered with probability answer, talking talk() seconds.
func callCentre(e *Engine, r *rand.Rand, first uint64, n, perNumber int, trunk, sw string, answer float64, talk func() float64) []*Record {
	var out []*Record
	for i := range n {
		caller := fmt.Sprintf("+%d", first+uint64(i))
		for range perNumber {
			callee := fmt.Sprintf("+86139%08d", r.IntN(1e8))
			at := t0.Add(time.Duration(r.IntN(3500)) * time.Second)
			d, t := schemas.NoAnswer, 0.0
			if r.Float64() < answer {
				d, t = schemas.Answered, talk()
			}
			x := rec(e, caller, callee, at, d, 8, t, 16, trunk)
			x.CDR.SwitchID = sw
			e.Prepare(x)
			out = append(out, x)
		}
	}
	return out
}

// groupFlags runs recs in batches of size, then closes every window, and
// returns the group flags written.
func groupFlags(e *Engine, recs []*Record, size int) []schemas.GroupFlag {
	var got []schemas.GroupFlag
	collect := func(outs []Output) {
		for _, o := range outs {
			got = append(got, o.Groups...)
		}
	}
	for i := 0; i < len(recs); i += size {
		collect(e.Process(recs[i:min(i+size, len(recs))], t0, true))
	}
	collect(e.Process(nil, t0.Add(6*time.Hour), true))
	return got
}

// traitsOf lists, per trunk ("trunk X") or block ("block P"), the traits
// flagged in any window.
func traitsOf(fs []schemas.GroupFlag) map[string][]string {
	out := map[string][]string{}
	for _, f := range fs {
		k := "trunk " + f.TrunkID
		if f.Prefix != "" {
			k = "block " + f.Prefix
		}
		if !slices.Contains(out[k], f.Detector) {
			out[k] = append(out[k], f.Detector)
			slices.Sort(out[k])
		}
	}
	return out
}

func TestCampaignsOverTrunksAndBlocks(t *testing.T) {
	cfg := config.Default()
	cfg.Engine.Shards = 2
	cfg.Detectors.Campaigns.RangeDigits = 2 // a range per block, here
	short := func(r *rand.Rand) func() float64 { return func() float64 { return 2 + 6*r.Float64() } }
	conversation := func(r *rand.Rand) func() float64 {
		return func() float64 {
			if r.Float64() < 0.2 {
				return 3 + 5*r.Float64() // voicemail, "not now"
			}
			return 60 + 600*r.Float64()
		}
	}
	tests := []struct {
		name  string
		calls func(e *Engine, r *rand.Rand) []*Record
		want  map[string][]string
	}{
		{
			name: "a call centre rotating 80 numbers of its block, 3 calls each, people hang up",
			calls: func(e *Engine, r *rand.Rand) []*Record {
				return callCentre(e, r, 862160001000, 80, 3, "CC-9", "SW-1", 0.3, short(r))
			},
			want: map[string][]string{
				"trunk CC-9":        {"fan_out", "number_rotation", "short_calls"},
				"block +8621600010": {"fan_out", "number_rotation", "short_calls"},
			},
		},
		{
			name: "the same call centre behind a switch that names no trunk",
			calls: func(e *Engine, r *rand.Rand) []*Record {
				return callCentre(e, r, 862160001000, 80, 3, "", "SW-1", 0.3, short(r))
			},
			want: map[string][]string{"block +8621600010": {"fan_out", "number_rotation", "short_calls"}},
		},
		{
			name: "a bank's customer service: 100 lines, 8 calls each, real conversations",
			calls: func(e *Engine, r *rand.Rand) []*Record {
				return callCentre(e, r, 861095000000, 100, 8, "BANK-1", "SW-1", 0.65, conversation(r))
			},
			// It calls many people, so the block shows fan_out, and
			// its dialler spreads calls over the lines; neither blocks,
			// and the trunk is not flagged.
			want: map[string][]string{"block +8610950000": {"fan_out", "number_rotation"}},
		},
		{
			name: "mobile numbers are people's handsets, never grouped",
			calls: func(e *Engine, r *rand.Rand) []*Record {
				return callCentre(e, r, 8613900001000, 80, 3, "CC-9", "SW-1", 0.3, short(r))
			},
			want: map[string][]string{},
		},
		{
			name: "a block with too few numbers in use is not judged",
			calls: func(e *Engine, r *rand.Rand) []*Record {
				return callCentre(e, r, 862160001000, 9, 30, "CC-9", "SW-1", 0.3, short(r))
			},
			// Nine numbers making 30 calls each is no rotation and no
			// block: a trunk is flagged for a campaign that rotates, and
			// the numbers answer for themselves.
			want: map[string][]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(engineConfig(cfg))
			if err != nil {
				t.Fatal(err)
			}
			got := traitsOf(groupFlags(e, tc.calls(e, rand.New(rand.NewPCG(1, 2))), 1000))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("group traits\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestCampaignFlagsListTheNumbers(t *testing.T) {
	cfg := config.Default()
	e, err := New(engineConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	recs := callCentre(e, r, 862160001000, 40, 3, "CC-9", "SW-1", 0.3, func() float64 { return 4 })
	fs := groupFlags(e, recs, 500)
	if len(fs) == 0 {
		t.Fatal("no group flags")
	}
	full := 0
	listed := map[string]bool{}
	for _, f := range fs {
		if !f.WindowStart.Equal(t0) {
			continue // a window that holds part of the hour
		}
		full++
		for _, n := range f.Numbers {
			if f.Prefix != "" && !strings.HasPrefix(n, f.Prefix) {
				t.Errorf("range %s lists %s", f.Prefix, n)
			}
			listed[n] = true
		}
		if f.Prefix != "" && (len(f.Prefix) != len("+86216000100") || len(f.Numbers) != 10) {
			t.Errorf("range %s lists %d numbers, want a range of ten with its ten", f.Prefix, len(f.Numbers))
		}
		if f.WindowEnd.Sub(f.WindowStart) != time.Hour || !strings.Contains(f.Evidence, "CC-9") {
			t.Errorf("flag %+v: want an hour's window and the trunk in the evidence", f)
		}
	}
	if full == 0 || len(listed) != 40 {
		t.Errorf("the window that holds the whole hour has %d flags listing %d numbers, want the 40 of the block", full, len(listed))
	}
}

// TestCampaignVerdictsIgnoreOrder: the same calls, shuffled and cut into
// batches differently, on engines of different shard counts, give the
// same group flags.
func TestCampaignVerdictsIgnoreOrder(t *testing.T) {
	cfg := config.Default()
	var want []schemas.GroupFlag
	for i, run := range []struct{ shards, batch int }{{1, 10000}, {4, 37}, {3, 500}} {
		cfg.Engine.Shards = run.shards
		e, err := New(engineConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(5, 6))
		recs := callCentre(e, r, 862160001000, 80, 3, "CC-9", "SW-1", 0.3, func() float64 { return 2 + 6*r.Float64() })
		recs = append(recs, callCentre(e, r, 861095000000, 100, 8, "BANK-1", "SW-1", 0.65, func() float64 { return 200 })...)
		rand.New(rand.NewPCG(uint64(i), 9)).Shuffle(len(recs), func(a, b int) { recs[a], recs[b] = recs[b], recs[a] })
		got := groupFlags(e, recs, run.batch)
		if i == 0 {
			want = got
			if len(want) == 0 {
				t.Fatal("no group flags")
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d shards, batches of %d: %d group flags differ from %d", run.shards, run.batch, len(got), len(want))
		}
	}
}

// TestBlockedRangesAreWhatTheCampaignUsed: a campaign given the first 50
// numbers of a block, whose other numbers belong to an office (on another
// trunk, or on the same one: a reseller's), has its block judged whole but
// blocked by the ranges of ten it used; the office's numbers are under
// none of them.
func TestBlockedRangesAreWhatTheCampaignUsed(t *testing.T) {
	for _, office := range []string{"OFFICE-2", "CC-9"} {
		t.Run("office on "+office, func(t *testing.T) { testBlockedRanges(t, office) })
	}
}

func testBlockedRanges(t *testing.T, officeTrunk string) {
	cfg := config.Default()
	e, err := New(engineConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	recs := callCentre(e, r, 862160001000, 50, 5, "CC-9", "SW-1", 0.3, func() float64 { return 2 + 6*r.Float64() })
	recs = append(recs, callCentre(e, r, 862160001050, 12, 4, officeTrunk, "SW-1", 0.7, func() float64 {
		if r.Float64() < 0.3 {
			return 5 // "call me later"
		}
		return 120
	})...)
	// The verdict views block a range whose traits in a window reach
	// the blocking risk; the office's ranges show number_rotation alone.
	traits := map[string][]string{}
	for _, f := range groupFlags(e, recs, 1000) {
		if f.Prefix != "" {
			k := f.Prefix + " " + f.WindowStart.String()
			traits[k] = append(traits[k], f.Detector)
		}
	}
	var ranges []string
	for k, ts := range traits {
		p, _, _ := strings.Cut(k, " ")
		if e.groups.g.verdict.Risk(ts) >= cfg.Blocklist.MinScore && !slices.Contains(ranges, p) {
			ranges = append(ranges, p)
		}
	}
	slices.Sort(ranges)
	want := []string{"+86216000100", "+86216000101", "+86216000102", "+86216000103", "+86216000104"}
	if !slices.Equal(ranges, want) {
		t.Errorf("ranges %v, want %v", ranges, want)
	}
}

// TestFewCallsTellNothing: three office lines share the block and the
// trunk of a campaign, and their few answered calls happen to be short:
// too few to judge the range by, so it is not blocked with the campaign's.
func TestFewCallsTellNothing(t *testing.T) {
	cfg := config.Default()
	e, err := New(engineConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	recs := callCentre(e, r, 862160001000, 50, 5, "CC-9", "SW-1", 0.3, func() float64 { return 2 + 6*r.Float64() })
	recs = append(recs, callCentre(e, r, 862160001050, 3, 4, "CC-9", "SW-1", 0.7, func() float64 { return 5 })...)
	for _, f := range groupFlags(e, recs, 1000) {
		if f.Prefix == "+86216000105" && f.Detector == "short_calls" {
			t.Fatalf("the office's range is flagged short_calls on %d numbers' few calls: %s", len(f.Numbers), f.Evidence)
		}
	}
}

func TestSurely(t *testing.T) {
	for _, tc := range []struct {
		k, n  int
		share float64
		want  bool
	}{
		{3, 3, 0.6, false},    // too few calls to tell
		{9, 10, 0.6, true},    // 90% of ten: surely above 60%
		{8, 13, 0.6, false},   // 62% of thirteen could be chance
		{70, 100, 0.6, true},  // 70% of a hundred
		{62, 100, 0.6, false}, // 62% of a hundred
	} {
		if got := surely(tc.k, tc.n, tc.share); got != tc.want {
			t.Errorf("surely(%d, %d, %g) = %v, want %v", tc.k, tc.n, tc.share, got, tc.want)
		}
	}
}

// TestMergeRuns: merging a window's sorted buckets gives what sorting all
// its calls gives, for any number of buckets.
func TestMergeRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	gs := &groups{}
	for nruns := 1; nruns <= 13; nruns++ {
		var runs [][]gcall
		var all []gcall
		for range nruns {
			run := make([]gcall, r.IntN(50))
			for i := range run {
				run[i] = gcall{caller: uint64(r.IntN(20)), callee: uint64(r.IntN(20)), sec: uint32(r.IntN(10))}
			}
			slices.SortFunc(run, byNumber)
			runs = append(runs, run)
			all = append(all, run...)
		}
		slices.SortFunc(all, byNumber)
		got := gs.merge(runs)
		if len(got) != len(all) {
			t.Fatalf("%d runs: merged %d calls, want %d", nruns, len(got), len(all))
		}
		for i := range all {
			if byNumber(got[i], all[i]) != 0 {
				t.Fatalf("%d runs: call %d is %+v, want %+v", nruns, i, got[i], all[i])
			}
		}
	}
}
