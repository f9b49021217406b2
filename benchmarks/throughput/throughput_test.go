package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestSizeTraffic(t *testing.T) {
	f := func(cdrs, subscribers, wantSubs, wantHours int) {
		t.Helper()
		subs, hours := sizeTraffic(cdrs, subscribers)
		if subs != wantSubs || hours != wantHours {
			t.Errorf("sizeTraffic(%d, %d) = %d subscribers × %d h, want %d × %d", cdrs, subscribers, subs, hours, wantSubs, wantHours)
		}
	}
	f(595460, 500000, 500389, 1) // the demo hour
	f(200000, 500000, 166103, 1) // fewer than an hour of the operator: fewer subscribers
	f(2000000, 500000, 562553, 3)
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	f := func(in []time.Duration, p float64, want time.Duration) {
		t.Helper()
		if got := percentile(in, p); got != want {
			t.Errorf("percentile(%v, %v) = %v, want %v", in, p, got, want)
		}
	}
	f(nil, 50, 0)
	f(ms(5), 99, 5*time.Millisecond)
	f(ms(3, 1, 2), 50, 2*time.Millisecond)
	f(ms(3, 1, 2), 100, 3*time.Millisecond)
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i
	}
	f(ms(hundred...), 99, 99*time.Millisecond)
	f(ms(hundred...), 50, 50*time.Millisecond)
}

func TestParseSummary(t *testing.T) {
	out := "noise\nsummary: records 197239 (valid 196822, rejects 417, duplicates 2057, late 20), flags 4375, stats rows 890, rows written 200447, 2.1s, 94112 CDR/s, clickhouse retries 0\n"
	s, ok := parseSummary(out)
	if !ok || s.Records != 197239 || s.Valid != 196822 || s.Rejects != 417 || s.Duplicates != 2057 || s.Seconds != 2.1 || s.PerSecond != 94112 {
		t.Errorf("parseSummary = %+v, %v", s, ok)
	}
	if _, ok := parseSummary("summary: something else\n"); ok {
		t.Error("parseSummary accepted a line it cannot read")
	}
}

// TestSchedule checks that each abuser's calls end with its crossing call
// and that crossings are staggered inside the run with room to be seen.
func TestSchedule(t *testing.T) {
	const abusers, threshold, duration = 10, 50, 20 * time.Second
	plan := schedule(abusers, threshold, duration)
	if len(plan) != abusers*threshold {
		t.Fatalf("%d planned calls, want %d", len(plan), abusers*threshold)
	}
	if !slices.IsSortedFunc(plan, func(x, y plannedCall) int { return int(x.due - y.due) }) {
		t.Error("plan is not in due order")
	}
	crossing := make([]time.Duration, abusers)
	last := make([]int, abusers)
	for i := range last {
		last[i] = -1
	}
	for _, p := range plan {
		if p.index != last[p.abuser]+1 {
			t.Fatalf("abuser %d: call %d after call %d", p.abuser, p.index, last[p.abuser])
		}
		last[p.abuser] = p.index
		if p.index == threshold-1 {
			crossing[p.abuser] = p.due
		}
	}
	for a := 1; a < abusers; a++ {
		if crossing[a] <= crossing[a-1] {
			t.Errorf("abuser %d crosses at %v, not after abuser %d at %v", a, crossing[a], a-1, crossing[a-1])
		}
	}
	if crossing[abusers-1] > duration*9/10 || crossing[0] < 5*time.Second {
		t.Errorf("crossings from %v to %v, want within [5s, 18s]", crossing[0], crossing[abusers-1])
	}
}

// TestLoadLines checks that the CDRs are valid JSON with the contract's
// fields, that abusers' callees are distinct and that no ordinary
// subscriber calls more than twice.
func TestLoadLines(t *testing.T) {
	l := newLoad("t", 1000, 10*time.Second)
	now := time.Date(2026, 11, 29, 7, 0, 3, 250e6, time.UTC)
	calls := map[string]int{}
	check := func(m kafka.Message) {
		t.Helper()
		var rec map[string]any
		if err := json.Unmarshal(m.Value, &rec); err != nil {
			t.Fatalf("%s: %v", m.Value, err)
		}
		if rec["caller"] != string(m.Key) || rec["start_time"] != "2026-11-29T07:00:03.250Z" || rec["callee"] == nil {
			t.Fatalf("unexpected record %s", m.Value)
		}
		if calls[string(m.Key)]++; calls[string(m.Key)] > 2 {
			t.Fatalf("%s calls more than twice", m.Key)
		}
	}
	for i := range warmUpCDRs {
		check(l.warmUp(i, now))
	}
	for range 10000 { // the whole run at 1000 CDR/s
		check(l.background(now))
	}
	callees := map[string]bool{}
	for i := range 50 {
		var rec struct{ Caller, Callee string }
		if err := json.Unmarshal(l.abuserCall(7, i, now).Value, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Caller != abuserNumber(7) || callees[rec.Callee] {
			t.Fatalf("call %d: caller %s, callee %s (seen before: %v)", i, rec.Caller, rec.Callee, callees[rec.Callee])
		}
		callees[rec.Callee] = true
	}
}

// TestLoadCallsDoNotOverlap checks that a subscriber's call (ringing plus
// talk) ends before its next one, a pool's length later, starts.
func TestLoadCallsDoNotOverlap(t *testing.T) {
	f := func(rate int, duration time.Duration) {
		t.Helper()
		l := newLoad("t", rate, duration)
		gap := float64(l.pool) / float64(rate)
		if float64(l.maxRing+l.maxTalk) >= gap {
			t.Errorf("rate %d for %v: calls last up to %d s, subscribers call again after %.1f s", rate, duration, l.maxRing+l.maxTalk, gap)
		}
	}
	f(100, 5*time.Second)
	f(50000, 5*time.Second)
	f(20000, 20*time.Second)
	f(50000, 60*time.Second)
	f(50000, time.Hour)
}

func TestAppendTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.md")
	tb := table{header: []string{"a", "b"}, row: []string{"1", "2"}}
	for range 2 {
		if err := tb.appendTo(path); err != nil {
			t.Fatal(err)
		}
	}
	other := table{header: []string{"c"}, row: []string{"3"}}
	if err := other.appendTo(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "| a | b |\n| --- | --- |\n| 1 | 2 |\n| 1 | 2 |\n\n| c |\n| --- |\n| 3 |\n"
	if string(got) != want {
		t.Errorf("file holds\n%s\nwant\n%s", got, want)
	}
}

func TestSettingFlags(t *testing.T) {
	var s settingFlags
	if err := s.Set("sink.flush_interval=200ms"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"flush_interval=1s", "sink.flush_interval", "SINK.X=1"} {
		if err := s.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	if got := s.env(); !slices.Equal(got, []string{"CDRPIPE_SINK_FLUSH_INTERVAL=200ms"}) {
		t.Errorf("env() = %q", got)
	}
}

func TestVmHWM(t *testing.T) {
	kb, ok := vmHWM("/proc/self/status")
	if !ok || kb <= 0 {
		t.Fatalf("VmHWM of this process = %d, %v", kb, ok)
	}
	if _, ok := vmHWM("/proc/0/no-such-file"); ok {
		t.Fatal("a missing file gave a figure")
	}
}
