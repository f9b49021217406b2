package engine

import (
	"time"

	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/internal/mix"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// shard owns the state of the callers that hash to it. Only its own
// goroutine touches it, so nothing here takes a lock.
type shard struct {
	p *params

	index   table[int32] // caller number → index into callers
	callers slab[caller]
	free    []int32
	heavies []*heavy
	hfree   []int32
	heavyOf table[int32] // heavy caller number → index into heavies
	// expiry lists, per bucket, the callers whose latest call is in it.
	expiry     map[int32]*[]int32
	spareLists []*[]int32
	lastExpiry int32 // bucket of lastList, the list most calls go to
	lastList   *[]int32
	// more holds the calls of small callers past inlineCalls.
	more     [][moreCalls]event
	moreFree []int32

	// dedup holds the keys seen per bucket of start time; sets of closed
	// buckets are emptied and kept for reuse.
	dedup      map[int32]*table[struct{}]
	lastBucket int32
	lastSet    *table[struct{}]
	spareSets  []*table[struct{}]

	wmSec    int64 // watermark, Unix seconds
	wmBucket int32 // bucket of the watermark
	sorted   []uint64
	view     detectors.Window // scratch for summary
	touched  uint64           // keeps the lookahead loads from being optimised away
	gone     []uint64         // scratch for heavy.expire
	out      Output
	now      time.Time // wall clock of the current batch

	// outbox holds, per destination shard, the calls its numbers received.
	outbox [][]rev
	// Callee-side call counts of the last two bombing spans, and the
	// callees past a couple of calls.
	received     table[hits]
	hitsFrom     int32 // oldest span whose counts are kept
	victims      table[*victim]
	spareVictims []*victim
}

func newShard(p *params, shards int) *shard {
	return &shard{
		p:      p,
		dedup:  make(map[int32]*table[struct{}]),
		expiry: make(map[int32]*[]int32),
		outbox: make([][]rev, shards),
	}
}

// lookahead is the size of the groups in which processAll and reverseAll
// touch the tables ahead of use. The tables are far larger than the
// caches, so each record's lookups miss; touching the slots of the next
// groups first lets those misses overlap instead of waiting for each in
// turn (Go has no prefetch instruction; a plain load does the same when
// nothing waits for it). Larger groups measured no better.
const lookahead = 8

// processAll processes recs in order, touching ahead.
func (s *shard) processAll(recs []*Record, now time.Time) {
	// Two groups in flight: while group g is processed, the callers of
	// group g+1 (whose index slots were touched a group ago) and the
	// index slots of group g+2 are being loaded.
	var touched uint64
	group := func(g int) []*Record {
		return recs[min(g*lookahead, len(recs)):min((g+1)*lookahead, len(recs))]
	}
	s.touchSlots(group(0), &touched)
	s.touchCallers(group(0), &touched)
	s.touchSlots(group(1), &touched)
	for i, r := range recs {
		if i%lookahead == 0 {
			g := i / lookahead
			s.touchCallers(group(g+1), &touched)
			s.touchSlots(group(g+2), &touched)
		}
		s.process(r, now)
	}
	s.touched = touched
}

// touchCallers looks up the callers of recs, keeps their indices in the
// records and touches their state. Indices stay valid until the next
// advance (callers are only freed there), so count need not look them up
// again.
func (s *shard) touchCallers(recs []*Record, touched *uint64) {
	for _, r := range recs {
		r.caller = 0
		if ci := s.index.find(r.callerKey); ci != nil {
			// A caller spans two cache lines: touch both ends.
			cl := s.callers.at(*ci)
			*touched ^= cl.events[0].callee ^ uint64(cl.last)
			r.caller = *ci + 1
		}
	}
}

// touchSlots touches the index and de-duplication slots of recs.
func (s *shard) touchSlots(recs []*Record, touched *uint64) {
	for _, r := range recs {
		*touched ^= s.index.touch(r.callerKey)
		if s.lastSet != nil {
			*touched ^= s.lastSet.touch(keyOf(r.keyHash))
		}
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
	if r.Late || sec < s.wmSec {
		s.out.Late++
		return
	}
	if r.callerKey == 0 {
		return // a withheld caller ID without a number: nobody to count it for
	}
	ev := event{callee: r.calleeKey, sec: uint32(sec), talk: seconds16(c.Duration),
		ring: uint8(min(c.RingDuration, 255)), flags: r.flags}
	if c.Answered() {
		ev.flags |= flagAnswered
		if c.Duration < s.p.shortTalk {
			ev.flags |= flagShort
		}
	}
	s.count(r.callerKey, r.caller, c.Caller, ev, now)
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
	set := s.lastSet
	if set == nil || s.lastBucket != b {
		if set = s.dedup[b]; set == nil {
			set = s.spareSet()
			s.dedup[b] = set
		}
		s.lastBucket, s.lastSet = b, set
	}
	_, fresh := set.upsert(keyOf(key))
	return !fresh
}

// maxSpares bounds the emptied tables kept for reuse; more would only
// hold memory after traffic falls.
const maxSpares = 4

func (s *shard) spareSet() *table[struct{}] {
	if n := len(s.spareSets); n > 0 {
		set := s.spareSets[n-1]
		s.spareSets = s.spareSets[:n-1]
		return set
	}
	return new(table[struct{}])
}

// dropSet empties the de-duplication set of bucket b and keeps it for
// reuse.
func (s *shard) dropSet(b int32) {
	set := s.dedup[b]
	delete(s.dedup, b)
	if s.lastSet == set {
		s.lastSet = nil
	}
	if len(s.spareSets) < maxSpares {
		set.reset()
		s.spareSets = append(s.spareSets, set)
	}
}

// count adds an on-time call to its caller's state.
// known is the caller's index+1 when processAll found it, or 0.
func (s *shard) count(number uint64, known int32, numberText string, ev event, now time.Time) {
	i, fresh := known-1, false
	if known == 0 {
		var slot *int32
		if slot, fresh = s.index.upsert(number); fresh {
			*slot = s.newCaller(number)
		}
		i = *slot
	}
	cl := s.callers.at(i)
	b := s.p.bucket(int64(ev.sec))
	if fresh || b > cl.last {
		cl.last = b
		s.expireAt(b, i)
	}
	if cl.heavy != 0 {
		s.add(s.heavies[cl.heavy-1], numberText, ev, now)
		return
	}
	// Drop calls whose windows all closed or that fell out of the ring,
	// then keep this one if there is room.
	var buf [maxSmall + 1]event
	keep := buf[:0]
	closed := s.wmBucket - s.p.w
	for _, e := range s.calls(cl, &buf) {
		if eb := s.p.bucket(int64(e.sec)); eb > closed && eb > cl.last-s.p.ring {
			keep = append(keep, e)
		}
	}
	if len(keep) < s.p.smallCap && !s.promising(keep, ev) {
		s.setCalls(cl, append(keep, ev))
		return
	}
	h := s.promote(cl, number, keep)
	s.setCalls(cl, nil)
	for _, e := range keep {
		s.add(h, numberText, e, now)
	}
	s.add(h, numberText, ev, now)
}

// calls returns a small caller's calls, gathered into buf.
func (s *shard) calls(cl *caller, buf *[maxSmall + 1]event) []event {
	n := int(cl.n)
	copy(buf[:], cl.events[:min(n, inlineCalls)])
	if n > inlineCalls {
		copy(buf[inlineCalls:], s.more[cl.more-1][:n-inlineCalls])
	}
	return buf[:n]
}

// setCalls stores es as a small caller's calls. Calls past the inline
// ones go to a slot of s.more, taken when needed and given back when
// the caller needs it no more, so callers hold no pointers and the
// garbage collector never scans them.
func (s *shard) setCalls(cl *caller, es []event) {
	cl.n = uint8(len(es))
	copy(cl.events[:], es)
	if len(es) <= inlineCalls {
		if cl.more != 0 {
			s.moreFree = append(s.moreFree, cl.more-1)
			cl.more = 0
		}
		return
	}
	if cl.more == 0 {
		if n := len(s.moreFree); n > 0 {
			cl.more = s.moreFree[n-1] + 1
			s.moreFree = s.moreFree[:n-1]
		} else {
			s.more = append(s.more, [moreCalls]event{})
			cl.more = int32(len(s.more))
		}
	}
	copy(s.more[cl.more-1][:], es[inlineCalls:])
}

// promising reports whether ev could show a trait that needs few calls: a
// spoofed caller ID (one call may flag), or a call overlapping one of the
// caller's calls (a handset holds one or two).
func (s *shard) promising(calls []event, ev event) bool {
	if ev.flags&flagSpoofed != 0 {
		return true
	}
	end := ev.sec + uint32(ev.ring) + uint32(ev.talk)
	for _, e := range calls {
		if e.sec < end && ev.sec < e.sec+uint32(e.ring)+uint32(e.talk) {
			return true
		}
	}
	return false
}

// newCaller gives number a state slot and returns its index; the caller
// enters it in s.index.
func (s *shard) newCaller(number uint64) int32 {
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		return s.callers.add(caller{number: number})
	}
	*s.callers.at(i) = caller{number: number}
	return i
}

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
func (s *shard) add(h *heavy, numberText string, ev event, now time.Time) {
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
	}
	first, last := b-p.w+1, b
	// Windows are started before the call is counted: a new one sums the
	// buckets it covers, then every open one takes the call.
	for k := first; k <= last; k++ {
		s.window(h, k, numberText, now)
	}
	d := s.tally(h, minutes, ev, b)
	cs.add(&d)
	for k := first; k <= last; k++ {
		if wn := h.open(k, p.ring); wn != nil {
			wn.agg.add(&d)
		}
	}
	s.concurrency(h, ev)
	s.addCallee(h, ev.callee, b, first, last)
	for k := first; k <= last; k++ {
		s.check(h, k, numberText, now)
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
	// Gaps between starts, in arrival order; an out-of-order call adds none.
	if h.lastStart != 0 && ev.sec >= h.lastStart {
		g := float64(ev.sec - h.lastStart)
		d.gaps = 1
		d.gapSum = g
		d.gapSq = g * g
	}
	h.lastStart = max(h.lastStart, ev.sec)
	return d
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
	for k := b - s.p.w + 1; k <= b; k++ {
		if wn := h.open(k, s.p.ring); wn != nil {
			wn.agg.maxConc = max(wn.agg.maxConc, n)
		}
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
	}
	h.overflow[slot].add(mix.Mix64(callee))
	s.out.Overflowed++
}

// summary builds the detector view of window k in the shard's scratch
// view (detectors take a pointer, which would move a fresh one to the
// heap on every check). closing asks for the parts only the final view
// needs (callbacks). The view is valid until the next summary.
func (s *shard) summary(h *heavy, wn *win, closing bool) *detectors.Window {
	p := s.p
	w := &s.view
	*w = detectors.Window{Length: p.size, Distinct: int(wn.distinct), Mobile: h.mobile, Closing: closing}
	a := &wn.agg
	w.Calls, w.Answered, w.Short = int(a.calls), int(a.answered), int(a.short)
	w.TalkSeconds, w.TalkSquares = a.talk, a.talkSq
	w.OneRing, w.Invalid, w.Spoofed = int(a.oneRing), int(a.invalid), int(a.spoofed)
	w.Gaps, w.GapSum, w.GapSquares = int(a.gaps), a.gapSum, a.gapSq
	w.MaxConcurrent, w.PeakPerMinute = int(a.maxConc), int(a.peakMin)
	var sketch *hll
	for b := wn.start; h.overflow != nil && b < wn.start+p.w; b++ {
		slot := mod(b, p.ring)
		if h.overflow[slot] != nil && h.overSlot[slot] == b {
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
			if m := h.callees.find(c); m != nil && *m&mask != 0 {
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
		f, ok := d.Check(w)
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

// mayRun reports whether window wn can hold a run of sequential callees:
// not when no callee ever landed next to another. Sorting the callees of
// every closing window of a call centre would cost more than the rest of
// its calls' work.
func (s *shard) mayRun(wn *win) bool {
	return wn.neighbours || s.p.seq.MinRun < 2
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
			if w.Distinct < s.p.seqMin || !s.mayRun(wn) {
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
		f, ok := d.Check(w)
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
	s.final(h, wn, w, numberText, now)
	if w.Calls < p.statsMin {
		return
	}
	if w.Sorted == nil && s.mayRun(wn) { // final did not sort them
		s.sorted = h.sortedIn(k, p.w, s.sorted)
		w.Sorted = s.sorted
	}
	row := schemas.CallerStats{
		Caller:          numberText,
		WindowStart:     p.time(k),
		WindowEnd:       p.time(k + p.w),
		Calls:           uint32(w.Calls),
		Answered:        uint32(w.Answered),
		DistinctCallees: uint32(w.Distinct),
		ShortCalls:      uint32(w.Short),
		SequentialScore: p.seq.Score(w.Sorted),
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
	s.forgetCallers(closedThrough)
	for b := range s.dedup {
		if b < closedThrough-p.lateBuckets {
			s.dropSet(b)
		}
	}
	s.forgetVictims(wm)
}

// expireAt notes that caller i may be forgotten once the windows of
// bucket b closed: its latest call is in b. A caller moves to a later
// list with each later call; forgetCallers skips the stale entries.
func (s *shard) expireAt(b int32, i int32) {
	if s.lastList == nil || s.lastExpiry != b {
		l := s.expiry[b]
		if l == nil {
			if n := len(s.spareLists); n > 0 {
				l = s.spareLists[n-1]
				s.spareLists = s.spareLists[:n-1]
			} else {
				l = new([]int32)
			}
			s.expiry[b] = l
		}
		s.lastExpiry, s.lastList = b, l
	}
	*s.lastList = append(*s.lastList, i)
}

// forgetCallers drops small callers whose windows all closed by bucket
// through. It visits only the callers whose latest call was in a closed
// bucket, not every caller. When most slots are free the slice and the
// index are rebuilt smaller, so memory falls back after a busy hour.
func (s *shard) forgetCallers(through int32) {
	for b, l := range s.expiry {
		if b > through {
			continue
		}
		for _, i := range *l {
			cl := s.callers.at(i)
			if cl.number != emptyKey && cl.heavy == 0 && cl.last <= through {
				s.index.remove(cl.number)
				s.setCalls(cl, nil)
				cl.number = emptyKey
				s.free = append(s.free, i)
			}
		}
		delete(s.expiry, b)
		if s.lastList == l {
			s.lastList = nil
		}
		if len(s.spareLists) < maxSpares {
			*l = (*l)[:0]
			s.spareLists = append(s.spareLists, l)
		}
	}
	if len(s.moreFree) == len(s.more) {
		s.more, s.moreFree = nil, nil
	}
	if s.callers.len() < minTableSlots || len(s.free)*2 < s.callers.len() {
		s.index.shrink()
		return
	}
	s.compact()
}

// compact rebuilds the callers slice, the index and the overflow calls
// with only what is live.
func (s *shard) compact() {
	var live slab[caller]
	var more [][moreCalls]event
	for i := range s.callers.len() {
		cl := *s.callers.at(int32(i))
		if cl.number == emptyKey {
			continue
		}
		if cl.more != 0 {
			more = append(more, s.more[cl.more-1])
			cl.more = int32(len(more))
		}
		live.add(cl)
	}
	s.callers, s.free = live, nil
	s.more, s.moreFree = more, nil
	s.index.init(live.len())
	clear(s.expiry)
	s.lastList = nil
	for i := range live.len() {
		cl := live.at(int32(i))
		v, _ := s.index.upsert(cl.number)
		*v = int32(i)
		s.expireAt(cl.last, int32(i))
	}
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
	s.heavyOf.remove(h.number)
	if ci := s.index.find(h.number); ci != nil {
		cl := s.callers.at(*ci)
		cl.heavy = 0
		cl.n = 0
		// Its bucket's list was passed over while it was heavy.
		s.expireAt(cl.last, *ci)
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
