package repartition

import (
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/pipeline/engine"
)

func TestProgressWatermark(t *testing.T) {
	p := NewProgress(time.Minute)
	p.Expect([]int{0, 1}, time.Time{})
	if _, ok := p.Advance(time.Time{}); ok {
		t.Fatal("watermark known before any mark")
	}
	p.Apply(0, 2, []Mark{{Partition: 0, Frontier: 1000}, {Partition: 1, Frontier: 2000}})
	if _, ok := p.Advance(time.Time{}); ok {
		t.Fatal("watermark known while internal partition 1 has no marks")
	}
	p.Apply(1, 2, []Mark{{Partition: 0, Frontier: 1500}, {Partition: 1, Frontier: 900}})
	for _, tc := range []struct {
		q     int
		marks []Mark
		want  int64
	}{
		{-1, nil, 900 - 60}, // the least of all
		{1, []Mark{{Partition: 1, Frontier: 800}}, 900 - 60}, // never back
		{1, []Mark{{Partition: 1, Frontier: 2500}}, 1000 - 60},
		{0, []Mark{{Partition: 0, Frontier: 1200, Idle: true}}, 1500 - 60}, // idle holds nothing back
		{0, []Mark{{Partition: 0, Frontier: 1200, Done: true}, {Partition: 1, Frontier: 3000, Done: true}}, 1500 - 60},
		{1, []Mark{{Partition: 0, Frontier: 1600, Done: true}, {Partition: 1, Frontier: 3000, Done: true}}, 3000 - 60}, // all done: the furthest
	} {
		if tc.q >= 0 {
			p.Apply(tc.q, 2, tc.marks)
		}
		if wm, ok := p.Advance(time.Time{}); !ok || wm.Unix() != tc.want {
			t.Errorf("after %+v in %d: watermark %d (%v), want %d", tc.marks, tc.q, wm.Unix(), ok, tc.want)
		}
	}
	if !p.AllDone() {
		t.Error("every input partition done in every internal one, AllDone false")
	}
}

func TestProgressRepeatsAndSnapshots(t *testing.T) {
	p := NewProgress(time.Minute)
	c := func(part int, off int64, side engine.Side) *Copy {
		return &Copy{Partition: part, Offset: off, Side: side}
	}
	steps := []struct {
		c     *Copy
		fresh bool
	}{
		{c(0, 10, engine.CallerSide), true},
		{c(0, 10, engine.CalleeSide), true}, // the other side of the same call
		{c(0, 11, engine.CallerSide), true},
		{c(1, 3, engine.CallerSide), true},
		{c(0, 10, engine.CallerSide), false}, // written again
		{c(0, 11, engine.CalleeSide), true},
		{c(0, 11, engine.GroupSide), true}, // its group side
		{c(0, 11, engine.GroupSide), false},
	}
	for i, s := range steps {
		if got := p.Fresh(4, s.c); got != s.fresh {
			t.Errorf("step %d: Fresh = %v, want %v", i, got, s.fresh)
		}
	}
	p.Apply(4, 2, []Mark{{Partition: 0, Frontier: 77}})
	snap := p.Snapshot(4)
	r := NewProgress(time.Minute)
	if err := r.Restore(4, snap); err != nil {
		t.Fatal(err)
	}
	if got := r.Snapshot(4); got != snap {
		t.Fatalf("restored snapshot %q, want %q", got, snap)
	}
	if r.Fresh(4, c(0, 11, engine.CallerSide)) || !r.Fresh(4, c(0, 12, engine.CallerSide)) {
		t.Error("the restored progress does not recognise what was seen")
	}
	if r.Fresh(4, c(0, 11, engine.GroupSide)) {
		t.Error("the restored progress does not recognise a group side seen")
	}
	// A snapshot from before group sides: no group side seen yet.
	old := NewProgress(time.Minute)
	if err := old.Restore(4, "2;0:77;0:11:11"); err != nil {
		t.Fatal(err)
	}
	if old.Fresh(4, c(0, 11, engine.CallerSide)) || !old.Fresh(4, c(0, 5, engine.GroupSide)) {
		t.Error("a three-field snapshot is not read as caller and callee sides")
	}
	for _, bad := range []string{"x", "2;0:1", "2;0:1;a", "2;0:1;1:2", "2;0:1;1:2:3:x", "2;0:1;1:2:3:4:5"} {
		if err := NewProgress(0).Restore(0, bad); err == nil {
			t.Errorf("Restore(%q) accepted", bad)
		}
	}
}
