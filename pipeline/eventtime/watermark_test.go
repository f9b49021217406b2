package eventtime

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC)

func settings() Settings {
	return Settings{Lateness: 5 * time.Minute, Idle: time.Minute, MaxSourceLag: 10 * time.Minute, ReportSkew: time.Minute}
}

// rec is one record of a generated stream.
type rec struct {
	part int
	src  string
	at   time.Time
}

// fleet generates an hour of records from n switches sending about
// perMinute records a minute each, in the order a mediation layer
// delivers them: by when each call ended (starts plus 10 s to 4 min; with
// held, one in a hundred held up 20 minutes), every switch's clock
// shifted by its skew.
func fleet(n, perMinute int, skew map[int]time.Duration, parts int, held bool, seed uint64) []rec {
	r := rand.New(rand.NewPCG(seed, 7))
	type call struct {
		rec
		sent time.Time
	}
	var calls []call
	for sw := range n {
		for m := range 60 {
			for range perMinute {
				start := t0.Add(time.Duration(m)*time.Minute + time.Duration(r.IntN(60000))*time.Millisecond)
				sent := start.Add(10*time.Second + time.Duration(r.IntN(230))*time.Second)
				if held && r.IntN(100) == 0 {
					sent = sent.Add(20 * time.Minute)
				}
				calls = append(calls, call{rec{r.IntN(parts), fmt.Sprintf("SW%02d", sw), start.Add(skew[sw])}, sent})
			}
		}
	}
	// Deliver in order of sending.
	slices.SortStableFunc(calls, func(a, b call) int { return a.sent.Compare(b.sent) })
	out := make([]rec, len(calls))
	for i, c := range calls {
		out[i] = c.rec
	}
	return out
}

// lateCount observes recs with w, naming sources with src (so a test can
// erase them), and counts late records per source.
func lateCount(w *Watermark, recs []rec, src func(rec) string) map[string]int {
	late := map[string]int{}
	for _, r := range recs {
		if w.Observe(r.part, SourceKey(src(r)), src(r), r.at, t0.Add(2*time.Hour)) {
			late[r.src]++
		}
	}
	return late
}

func TestFastSwitchMakesNothingLate(t *testing.T) {
	recs := fleet(20, 20, map[int]time.Duration{7: 3 * time.Minute}, 1, false, 1)
	bySource := lateCount(New(settings()), recs, func(r rec) string { return r.src })
	if len(bySource) != 0 {
		t.Errorf("late records with sources tracked: %v, want none", bySource)
	}
	// The partition-wide frontier (what cdrpipe did before, every record
	// one source) lets the fast switch make the others late.
	oneSource := lateCount(New(settings()), recs, func(rec) string { return "" })
	total := 0
	for _, n := range oneSource {
		total += n
	}
	if total < len(recs)/100 {
		t.Errorf("a single frontier made only %d of %d records late; the test no longer shows the problem", total, len(recs))
	}
}

func TestSlowSwitchHoldsBackInsteadOfLate(t *testing.T) {
	recs := fleet(20, 20, map[int]time.Duration{3: -3 * time.Minute, 11: -90 * time.Second}, 1, false, 2)
	if late := lateCount(New(settings()), recs, func(r rec) string { return r.src }); len(late) != 0 {
		t.Errorf("late records: %v, want none (a switch 3 min slow holds the partition back)", late)
	}
}

func TestSwitchFarBehindStopsHoldingBack(t *testing.T) {
	recs := fleet(20, 20, map[int]time.Duration{5: -40 * time.Minute}, 1, false, 3)
	w := New(settings())
	late := lateCount(w, recs, func(r rec) string { return r.src })
	if late["SW05"] == 0 {
		t.Error("a switch 40 min slow had no late records: it held every window open")
	}
	for src, n := range late {
		if src != "SW05" {
			t.Errorf("%s: %d late records, want none", src, n)
		}
	}
	f, _ := w.Frontier(0)
	if end := t0.Add(50 * time.Minute).Unix(); f < end {
		t.Errorf("frontier %v, want past %v: the slow switch held it back", time.Unix(f, 0).UTC(), time.Unix(end, 0).UTC())
	}
}

func TestStoppedSwitchReleases(t *testing.T) {
	w := New(settings())
	for i := range 600 {
		at := t0.Add(time.Duration(i) * 6 * time.Second)
		for sw := range 5 {
			if sw == 2 && i > 100 { // switch 2 stops after 10 minutes
				continue
			}
			name := fmt.Sprintf("SW%d", sw)
			w.Observe(0, SourceKey(name), name, at, t0.Add(2*time.Hour))
		}
	}
	f, _ := w.Frontier(0)
	if want := t0.Add(59*time.Minute - 8*6*time.Second); f < want.Unix() {
		t.Errorf("frontier %v, want about %v: a stopped switch holds it back", time.Unix(f, 0).UTC(), want)
	}
}

func TestLatenessIndependentOfInterleaving(t *testing.T) {
	recs := fleet(8, 10, map[int]time.Duration{2: 4 * time.Minute, 5: -7 * time.Minute}, 4, true, 4)
	decide := func(order []int) map[int]bool {
		w := New(settings())
		w.Expect([]int{0, 1, 2, 3}, t0)
		late := map[int]bool{}
		for _, i := range order {
			late[i] = w.Observe(recs[i].part, SourceKey(recs[i].src), recs[i].src, recs[i].at, t0)
		}
		return late
	}
	inOrder := make([]int, len(recs))
	for i := range inOrder {
		inOrder[i] = i
	}
	// Partition by partition: each partition's own order is kept.
	var byPart []int
	for p := range 4 {
		for i, r := range recs {
			if r.part == p {
				byPart = append(byPart, i)
			}
		}
	}
	a, b := decide(inOrder), decide(byPart)
	n := 0
	for i := range recs {
		if a[i] != b[i] {
			t.Fatalf("record %d (%+v): late %v interleaved, %v partition by partition", i, recs[i], a[i], b[i])
		}
		if a[i] {
			n++
		}
	}
	if n == 0 {
		t.Error("no late records at all: the test shows nothing")
	}
}

func TestSkewsReported(t *testing.T) {
	recs := fleet(20, 20, map[int]time.Duration{7: 3 * time.Minute, 12: -90 * time.Second}, 4, false, 5)
	w := New(settings())
	for _, r := range recs {
		w.Observe(r.part, SourceKey(r.src), r.src, r.at, t0.Add(2*time.Hour))
	}
	skews := w.Skews()
	if len(skews) != 2 {
		t.Fatalf("skews %+v, want SW07 and SW12", skews)
	}
	if s := skews[0]; s.Source != "SW07" || s.Offset < 150*time.Second || s.Offset > 210*time.Second || s.Partitions != 4 {
		t.Errorf("first skew %+v, want SW07 about +3m on 4 partitions", s)
	}
	if s := skews[1]; s.Source != "SW12" || s.Offset > -60*time.Second || s.Offset < -120*time.Second {
		t.Errorf("second skew %+v, want SW12 about -90s", s)
	}
}

func TestFarFutureOutlierIgnored(t *testing.T) {
	w := New(settings())
	for i := range 100 {
		w.Observe(0, SourceKey(""), "", t0.Add(time.Duration(i)*time.Second), t0.Add(time.Hour))
	}
	for i := range 7 {
		w.Observe(0, SourceKey(""), "", t0.Add(30*24*time.Hour+time.Duration(i)), t0.Add(time.Hour))
	}
	for i := range 100 {
		w.Observe(0, SourceKey(""), "", t0.Add(time.Duration(100+i)*time.Second), t0.Add(time.Hour))
	}
	wm, ok := w.Advance(t0.Add(time.Hour))
	if !ok {
		t.Fatal("watermark unknown")
	}
	if want := t0.Add(199*time.Second - 5*time.Minute); !wm.Equal(want) {
		t.Errorf("watermark %v, want %v", wm, want)
	}
}

func TestWallClockCaps(t *testing.T) {
	w := New(settings())
	for i := range 100 {
		w.Observe(0, SourceKey(""), "", t0.Add(time.Duration(i)*time.Second), t0.Add(30*time.Second))
	}
	if f, _ := w.Frontier(0); f > t0.Add(30*time.Second).Unix() {
		t.Errorf("frontier %v is past the wall clock %v", time.Unix(f, 0).UTC(), t0.Add(30*time.Second))
	}
}

func TestSlowestPartitionAndIdle(t *testing.T) {
	w := New(Settings{Idle: time.Minute, MaxSourceLag: 10 * time.Minute, ReportSkew: time.Minute})
	later := t0.Add(3 * time.Hour)
	for i := range 10 {
		w.Observe(0, SourceKey(""), "", t0.Add(time.Hour+time.Duration(i)*time.Second), later)
		w.Observe(1, SourceKey(""), "", t0.Add(time.Duration(i)*time.Second), later)
	}
	wm, _ := w.Advance(later)
	if !wm.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("watermark %v, want the slow partition's frontier", wm)
	}
	for i := range 10 {
		w.Observe(0, SourceKey(""), "", t0.Add(2*time.Hour+time.Duration(i)*time.Second), later.Add(2*time.Minute))
	}
	wm, _ = w.Advance(later.Add(2 * time.Minute))
	if !wm.Equal(t0.Add(2*time.Hour + 2*time.Second)) {
		t.Errorf("idle partition still holds the watermark: %v", wm)
	}
	// It never moves backwards.
	w.Observe(1, SourceKey(""), "", t0.Add(3*time.Second), later.Add(2*time.Minute))
	if wm2, _ := w.Advance(later.Add(2 * time.Minute)); wm2.Before(wm) {
		t.Errorf("watermark moved back from %v to %v", wm, wm2)
	}
}

func TestSourcesBounded(t *testing.T) {
	w := New(settings())
	for i := range 10 * maxSources {
		name := fmt.Sprintf("random-%d", i)
		w.Observe(0, SourceKey(name), name, t0.Add(time.Duration(i)*time.Second), t0.Add(time.Hour))
	}
	if p := w.parts[0]; len(p.sources) != maxSources || p.other == nil {
		t.Errorf("%d sources tracked (other: %v), want %d and the rest shared", len(p.sources), p.other != nil, maxSources)
	}
}

// TestRestoredPartitionHoldsBack: a partition restored from a commit
// holds the watermark back from the start, like one never seen, until
// the idle timeout; it is not idle because this process has not seen it.
func TestRestoredPartitionHoldsBack(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	t0 := now.Add(-3 * time.Hour)
	a := New(settings())
	for i := range 20 {
		a.Observe(0, SourceKey("sw"), "sw", t0.Add(time.Duration(i)*time.Second), now)
	}
	b := New(settings())
	if err := b.Restore(0, a.Snapshot(0)); err != nil {
		t.Fatal(err)
	}
	b.Expect([]int{0, 1}, now)
	for i := range 20 {
		b.Observe(1, SourceKey("sw"), "sw", t0.Add(2*time.Hour+time.Duration(i)*time.Second), now)
	}
	wm, ok := b.Advance(now.Add(time.Second))
	if !ok || wm.After(t0.Add(20*time.Second)) {
		t.Fatalf("watermark %s (known %v): the restored partition, at %s, does not hold it back", wm, ok, t0.Add(19*time.Second))
	}
	if wm, _ := b.Advance(now.Add(2 * time.Minute)); !wm.After(t0.Add(time.Hour)) {
		t.Fatalf("watermark %s: the restored partition, silent past the idle timeout, still holds it back", wm)
	}
}
