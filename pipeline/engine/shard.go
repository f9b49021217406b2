package engine

import (
	"time"

	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// shard owns the state of the callers that hash to it. Only its own
// goroutine touches it, so nothing here takes a lock.
type shard struct {
	p *params

	index   map[uint64]int32 // caller number → index into callers
	callers []caller
	free    []int32
	heavies []*heavy
	hfree   []int32

	dedup map[int32]map[uint64]struct{} // bucket → keys seen

	wmSec    int64 // watermark, Unix seconds
	wmBucket int32 // bucket of the watermark
	sorted   []uint64
	out      Output
	now      time.Time // wall clock of the current batch

	// outbox holds, per destination shard, the calls its numbers received.
	outbox [][]rev
	// Callee-side call counts per bombing span, and the callees past a
	// couple of calls.
	hits    map[int64]map[uint64]firstHit
	victims map[uint64]*victim
}

func newShard(p *params, shards int) *shard {
	return &shard{
		p:       p,
		index:   make(map[uint64]int32),
		dedup:   make(map[int32]map[uint64]struct{}),
		outbox:  make([][]rev, shards),
		hits:    make(map[int64]map[uint64]firstHit),
		victims: make(map[uint64]*victim),
	}
}

// process handles one CDR: de-duplicate, store, and count it when on time.
func (s *shard) process(r *Record, now time.Time) {
	c := &r.CDR
	sec := c.StartTime.Unix()
	b := s.p.bucket(sec)
	if s.duplicate(b, r.keyHash) {
		s.out.Duplicates++
		return
	}
	s.out.CDRs = append(s.out.CDRs, r)
	if sec < s.wmSec {
		s.out.Late++
		return
	}
	ev := event{callee: r.calleeKey, sec: uint32(sec), talk: seconds16(c.Duration),
		ring: uint8(min(c.RingDuration, 255)), flags: r.flags}
	if c.Answered() {
		ev.flags |= flagAnswered
		if c.Duration < s.p.shortTalk {
			ev.flags |= flagShort
		}
	}
	s.count(r.callerKey, c.Caller, ev, now)
	s.sendReverse(rev{target: r.calleeKey, from: r.callerKey, sec: uint32(sec), bucket: b})
}

func seconds16(d float64) uint16 {
	if d > 65535 {
		return 65535
	}
	return uint16(d)
}

// duplicate reports whether key was seen in bucket b, remembering it.
// A re-sent CDR has the same start time, so one bucket's set suffices.
func (s *shard) duplicate(b int32, key uint64) bool {
	set := s.dedup[b]
	if set == nil {
		set = make(map[uint64]struct{})
		s.dedup[b] = set
	}
	if _, ok := set[key]; ok {
		return true
	}
	set[key] = struct{}{}
	return false
}

// count adds an on-time call to its caller's state.
func (s *shard) count(number uint64, numberText string, ev event, now time.Time) {
	i, ok := s.index[number]
	if !ok {
		i = s.newCaller(number)
	}
	cl := &s.callers[i]
	b := s.p.bucket(int64(ev.sec))
	cl.last = max(cl.last, b)
	if cl.heavy != 0 {
		s.add(s.heavies[cl.heavy-1], numberText, ev, now)
		return
	}
	// Drop inline calls that fell out of the ring, then keep this one if
	// there is room.
	keep := cl.events[:0]
	for _, e := range cl.events[:cl.n] {
		if s.p.bucket(int64(e.sec)) > cl.last-s.p.ring {
			keep = append(keep, e)
		}
	}
	cl.n = uint8(len(keep))
	if int(cl.n) < s.p.smallCap && !s.promising(cl, ev) {
		cl.events[cl.n] = ev
		cl.n++
		return
	}
	h := s.promote(cl, number)
	for _, e := range cl.events[:cl.n] {
		s.add(h, numberText, e, now)
	}
	cl.n = 0
	s.add(h, numberText, ev, now)
}

// promising reports whether ev could show a trait that needs few calls: a
// spoofed caller ID (one call may flag), or a call overlapping one of the
// caller's calls (a handset holds one or two).
func (s *shard) promising(cl *caller, ev event) bool {
	if ev.flags&flagSpoofed != 0 {
		return true
	}
	end := ev.sec + uint32(ev.ring) + uint32(ev.talk)
	for _, e := range cl.events[:cl.n] {
		if e.sec < end && ev.sec < e.sec+uint32(e.ring)+uint32(e.talk) {
			return true
		}
	}
	return false
}

func (s *shard) newCaller(number uint64) int32 {
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
		s.callers[i] = caller{}
	} else {
		i = int32(len(s.callers))
		s.callers = append(s.callers, caller{})
	}
	s.index[number] = i
	return i
}

// promote gives a caller full window state.
func (s *shard) promote(cl *caller, number uint64) *heavy {
	h := &heavy{
		number:  number,
		top:     cl.last,
		emitted: s.wmBucket - s.p.w,
		judged:  s.wmBucket - s.p.w - s.p.graceBuckets,
		counts:  make([]counts, s.p.ring),
		wins:    make([]win, s.p.ring),
		callees: make(map[uint64]uint64),
		minutes: make([]uint16, int(s.p.ring)*s.p.minutesPerBucket),
	}
	for _, e := range cl.events[:cl.n] {
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
	s.out.Promoted++
	return h
}

// add counts one call in a heavy caller's ring and checks the detectors on
// every open window the call falls in.
func (s *shard) add(h *heavy, numberText string, ev event, now time.Time) {
	p := s.p
	b := p.bucket(int64(ev.sec))
	if b > h.top {
		h.expire(h.top, b, p.ring)
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
	}
	s.tally(h, cs, minutes, ev, b)
	first, last := b-p.w+1, b
	for k := first; k <= last; k++ {
		s.window(h, k, numberText, now)
	}
	s.addCallee(h, ev.callee, b, first, last)
	for k := first; k <= last; k++ {
		s.check(h, k, numberText, now)
	}
}

// tally adds a call to its bucket's counters.
func (s *shard) tally(h *heavy, cs *counts, minutes []uint16, ev event, b int32) {
	cs.calls++
	if ev.flags&flagAnswered != 0 {
		talk := float64(ev.talk)
		cs.answered++
		cs.talk += talk
		cs.talkSq += talk * talk
		if ev.flags&flagShort != 0 {
			cs.short++
		}
	}
	if ev.flags&flagOneRing != 0 {
		cs.oneRing++
	}
	if ev.flags&flagInvalid != 0 {
		cs.invalid++
	}
	if ev.flags&flagSpoofed != 0 {
		cs.spoofed++
	}
	if ev.flags&flagMobile != 0 {
		h.mobile = true
	}
	bucketStart := int64(b) * s.p.slide
	if m := int(int64(ev.sec)-bucketStart) / 60; m >= 0 && m < len(minutes) && minutes[m] < 65535 {
		minutes[m]++
	}
	// Gaps between starts, in arrival order; an out-of-order call adds none.
	if h.lastStart != 0 && ev.sec >= h.lastStart {
		g := float64(ev.sec - h.lastStart)
		cs.gaps++
		cs.gapSum += g
		cs.gapSq += g * g
	}
	h.lastStart = max(h.lastStart, ev.sec)
	s.concurrency(h, ev)
}

// concurrency records how many of the caller's calls were in progress at
// once, around this one. The peaks can only be at this call's start or at
// the start of a recent call that begins while it is in progress; each
// peak is counted in the bucket where it happens, so the result does not
// depend on the order in which the calls arrived.
func (s *shard) concurrency(h *heavy, ev event) {
	self := span{start: ev.sec, end: ev.sec + uint32(ev.ring) + uint32(ev.talk)}
	recent := h.recent[:min(h.nRecent, recentCalls)]
	if self.end > self.start {
		s.peak(h, recent, self, self.start)
		for _, r := range recent {
			if self.start < r.start && r.start < self.end {
				s.peak(h, recent, self, r.start)
			}
		}
	}
	h.recent[h.nRecent%recentCalls] = self
	h.nRecent++
}

// peak counts the calls in progress at second x and keeps the largest
// count in x's bucket.
func (s *shard) peak(h *heavy, recent []span, self span, x uint32) {
	n := uint16(1) // self: x lies within it
	for _, r := range recent {
		if r.start <= x && x < r.end {
			n++
		}
	}
	b := s.p.bucket(int64(x))
	if cs := &h.counts[mod(b, s.p.ring)]; cs.bucket == b {
		cs.maxConc = max(cs.maxConc, n)
	}
}

// window returns the state of window k, starting it if needed; nil when
// the window is older than what the ring still holds.
func (s *shard) window(h *heavy, k int32, numberText string, now time.Time) *win {
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
		s.stats(h, wn.start, numberText, now)
	}
	*wn = win{start: k, valid: true}
	return wn
}

// addCallee records that callee was called in bucket b and updates the
// distinct counts of windows [first, last].
func (s *shard) addCallee(h *heavy, callee uint64, b, first, last int32) {
	p := s.p
	m, known := h.callees[callee]
	bit := bucketBit(b)
	if m&bit != 0 {
		return
	}
	if !known && len(h.callees) >= p.maxCallees {
		s.addOverflow(h, callee, b)
		return
	}
	for k := first; k <= last; k++ {
		wn := &h.wins[mod(k, p.ring)]
		if !wn.valid || wn.start != k || m&windowMask(k, p.w) != 0 {
			continue
		}
		wn.distinct++
		if !wn.seqDirty && s.hasNeighbour(h, callee, k) {
			wn.seqDirty = true
		}
	}
	h.callees[callee] = m | bit
}

// hasNeighbour reports whether a callee within the sequential step of c
// was called in window k; only then can c extend a run.
func (s *shard) hasNeighbour(h *heavy, c uint64, k int32) bool {
	step := s.p.seqStep
	if step > 16 {
		return true
	}
	wm := windowMask(k, s.p.w)
	for d := uint64(1); d <= step; d++ {
		if h.callees[c+d]&wm != 0 || c >= d && h.callees[c-d]&wm != 0 {
			return true
		}
	}
	return false
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
	}
	h.overflow[slot].add(mix64(callee))
	s.out.Overflowed++
}

// summary builds the detector view of window k. closing asks for the
// parts only the final view needs (callbacks).
func (s *shard) summary(h *heavy, wn *win, closing bool) detectors.Window {
	p := s.p
	w := detectors.Window{Length: p.size, Distinct: int(wn.distinct), Mobile: h.mobile, Closing: closing}
	var sketch *hll
	for b := wn.start; b < wn.start+p.w; b++ {
		slot := mod(b, p.ring)
		if cs := &h.counts[slot]; cs.bucket == b {
			w.Calls += int(cs.calls)
			w.Answered += int(cs.answered)
			w.Short += int(cs.short)
			w.TalkSeconds += cs.talk
			w.TalkSquares += cs.talkSq
			w.OneRing += int(cs.oneRing)
			w.Invalid += int(cs.invalid)
			w.Spoofed += int(cs.spoofed)
			w.Gaps += int(cs.gaps)
			w.GapSum += cs.gapSum
			w.GapSquares += cs.gapSq
			w.MaxConcurrent = max(w.MaxConcurrent, int(cs.maxConc))
			for _, m := range h.minutes[int(slot)*p.minutesPerBucket : int(slot+1)*p.minutesPerBucket] {
				w.PeakPerMinute = max(w.PeakPerMinute, int(m))
			}
		}
		if h.overflow != nil && h.overflow[slot] != nil && h.overSlot[slot] == b {
			if sketch == nil {
				sketch = new(hll)
			}
			sketch.merge(h.overflow[slot])
		}
	}
	if sketch != nil {
		w.Distinct += int(sketch.estimate() + 0.5)
	}
	if closing {
		mask := windowMask(wn.start, p.w)
		for c := range h.calledBack {
			if h.callees[c]&mask != 0 {
				w.Callbacks++
			}
		}
	}
	return w
}

// check runs the detectors not yet flagged on window k.
func (s *shard) check(h *heavy, k int32, numberText string, now time.Time) {
	p := s.p
	wn := &h.wins[mod(k, p.ring)]
	if !wn.valid || wn.start != k || wn.flagged == p.allFlagged {
		return
	}
	w := s.summary(h, wn, false)
	for i, d := range p.detectors {
		bit := uint16(1) << i
		if wn.flagged&bit != 0 {
			continue
		}
		if d.NeedsSorted() {
			if !wn.seqDirty || w.Distinct < p.seqMin {
				continue
			}
			wn.seqDirty = false
			s.sorted = h.sortedIn(k, p.w, s.sorted)
			w.Sorted = s.sorted
		}
		f, ok := d.Check(&w)
		if !ok {
			continue
		}
		wn.flagged |= bit
		wn.flaggedAt[i] = uint32(now.Unix())
		s.flag(numberText, d, k, f, now)
	}
}

func (s *shard) flag(numberText string, d detectors.Detector, k int32, f detectors.Finding, at time.Time) {
	s.out.Flags = append(s.out.Flags, schemas.Flag{
		Number:      numberText,
		Detector:    d.Name(),
		WindowStart: s.p.time(k),
		WindowEnd:   s.p.time(k + s.p.w),
		Score:       f.Score,
		Value:       f.Value,
		Evidence:    f.Evidence,
		FlaggedAt:   at,
	})
}

// final runs every detector on the whole of a closing window. Flags
// already written are rewritten with what the whole window measured, so
// the evidence says "412 callees", not the 50 that first crossed the
// threshold; the row replaces the first one (same key) and keeps its
// flagged_at. Detectors that need the final view (no_callback) flag here.
func (s *shard) final(h *heavy, wn *win, w *detectors.Window, numberText string, now time.Time) {
	for i, d := range s.p.detectors {
		if i == s.p.noCallback {
			continue // judged after the callback grace (judge)
		}
		if d.NeedsSorted() {
			if w.Distinct < s.p.seqMin {
				continue
			}
			s.sorted = h.sortedIn(wn.start, s.p.w, s.sorted)
			w.Sorted = s.sorted
		}
		f, ok := d.Check(w)
		if !ok {
			continue
		}
		at := now
		if wn.flagged&(1<<i) != 0 {
			at = time.Unix(int64(wn.flaggedAt[i]), 0).UTC()
		} else {
			wn.flagged |= 1 << i
			wn.flaggedAt[i] = uint32(now.Unix())
		}
		s.flag(numberText, d, wn.start, f, at)
	}
}

// judge decides no_callback on h's windows starting at or before
// through, once their callees had the grace period to call back.
func (s *shard) judge(h *heavy, through int32, now time.Time) {
	p := s.p
	if p.noCallback < 0 {
		return
	}
	d := p.detectors[p.noCallback]
	from := max(h.judged+1, h.top-p.ring-p.w)
	for k := from; k <= through && k <= h.top; k++ {
		wn := &h.wins[mod(k, p.ring)]
		if !wn.valid || wn.start != k {
			continue
		}
		w := s.summary(h, wn, true)
		f, ok := d.Check(&w)
		if !ok {
			continue
		}
		bit := uint16(1) << p.noCallback
		at := now
		if wn.flagged&bit != 0 {
			at = time.Unix(int64(wn.flaggedAt[p.noCallback]), 0).UTC()
		} else {
			wn.flagged |= bit
			wn.flaggedAt[p.noCallback] = uint32(now.Unix())
		}
		s.flag(decode.KeyNumber(h.number), d, k, f, at)
	}
	h.judged = max(h.judged, through)
}

// stats writes the caller_stats row of window k when it has the volume.
func (s *shard) stats(h *heavy, k int32, numberText string, now time.Time) {
	p := s.p
	wn := &h.wins[mod(k, p.ring)]
	if !wn.valid || wn.start != k {
		return
	}
	w := s.summary(h, wn, true)
	if numberText == "" {
		numberText = decode.KeyNumber(h.number)
	}
	s.final(h, wn, &w, numberText, now)
	if w.Calls < p.statsMin {
		return
	}
	s.sorted = h.sortedIn(k, p.w, s.sorted)
	row := schemas.CallerStats{
		Caller:          numberText,
		WindowStart:     p.time(k),
		WindowEnd:       p.time(k + p.w),
		Calls:           uint32(w.Calls),
		Answered:        uint32(w.Answered),
		DistinctCallees: uint32(w.Distinct),
		ShortCalls:      uint32(w.Short),
		SequentialScore: p.seq.Score(s.sorted),
		UpdatedAt:       now,
	}
	if w.Answered > 0 {
		row.AvgTalk = w.TalkSeconds / float64(w.Answered)
	}
	s.out.Stats = append(s.out.Stats, row)
}

// advance moves the shard to watermark wm (Unix seconds): writes stats of
// windows that closed, and forgets callers whose windows are all closed.
func (s *shard) advance(wm int64, now time.Time) {
	p := s.p
	if wm <= s.wmSec {
		return
	}
	s.wmSec = wm
	nb := p.bucket(wm)
	if nb == s.wmBucket {
		return
	}
	s.wmBucket = nb
	// Windows [k, k+w) with (k+w)*slide <= wm are closed.
	closedThrough := s.p.bucket(wm) - p.w
	for i, h := range s.heavies {
		if h == nil {
			continue
		}
		s.close(h, closedThrough, now)
		s.judge(h, closedThrough-p.graceBuckets, now)
		if h.top <= closedThrough-p.graceBuckets {
			s.dropHeavy(int32(i))
		}
	}
	for number, i := range s.index {
		cl := &s.callers[i]
		if cl.heavy == 0 && cl.last <= closedThrough {
			delete(s.index, number)
			s.free = append(s.free, i)
		}
	}
	for b := range s.dedup {
		if b < closedThrough-p.lateBuckets {
			delete(s.dedup, b)
		}
	}
	s.forgetVictims(wm)
}

// close writes stats for h's windows starting at or before through.
func (s *shard) close(h *heavy, through int32, now time.Time) {
	from := max(h.emitted+1, h.top-s.p.ring-s.p.w)
	for k := from; k <= through && k <= h.top; k++ {
		s.stats(h, k, "", now)
	}
	h.emitted = max(h.emitted, through)
}

func (s *shard) dropHeavy(i int32) {
	h := s.heavies[i]
	s.heavies[i] = nil
	s.hfree = append(s.hfree, i)
	if ci, ok := s.index[h.number]; ok {
		s.callers[ci].heavy = 0
		s.callers[ci].n = 0
	}
}

// flush writes stats of every window still open, for a final summary when
// the input is exhausted. The rows are provisional: a later, fuller view of
// the same window replaces them.
func (s *shard) flush(now time.Time) {
	for _, h := range s.heavies {
		if h == nil {
			continue
		}
		for k := h.emitted + 1; k <= h.top; k++ {
			s.stats(h, k, "", now)
		}
		s.judge(h, h.top, now)
	}
}
