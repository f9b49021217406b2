package pipeline

import (
	"maps"
	"testing"
)

func TestTrackerCommitsBeforeOpenWindows(t *testing.T) {
	tr := newTracker()
	// Partition 0: 100 offsets a minute of event time, 10 minutes.
	for i := range int64(1000) {
		tr.add(0, i, 1000+i/100*60)
	}
	for i := range int64(10) {
		tr.add(1, i, noTime) // rejects only
	}
	if got, want := tr.commitable(), map[int]int64{0: 0, 1: 0}; !maps.Equal(got, want) {
		t.Fatalf("before any release: %v, want %v", got, want)
	}
	tr.release(1000 + 5*60) // windows from minute 5 are open
	if got, want := tr.commitable(), map[int]int64{0: 500, 1: 10}; !maps.Equal(got, want) {
		t.Errorf("after release: %v, want %v", got, want)
	}
	tr.release(1 << 40)
	if got, want := tr.commitable(), map[int]int64{0: 1000, 1: 10}; !maps.Equal(got, want) {
		t.Errorf("all released: %v, want %v", got, want)
	}
}

func TestTrackerMergesOnlyWithinAMinute(t *testing.T) {
	tr := newTracker()
	// Records creeping forward 10 s at a time must not merge into one
	// ever-growing segment.
	for i := range int64(60) {
		tr.add(0, i, 1000+i*10)
	}
	if n := len(tr.parts[0].segs); n < 9 || n > 11 {
		t.Errorf("%d segments for 10 minutes of event time, want about 10", n)
	}
	tr.release(1000 + 300)
	if got := tr.commitable()[0]; got < 24 || got > 30 {
		t.Errorf("commit at %d, want the first offset of the segment holding event time 1300 (about 30)", got)
	}
}
