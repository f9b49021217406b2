package engine

import (
	"slices"

	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/internal/mix"
)

// Heavy callers: full sliding-window state, counters per bucket and per
// window, the callees of the ring, concurrency and calls per minute.

// promote gives a caller full window state.
func (s *shard) promote(cl *caller, number uint64, calls []event) *heavy {
	h := &heavy{
		number:  number,
		top:     cl.last,
		emitted: s.wmBucket - s.p.w,
		judged:  s.wmBucket - s.p.w - s.p.graceBuckets,
		counts:  make([]counts, s.p.ring),
		wins:    make([]win, s.p.ring),
		minutes: make([]uint16, int(s.p.ring)*s.p.minutesPerBucket),
	}
	for _, e := range calls {
		h.top = min(h.top, s.p.bucket(int64(e.sec)))
	}
	if n := len(s.hfree); n > 0 {
		cl.heavy = s.hfree[n-1] + 1
		s.hfree = s.hfree[:n-1]
		s.heavies[cl.heavy-1] = h
	} else {
		s.heavies = append(s.heavies, h)
		cl.heavy = int32(len(s.heavies))
	}
	hi, _ := s.heavyOf.upsert(number)
	*hi = cl.heavy - 1
	s.out.Promoted++
	return h
}

// add counts one call in a heavy caller's ring and checks the detectors on
// every open window the call falls in.
func (s *shard) add(h *heavy, numberText string, ev event) {
	p := s.p
	b := p.bucket(int64(ev.sec))
	if b > h.top {
		s.gone = h.expire(h.top, b, p.ring, s.gone)
		h.top = b
	}
	if b <= h.top-p.ring {
		s.out.TooOld++
		return
	}
	slot := mod(b, p.ring)
	cs := &h.counts[slot]
	minutes := h.minutes[int(slot)*p.minutesPerBucket : int(slot+1)*p.minutesPerBucket]
	if cs.bucket != b {
		*cs = counts{bucket: b}
		clear(minutes)
		s.clearStarts(h, slot)
	}
	first, last := b-p.w+1, b
	// Windows are started before the call is counted: a new one sums the
	// buckets it covers, then every open one takes the call.
	for k := first; k <= last; k++ {
		s.window(h, k, numberText)
	}
	d := s.tally(h, minutes, ev, b)
	cs.add(&d)
	for k := first; k <= last; k++ {
		if wn := h.open(k, p.ring); wn != nil {
			wn.agg.add(&d)
		}
	}
	s.concurrency(h, ev)
	s.addCallee(h, ev.to(), b, first, last)
	for k := first; k <= last; k++ {
		s.check(h, k, numberText)
	}
}

// tally returns the counts one call adds to its bucket and its windows,
// moving the caller's per-minute and gap bookkeeping along.
func (s *shard) tally(h *heavy, minutes []uint16, ev event, b int32) counts {
	d := counts{calls: 1}
	if ev.flags&flagAnswered != 0 {
		talk := float64(ev.talk)
		d.answered = 1
		d.talk = talk
		d.talkSq = talk * talk
		if ev.flags&flagShort != 0 {
			d.short = 1
		}
	}
	if ev.flags&flagOneRing != 0 {
		d.oneRing = 1
	}
	if ev.flags&flagInvalid != 0 {
		d.invalid = 1
	}
	if ev.flags&flagSpoofed != 0 {
		d.spoofed = 1
	}
	if ev.flags&flagBadID != 0 {
		d.badID = 1
	}
	if ev.flags&flagMobile != 0 {
		h.mobile = true
	}
	bucketStart := int64(b) * s.p.slide
	if m := int(int64(ev.sec)-bucketStart) / 60; m >= 0 && m < len(minutes) {
		if minutes[m] < 65535 {
			minutes[m]++
		}
		d.peakMin = minutes[m]
	}
	s.keepStart(h, b, ev.sec)
	return d
}

// concurrency records how many of a mobile caller's calls were in
// progress at once, around this one. The peaks can only be at this call's
// start or at the start of a kept call that begins while it is in
// progress, and each is counted in the bucket where it happens. A call is
// kept while a later call on time can still overlap it: until the
// watermark passes its end. Then the count at every call's start is
// complete once the last call covering it arrives, whatever the order of
// arrival. Only mobile numbers are judged on it (a handset holds one or
// two calls; a PBX holds hundreds), so others keep nothing.
func (s *shard) concurrency(h *heavy, ev event) {
	if ev.flags&flagMobile == 0 {
		return
	}
	self := span{start: ev.sec, end: ev.sec + uint32(ev.ring) + uint32(ev.talk), src: ev.src()}
	if self.end <= self.start {
		return
	}
	wm := uint32(max(s.wmSec, 0))
	kept := h.spans[:0]
	for _, sp := range h.spans {
		if sp.end > wm {
			kept = append(kept, sp)
		}
	}
	h.spans = kept
	if len(h.spans) >= maxSpans {
		// A "handset" with this many calls at once is saturated; its
		// count stays at the cap (the cap is the evidence).
		s.peak(h, nil, self, self.start, maxSpans)
		return
	}
	s.peak(h, h.spans, self, self.start, 0)
	for _, sp := range h.spans {
		if sameClock(self.src, sp.src) && self.start < sp.start && sp.start < self.end {
			s.peak(h, h.spans, self, sp.start, 0)
		}
	}
	h.spans = append(h.spans, self)
}

// maxSpans bounds the calls a mobile caller keeps for concurrency.
const maxSpans = 256

// peak counts the calls in progress at second x (self and those of kept)
// and keeps the largest count in x's bucket; at least floor.
func (s *shard) peak(h *heavy, kept []span, self span, x uint32, floor uint16) {
	n := uint16(1) // self: x lies within it
	for _, r := range kept {
		// Two switches' clocks may disagree by minutes: calls they wrote
		// are not compared to the second.
		if sameClock(self.src, r.src) && r.start <= x && x < r.end {
			n++
		}
	}
	n = max(n, floor)
	b := s.p.bucket(int64(x))
	if cs := &h.counts[mod(b, s.p.ring)]; cs.bucket == b {
		cs.maxConc = max(cs.maxConc, n)
	}
	for k := b - s.p.w + 1; k <= b; k++ {
		if wn := h.open(k, s.p.ring); wn != nil {
			wn.agg.maxConc = max(wn.agg.maxConc, n)
		}
	}
}

// window returns the state of window k, starting it if needed; nil when
// the window is older than what the ring still holds.
func (s *shard) window(h *heavy, k int32, numberText string) *win {
	wn := &h.wins[mod(k, s.p.ring)]
	switch {
	case wn.valid && wn.start == k:
		return wn
	case wn.valid && wn.start > k:
		return nil
	case k <= h.emitted:
		return nil
	}
	if wn.valid && wn.start > h.emitted {
		// The slot still holds an older window whose stats were never
		// written: write what it has before reusing the slot.
		s.stats(h, wn.start, numberText)
		s.addDay(h, wn.start, true)
	}
	*wn = win{start: k, valid: true}
	for b := k; b < k+s.p.w; b++ {
		if cs := &h.counts[mod(b, s.p.ring)]; cs.bucket == b {
			wn.agg.add(cs)
		}
	}
	// Callees counted before the window existed were not checked for
	// neighbours in it.
	wn.neighbours = wn.agg.calls > 0
	return wn
}

// addCallee records that callee was called in bucket b and updates the
// distinct counts of windows [first, last].
func (s *shard) addCallee(h *heavy, callee uint64, b, first, last int32) {
	p := s.p
	mp, fresh := h.callees.upsert(callee)
	m := *mp
	bit := bucketBit(b)
	if m&bit != 0 {
		return
	}
	if fresh && h.callees.len() > p.maxCallees {
		h.callees.remove(callee)
		s.addOverflow(h, callee, b)
		return
	}
	*mp = m | bit
	near, looked := uint64(0), false
	for k := first; k <= last; k++ {
		wn := &h.wins[mod(k, p.ring)]
		if !wn.valid || wn.start != k || m&windowMask(k, p.w) != 0 {
			continue
		}
		wn.distinct++
		if wn.seqDirty {
			continue
		}
		if !looked {
			near, looked = s.neighbours(h, callee), true
		}
		if near&windowMask(k, p.w) != 0 {
			wn.seqDirty, wn.neighbours = true, true
		}
	}
}

// neighbours returns the buckets in which a callee within the sequential
// step of c was called; only in windows holding one of them can c extend
// a run.
func (s *shard) neighbours(h *heavy, c uint64) uint64 {
	step := s.p.seqStep
	if step > 16 {
		return ^uint64(0)
	}
	var near uint64
	for d := uint64(1); d <= step; d++ {
		if m := h.callees.find(c + d); m != nil {
			near |= *m
		}
		if c >= d {
			if m := h.callees.find(c - d); m != nil {
				near |= *m
			}
		}
	}
	return near
}

func (s *shard) addOverflow(h *heavy, callee uint64, b int32) {
	if h.overflow == nil {
		h.overflow = make([]*hll, s.p.ring)
		h.overSlot = make([]int32, s.p.ring)
	}
	slot := mod(b, s.p.ring)
	if h.overflow[slot] == nil || h.overSlot[slot] != b {
		if h.overflow[slot] == nil {
			h.overflow[slot] = new(hll)
		} else {
			*h.overflow[slot] = hll{}
		}
		h.overSlot[slot] = b
		h.sketchGen++
	}
	if h.overflow[slot].add(mix.Mix64(callee)) {
		h.sketchGen++
	}
	s.out.Overflowed++
}

// maxStarts bounds the call starts kept per bucket for gaps; a window
// with a fuller bucket (a call centre, thousands an hour) is not judged on
// its gaps, which say nothing of a person there anyway.
const maxStarts = 2048

// keepStart keeps the start sec of a call in bucket b, for the gaps of
// the windows it falls in. Gaps are measured when a window closes, over
// its starts sorted: the same whatever the order the calls arrived in.
func (s *shard) keepStart(h *heavy, b int32, sec uint32) {
	if s.p.robotic < 0 {
		return
	}
	slot := mod(b, s.p.ring)
	if h.starts == nil {
		h.starts = make([][]uint32, s.p.ring)
	}
	if len(h.starts[slot]) >= maxStarts {
		h.startsFull |= 1 << uint(slot)
		return
	}
	h.starts[slot] = append(h.starts[slot], sec)
}

// clearStarts empties ring slot slot for a new bucket.
func (s *shard) clearStarts(h *heavy, slot int32) {
	if h.starts != nil {
		h.starts[slot] = h.starts[slot][:0]
	}
	h.startsFull &^= 1 << uint(slot)
}

// gaps measures the seconds between consecutive call starts of window k
// into w; nothing when a bucket of it overflowed.
func (s *shard) gaps(h *heavy, k int32, w *detectors.Window) {
	p := s.p
	if h.starts == nil {
		return
	}
	all := s.startBuf[:0]
	for b := k; b < k+p.w; b++ {
		slot := mod(b, p.ring)
		if h.counts[slot].bucket != b {
			continue
		}
		if h.startsFull&(1<<uint(slot)) != 0 {
			return
		}
		all = append(all, h.starts[slot]...)
	}
	s.startBuf = all
	slices.Sort(all)
	for i := 1; i < len(all); i++ {
		g := float64(all[i] - all[i-1])
		w.Gaps++
		w.GapSum += g
		w.GapSquares += g * g
	}
}
