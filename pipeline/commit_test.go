package pipeline

import (
	"fmt"
	"maps"
	"testing"

	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

// offsets reads the offsets of a commitable map.
func offsets(m map[int]source.Commit) map[int]int64 {
	out := make(map[int]int64, len(m))
	for p, c := range m {
		out[p] = c.Offset
	}
	return out
}

func noSnap(int) string { return "now" }

func TestTrackerCommitsBeforeOpenWindows(t *testing.T) {
	tr := newTracker()
	// Partition 0: 100 offsets a minute of event time, 10 minutes.
	for i := range int64(1000) {
		tr.add(0, i, 1000+i/100*60, fmt.Sprintf("before %d", i))
	}
	for i := range int64(10) {
		tr.add(1, i, noTime, "") // rejects only
	}
	if got, want := offsets(tr.commitable(noSnap)), map[int]int64{0: 0, 1: 0}; !maps.Equal(got, want) {
		t.Fatalf("before any release: %v, want %v", got, want)
	}
	tr.release(1000 + 5*60) // windows from minute 5 are open
	got := tr.commitable(noSnap)
	if want := map[int]int64{0: 500, 1: 10}; !maps.Equal(offsets(got), want) {
		t.Errorf("after release: %v, want %v", got, want)
	}
	if got[0].Metadata != "before 500" || got[1].Metadata != "now" {
		t.Errorf("progress committed: %q and %q; want the one right before offset 500, and the current one", got[0].Metadata, got[1].Metadata)
	}
	tr.release(1 << 40)
	if got, want := offsets(tr.commitable(noSnap)), map[int]int64{0: 1000, 1: 10}; !maps.Equal(got, want) {
		t.Errorf("all released: %v, want %v", got, want)
	}
}

func TestTrackerMergesOnlyWithinAMinute(t *testing.T) {
	tr := newTracker()
	// Records creeping forward 10 s at a time must not merge into one
	// ever-growing segment.
	for i := range int64(60) {
		sec := 1000 + i*10
		if tr.starts(0, sec) {
			tr.add(0, i, sec, fmt.Sprint(i))
		} else {
			tr.add(0, i, sec, "")
		}
	}
	if n := len(tr.parts[0].segs); n < 9 || n > 11 {
		t.Errorf("%d segments for 10 minutes of event time, want about 10", n)
	}
	for _, s := range tr.parts[0].segs {
		if s.snap != fmt.Sprint(s.first) {
			t.Errorf("segment from %d has the snapshot taken at %s", s.first, s.snap)
		}
	}
	tr.release(1000 + 300)
	if got := tr.commitable(noSnap)[0].Offset; got < 24 || got > 30 {
		t.Errorf("commit at %d, want the first offset of the segment holding event time 1300 (about 30)", got)
	}
}
