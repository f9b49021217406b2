package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// testConfig is a small, fixed run: the start is pinned so the daily
// rhythm and every draw are the same on every machine and day.
func testConfig(seed int64) Config {
	c := DefaultConfig()
	c.Seed = seed
	c.Subscribers = 5000
	c.Start = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) // 08:00 CST: the morning ramp
	c.Span = 3 * time.Hour
	return c
}

var cached = map[int64]*Traffic{}

func generated(t testing.TB, seed int64) *Traffic {
	t.Helper()
	if tr, ok := cached[seed]; ok {
		return tr
	}
	tr := Generate(testConfig(seed))
	cached[seed] = tr
	return tr
}

func TestDeterministic(t *testing.T) {
	a := Generate(testConfig(7))
	b := Generate(testConfig(7))
	if !bytes.Equal(a.Lines, b.Lines) {
		t.Fatal("the same seed gave different lines")
	}
	c := generated(t, 1)
	if bytes.Equal(a.Lines, c.Lines) {
		t.Fatal("different seeds gave the same lines")
	}
}

// TestThresholds checks, caller by caller, that the checkable traits the
// class claims are crossed by its records, and that no checkable trait
// outside the class's Always and Maybe is.
func TestThresholds(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		tr := generated(t, seed)
		for num, cl := range tr.Class {
			sp := Spec(cl)
			exp := tr.Expected[num]
			for _, trait := range sp.Always {
				if !exp[trait] {
					t.Errorf("seed %d: %s %s does not cross %s", seed, cl, num, trait)
				}
			}
			for _, trait := range Checkable {
				if exp[trait] && !slices.Contains(sp.Always, trait) && !slices.Contains(sp.Maybe, trait) {
					t.Errorf("seed %d: %s %s crosses %s, which its class does not claim", seed, cl, num, trait)
				}
			}
		}
	}
}

// TestMaybeBothWays makes sure the Maybe traits really vary (otherwise
// they belong in Always or nowhere) in a default-sized class.
func TestMaybeBothWays(t *testing.T) {
	tr := generated(t, 1)
	for _, sp := range Specs {
		for _, trait := range sp.Maybe {
			yes, no := 0, 0
			for num, cl := range tr.Class {
				if cl == sp.Class {
					if tr.Expected[num][trait] {
						yes++
					} else {
						no++
					}
				}
			}
			t.Logf("%s %s: %d cross, %d do not", sp.Class, trait, yes, no)
		}
	}
}

func TestOrdinaryPace(t *testing.T) {
	tr := generated(t, 1)
	by := map[uint32][]int64{}
	for _, c := range tr.Calls {
		if tr.Class[tr.Numbers[c.Caller]] == Ordinary {
			by[c.Caller] = append(by[c.Caller], c.Start)
		}
	}
	active := 0
	for caller, starts := range by {
		slices.Sort(starts)
		j := 0
		for i := range starts {
			for j < len(starts) && starts[j] < starts[i]+msPerHour {
				j++
			}
			if j-i > 8 {
				t.Fatalf("ordinary %s makes %d calls within an hour", tr.Numbers[caller], j-i)
			}
		}
		active++
	}
	if active < len(tr.Class)/2 {
		t.Errorf("only %d ordinary subscribers called at all", active)
	}
	for num, cl := range tr.Class {
		if cl == Ordinary && len(tr.Expected[num]) > 0 {
			t.Errorf("ordinary %s is expected to show %v", num, tr.Expected[num])
		}
	}
}

func TestTruthCounts(t *testing.T) {
	cfg := testConfig(1)
	tr := generated(t, 1)
	per := map[Class]int{}
	for _, cl := range tr.Class {
		if !Spec(cl).Group {
			per[cl]++
		}
	}
	trunksOf := map[Class]map[uint8]bool{}
	for _, c := range tr.Calls {
		if cl := tr.Class[tr.Numbers[c.Caller]]; Spec(cl).Group {
			if trunksOf[cl] == nil {
				trunksOf[cl] = map[uint8]bool{}
			}
			trunksOf[cl][c.Trunk] = true
		}
	}
	for cl, ts := range trunksOf {
		per[cl] = len(ts) // one trunk per group
	}
	for _, sp := range Specs {
		want := cfg.count(sp.Class)
		switch sp.Class {
		case Ordinary:
			want = cfg.Subscribers
		case OfficeLine:
			want = 2 // one on a campaign's trunk, one on its own (campaignShapes)
		}
		if per[sp.Class] != want {
			t.Errorf("%s: %d callers, want %d", sp.Class, per[sp.Class], want)
		}
	}
	// Every caller of a call has a class; every line is accounted for.
	for _, c := range tr.Calls {
		if _, ok := tr.Class[tr.Numbers[c.Caller]]; !ok {
			t.Fatalf("caller %s has no class", tr.Numbers[c.Caller])
		}
	}
	lines := bytes.Count(tr.Lines, []byte{'\n'})
	if lines != tr.Sent || tr.Sent != len(tr.Calls)+tr.Duplicates+tr.Malformed {
		t.Errorf("%d lines, Sent %d, want calls %d + duplicates %d + malformed %d", lines, tr.Sent, len(tr.Calls), tr.Duplicates, tr.Malformed)
	}
	share := func(n int) float64 { return float64(n) / float64(len(tr.Calls)) }
	if s := share(tr.Duplicates); s < 0.007 || s > 0.013 {
		t.Errorf("duplicates %.4f of calls, want about 0.01", s)
	}
	if s := share(tr.Malformed); s < 0.001 || s > 0.003 {
		t.Errorf("malformed %.4f of calls, want about 0.002", s)
	}
	if tr.VeryLate == 0 || tr.OutOfOrder == 0 {
		t.Errorf("very late %d, out of order %d: want some of each", tr.VeryLate, tr.OutOfOrder)
	}
}

// TestLines checks the wire format: valid lines parse, carry the required
// fields and an end; a call id is unique on its switch except for
// byte-identical re-sends (the switches that write no switch_id write
// unique ids or none), and about 1% of the calls share theirs with another
// switch's call.
func TestLines(t *testing.T) {
	tr := generated(t, 1)
	ids := map[[2]string]string{}
	bySwitch := map[string]map[string]bool{} // call id → switches
	noID, bad := map[string]bool{}, 0
	for _, line := range bytes.Split(bytes.TrimSpace(tr.Lines), []byte{'\n'}) {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			bad++
			continue
		}
		id, _ := m["call_id"].(string)
		sw, _ := m["switch_id"].(string)
		_, okCaller := m["caller"].(string)
		_, okCallee := m["callee"].(string)
		_, numDuration := m["duration"].(float64)
		if !okCaller || !okCallee || m["start_time"] == nil || m["duration"] != nil && !numDuration {
			bad++
			continue
		}
		if m["end_time"] == nil && m["duration"] == nil {
			bad++ // a malformed line; a valid one without an end would miss from the count below
			continue
		}
		if id == "" {
			noID[string(line)] = true
			continue
		}
		k := [2]string{sw, id}
		if prev, ok := ids[k]; ok {
			if prev != string(line) {
				t.Fatalf("call id %s reused on switch %q by a different record:\n%s\n%s", id, sw, prev, line)
			}
			continue // a re-send: same switch, same id, same bytes
		}
		ids[k] = string(line)
		if bySwitch[id] == nil {
			bySwitch[id] = map[string]bool{}
		}
		bySwitch[id][sw] = true
	}
	if len(ids)+len(noID) != len(tr.Calls) {
		t.Errorf("%d distinct (switch, call id) and %d distinct lines without one, want %d calls", len(ids), len(noID), len(tr.Calls))
	}
	repeats := 0
	for _, sws := range bySwitch {
		if len(sws) > 1 {
			repeats += len(sws)
		}
	}
	if repeats != tr.CallIDRepeats {
		t.Errorf("%d records share their call id with another switch's, traffic says %d", repeats, tr.CallIDRepeats)
	}
	if s := float64(repeats) / float64(len(tr.Calls)); s < 0.006 || s > 0.015 {
		t.Errorf("%.4f of calls share their call id with another switch's call, want about 0.01", s)
	}
	if bad == 0 || bad > tr.Malformed {
		t.Errorf("%d lines fail the basic checks, %d malformed sent", bad, tr.Malformed)
	}
	for _, tr2 := range InternationalTrunks {
		if !bytes.Contains(tr.Lines, []byte(`"trunk_id":"`+tr2+`"`)) {
			t.Errorf("no traffic on %s", tr2)
		}
	}
	if !strings.Contains(string(tr.Lines), `"disposition":"cancelled"`) {
		t.Error("no cancelled calls")
	}
}

// TestRouting checks every call goes through its caller's home switch,
// except calls on international trunks, which come in through the
// gateway; and that every switch carries some of the traffic.
func TestRouting(t *testing.T) {
	tr := generated(t, 1)
	var used [traffic.NumSwitches]int
	for _, c := range tr.Calls {
		want := traffic.HomeSwitch(tr.nums[c.Caller])
		if slices.Contains(InternationalTrunks, trunks[c.Trunk]) {
			want = traffic.Gateway()
		} else if !strings.HasPrefix(tr.Numbers[c.Caller], "+86") {
			t.Errorf("foreign caller %s on a domestic trunk", tr.Numbers[c.Caller])
		}
		if int(c.Switch) != want {
			t.Fatalf("call of %s on switch %d, want %d", tr.Numbers[c.Caller], c.Switch, want)
		}
		used[c.Switch]++
	}
	for i, sw := range traffic.Fleet() {
		if used[i] == 0 {
			t.Errorf("switch %s carries no calls", sw.ID)
		}
	}
}

// TestFromAbroad checks the gateway's numbers read back to the E.164 the
// truth uses: callers in international format with caller_noa
// international (foreign wangiri numbers and spoofed home ones alike).
func TestFromAbroad(t *testing.T) {
	tr := generated(t, 1)
	gw := traffic.Fleet()[traffic.Gateway()].ID
	seen := map[Class]int{}
	for _, line := range bytes.Split(tr.Lines, []byte{'\n'}) {
		var m map[string]any
		if !bytes.Contains(line, []byte(gw)) || json.Unmarshal(line, &m) != nil || m["switch_id"] != gw {
			continue
		}
		caller, _ := m["caller"].(string)
		if m["caller_noa"] != "international" || strings.HasPrefix(caller, "+") || strings.HasPrefix(caller, "0") {
			t.Fatalf("gateway caller not in international digits: %s", line)
		}
		cl, ok := tr.Class["+"+caller]
		if !ok {
			t.Fatalf("gateway caller %s reads back as +%s, not a number of the traffic: %s", caller, caller, line)
		}
		seen[cl]++
	}
	if seen[Wangiri] == 0 || seen[Spoofer] == 0 {
		t.Errorf("gateway callers by class %v: want wangiri and spoofer", seen)
	}
}

// TestSeen checks the calls the truth is computed on are what the
// switches wrote: a skewed switch's calls start off by its skew, whole-
// second switches' starts are cut to the second, withheld callers without
// a number are hidden, and nothing else changes.
func TestSeen(t *testing.T) {
	tr := generated(t, 1)
	fleet := traffic.Fleet()
	seen := tr.Seen()
	hidden, skewed, ordinary := 0, 0, 0
	for i, c := range tr.Calls {
		if tr.Class[tr.Numbers[c.Caller]] == Ordinary {
			ordinary++
		}
		s, sw := seen[i], fleet[c.Switch]
		at := c.Start + sw.Skew.Milliseconds()
		if d := at - s.Start; d < 0 || d >= 1000 || (sw.Times.Milli() && d != 0) {
			t.Fatalf("%s: seen start %d, true %d with skew %v", sw.ID, s.Start, c.Start, sw.Skew)
		}
		if sw.Skew != 0 {
			skewed++
		}
		if s.Hidden {
			hidden++
			if !c.Withheld || sw.Withheld == traffic.WithheldPresentation {
				t.Fatalf("call on %s hidden though its number was written", sw.ID)
			}
		}
		if s.Caller != c.Caller || s.Callee != c.Callee || s.Disp != c.Disp || s.Late != c.Late {
			t.Fatalf("seen call differs beyond times: %+v, was %+v", s, c)
		}
	}
	if hidden != tr.WithheldNoNumber || skewed != tr.Skewed || hidden == 0 || skewed == 0 {
		t.Errorf("hidden %d (traffic says %d), skewed %d (%d)", hidden, tr.WithheldNoNumber, skewed, tr.Skewed)
	}
	if s := float64(tr.Withheld) / float64(ordinary); s < 0.0015 || s > 0.005 {
		t.Errorf("%.4f of ordinary subscribers' calls withheld, want about 0.003", s)
	}
}

// TestCrossedHidden checks a withheld caller without a number counts for
// nobody: not for the caller, not as a callback.
func TestCrossedHidden(t *testing.T) {
	det := config.Default().Detectors
	nums := []string{"+8613900000000", "+8613800000000"}
	var calls []Call
	for i := range 60 {
		// 60 callees, but 20 of the calls carry no number.
		nums = append(nums, "+86137"+strconv.Itoa(10000000+i*1000))
		c := Call{Start: int64(i) * 30 * msPerSec, Caller: 0, Callee: uint32(len(nums) - 1), Disp: DispNoAnswer, Cause: 19, Ring: 20000}
		c.Hidden = i%3 == 0
		calls = append(calls, c)
	}
	if got := Crossed(calls, nums, det)[0]; got["fan_out"] {
		t.Errorf("fan_out crossed with %d callees of which a third withheld without a number", 60)
	}
	for i := range calls {
		calls[i].Hidden = false
	}
	if got := Crossed(calls, nums, det)[0]; !got["fan_out"] {
		t.Errorf("fan_out not crossed with 60 visible callees: %v", got)
	}
}
