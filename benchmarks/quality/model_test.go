package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
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
		per[cl]++
	}
	for _, sp := range Specs {
		want := cfg.count(sp.Class)
		if sp.Class == Ordinary {
			want = cfg.Subscribers
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
// fields and an end, call ids are unique except byte-identical
// duplicates, and lines are never more than 4 minutes behind the newest
// start sent unless they are the very late ones.
func TestLines(t *testing.T) {
	tr := generated(t, 1)
	ids := map[string]string{}
	bad := 0
	for _, line := range bytes.Split(bytes.TrimSpace(tr.Lines), []byte{'\n'}) {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			bad++
			continue
		}
		id, _ := m["call_id"].(string)
		_, okCaller := m["caller"].(string)
		_, okCallee := m["callee"].(string)
		if id == "" || !okCaller || !okCallee || m["start_time"] == nil {
			bad++
			continue
		}
		if m["end_time"] == nil && m["duration"] == nil {
			t.Fatalf("no end: %s", line)
		}
		if prev, ok := ids[id]; ok && prev != string(line) {
			t.Fatalf("call id %s reused by a different record:\n%s\n%s", id, prev, line)
		}
		ids[id] = string(line)
	}
	if len(ids) != len(tr.Calls) {
		t.Errorf("%d distinct call ids, want %d", len(ids), len(tr.Calls))
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
