package schemas

import (
	"strings"
	"testing"
	"time"
)

func TestMigrations(t *testing.T) {
	migs, err := Migrations("testdb")
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 || migs[0].Version != 1 || migs[0].Name != "init" {
		t.Fatalf("migrations = %+v", migs)
	}
	for i, m := range migs {
		if i > 0 && m.Version <= migs[i-1].Version {
			t.Errorf("versions out of order: %d after %d", m.Version, migs[i-1].Version)
		}
		for _, s := range m.Statements {
			if strings.Contains(s, "{") || strings.HasSuffix(s, ";") || strings.HasPrefix(strings.TrimSpace(s), "--") {
				t.Errorf("statement not rendered cleanly: %q", s)
			}
			if !m.RunsOn(18, 16) {
				continue
			}
			// Syntax that ClickHouse 18.16 lacks.
			for _, bad := range []string{" TTL ", "CODEC(", "LowCardinality(", "DateTime64", "MODIFY SETTING"} {
				if strings.Contains(s, bad) {
					t.Errorf("migration %d runs on 18.16 but uses %q, which 18.16 rejects", m.Version, bad)
				}
			}
		}
	}
	var tables []string
	for _, s := range migs[0].Statements {
		if name, ok := strings.CutPrefix(s, "CREATE TABLE IF NOT EXISTS testdb."); ok {
			tables = append(tables, strings.Fields(name)[0])
		}
	}
	if got := strings.Join(tables, " "); got != "cdrs caller_stats flagged_numbers cdr_rejects" {
		t.Errorf("tables = %s", got)
	}
}

func TestMigrationRequires(t *testing.T) {
	migs, err := Migrations("testdb")
	if err != nil {
		t.Fatal(err)
	}
	var current *Migration
	for i := range migs {
		if migs[i].Name == "current_release" {
			current = &migs[i]
		}
	}
	if current == nil || current.Requires != [2]int{21, 8} {
		t.Fatalf("0004_current_release requires %v, want 21.8", current)
	}
	f := func(major, minor int, want bool) {
		t.Helper()
		if got := current.RunsOn(major, minor); got != want {
			t.Errorf("RunsOn(%d, %d) = %v, want %v", major, minor, got, want)
		}
	}
	f(18, 16, false)
	f(21, 7, false)
	f(21, 8, true)
	f(21, 12, true)
	f(26, 9, true)
	if !migs[0].RunsOn(18, 16) {
		t.Error("the first migration does not run on 18.16")
	}
}

func TestViews(t *testing.T) {
	views := Views("testdb", Verdict{TTL: 36 * time.Hour, MinScore: 0.8, TraitRisk: 0.35,
		Rules:     []Rule{{Traits: []string{"fan_out", "short_calls"}, Risk: 0.9}},
		Allowlist: []string{"+86110", "+86100*"}})
	var all string
	var names []string
	for _, v := range views {
		all += v.Query + "\n"
		names = append(names, v.Name)
	}
	if got := strings.Join(names, " "); got != "flagged_numbers caller_stats verdicts blocklist range_verdicts blocklist_ranges" {
		t.Errorf("views %s, want each after those it reads", got)
	}
	for _, want := range []string{
		"now() - 129600", "FROM testdb.flags FINAL", "FROM testdb.window_stats FINAL", "FROM testdb.verdicts",
		"if(hasAll(detectors, ['fan_out', 'short_calls']), 0.9, 0.)", "1. - pow(1. - 0.35, length(detectors) - hasAll(detectors, ['fan_out', 'daily_fan_out'])",
		"risk >= 0.8", "has(['+86110'], number)", "['+86100']",
		"FROM testdb.range_flags FINAL", "FROM testdb.range_verdicts", "substring(number, length(number), 1) = '*'",
		"arrayExists(e -> substring(e, 1, length(prefix)) = prefix, ['+86110', '+86100'])",
		"arrayExists(p -> substring(prefix, 1, length(p)) = p, ['+86100'])",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("views lack %q:\n%s", want, all)
		}
	}
}

func TestDispositionNames(t *testing.T) {
	for d := Answered; d <= Cancelled; d++ {
		got, ok := ParseDisposition(d.String())
		if !ok || got != d {
			t.Errorf("ParseDisposition(%q) = %v, %v", d.String(), got, ok)
		}
	}
	if _, ok := ParseDisposition("unknown"); ok {
		t.Error("unknown is not a wire value")
	}
}

func TestEvidence(t *testing.T) {
	for _, tc := range []struct {
		traits []string
		want   int
	}{
		{nil, 0},
		{[]string{"fan_out", "no_callback"}, 2},
		{[]string{"fan_out", "daily_fan_out"}, 1},
		{[]string{"fan_out", "daily_fan_out", "burst", "no_callback"}, 3},
		{[]string{"daily_fan_out", "daily_short_calls"}, 2},
	} {
		if got := Evidence(tc.traits); got != tc.want {
			t.Errorf("Evidence(%v) = %d, want %d", tc.traits, got, tc.want)
		}
	}
}

func TestRisk(t *testing.T) {
	v := Verdict{TraitRisk: 0.35, Rules: []Rule{{Traits: []string{"fan_out", "short_calls"}, Risk: 0.9}}}
	for _, tc := range []struct {
		traits []string
		want   float64
	}{
		{nil, 0},
		{[]string{"fan_out"}, 0.35},
		{[]string{"fan_out", "short_calls"}, 0.9},
		{[]string{"fan_out", "daily_fan_out"}, 0.35}, // one piece of evidence
		{[]string{"fan_out", "number_rotation"}, 1 - 0.65*0.65},
	} {
		if got := v.Risk(tc.traits); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("Risk(%v) = %v, want %v", tc.traits, got, tc.want)
		}
	}
}
