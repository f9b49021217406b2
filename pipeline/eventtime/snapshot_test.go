package eventtime

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSnapshotResumesExactly cuts a partition's stream at many points,
// saves its progress there, restores it into a fresh watermark, and feeds
// both the rest: every later record is judged the same, and the frontier
// follows the same path, as if the run had never stopped. The stream has
// skewed switches and held-up records, so late records are there to get
// wrong.
func TestSnapshotResumesExactly(t *testing.T) {
	skew := map[int]time.Duration{2: 3 * time.Minute, 5: -4 * time.Minute, 7: 40 * time.Minute}
	recs := fleet(12, 6, skew, 1, true, 3)
	now := t0.Add(3 * time.Hour)
	for _, cut := range []int{0, 1, 7, 8, 9, 100, 255, 256, 257, 1000, 2500, len(recs) - 1} {
		a := New(settings())
		for _, r := range recs[:cut] {
			a.Observe(0, SourceKey(r.src), r.src, r.at, now)
		}
		b := New(settings())
		if err := b.Restore(0, a.Snapshot(0)); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		lates := 0
		for i, r := range recs[cut:] {
			la := a.Observe(0, SourceKey(r.src), r.src, r.at, now)
			lb := b.Observe(0, SourceKey(r.src), r.src, r.at, now)
			fa, oka := a.Frontier(0)
			fb, okb := b.Frontier(0)
			if la != lb || fa != fb || oka != okb {
				t.Fatalf("cut %d, record %d after it: late %v / %v, frontier %d %v / %d %v", cut, i, la, lb, fa, oka, fb, okb)
			}
			pa, pb := a.parts[0], b.parts[0]
			if pa.median != pb.median || pa.lo != pb.lo || pa.current != pb.current || pa.since != pb.since || pa.top != pb.top {
				t.Fatalf("cut %d, record %d after it: median %d/%d, lo %d/%d, current %d/%d, since %d/%d",
					cut, i, pa.median, pb.median, pa.lo, pb.lo, pa.current, pb.current, pa.since, pb.since)
			}
			if la {
				lates++
			}
		}
		if cut == 1000 && lates == 0 {
			t.Error("no late record after the cut: the stream tests nothing")
		}
	}
}

// TestSnapshotFitsCommitMetadata: a partition with the most sources
// tracked still fits a commit's metadata, and a snapshot that had to
// leave sources out restores without error.
func TestSnapshotFitsCommitMetadata(t *testing.T) {
	w := New(settings())
	for i := range 400 {
		src := fmt.Sprintf("switch-%03d", i)
		w.Observe(0, SourceKey(src), src, t0.Add(time.Duration(i)*time.Second), t0.Add(time.Hour))
	}
	s := w.Snapshot(0)
	if len(s) > MaxSnapshot || s == "" {
		t.Fatalf("snapshot of %d bytes", len(s))
	}
	r := New(settings())
	if err := r.Restore(0, s); err != nil {
		t.Fatal(err)
	}
	f, ok := r.Frontier(0)
	if want, _ := w.Frontier(0); !ok || f != want {
		t.Errorf("restored frontier %d %v, want %d", f, ok, want)
	}
}

// TestRestoreRefusesGarbage: a snapshot from elsewhere is an error, not a
// panic or a silently wrong progress.
func TestRestoreRefusesGarbage(t *testing.T) {
	w := New(settings())
	for _, bad := range []string{"%%%", "AQ", strings.Repeat("A", 40), "Ag"} {
		if err := w.Restore(0, bad); err == nil {
			t.Errorf("Restore(%q) = nil", bad)
		}
	}
	if err := w.Restore(0, ""); err != nil {
		t.Errorf("Restore(\"\") = %v", err)
	}
}

// FuzzRestore: no input makes Restore panic.
func FuzzRestore(f *testing.F) {
	w := New(settings())
	for i := range 20 {
		w.Observe(0, SourceKey("s"), "s", t0.Add(time.Duration(i)*time.Second), t0)
	}
	f.Add(w.Snapshot(0))
	f.Fuzz(func(t *testing.T, s string) {
		_ = New(settings()).Restore(0, s)
	})
}
