package engine

import (
	"cmp"
	"math"
	"slices"

	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/internal/mix"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

// rev is a call seen from the callee's side. Callee-side traits need it
// in the callee's shard: whether the callee is a caller we track who is
// now calling back one of its own callees (no_callback), and how many
// calls the callee received lately (call_bombing).
type rev struct {
	target uint64 // the callee
	from   uint64 // the caller
	sec    uint32
	bucket int32
}

// sendReverse queues r for the shard that owns its target. Engine.Process
// delivers the queues once every shard has done its own records.
func (s *shard) sendReverse(r rev) {
	i := mix.Mix64(r.target) % uint64(len(s.outbox))
	s.outbox[i] = append(s.outbox[i], r)
}

// The callee side is handled in event-time order, not in the order calls
// arrive: a received call is held until the watermark seals its bucket
// (no call on time can start in it any more), then the bucket's calls are
// handled sorted by start, caller and callee. Whether a callee was called
// back, and whose calls flood a callee, then depend on the calls alone,
// not on how the partitions interleaved. The cost is that call_bombing is
// flagged once the bucket is sealed (minutes later than a caller-side
// trait), and the held calls: those of the allowed lateness.

// hold files rs, calls received by this shard's numbers, until their
// buckets are sealed.
func (s *shard) hold(rs []rev) {
	for i := range rs {
		b := rs[i].bucket
		l, ok := s.pending[b]
		if !ok {
			if n := len(s.sparePend); n > 0 {
				l = s.sparePend[n-1][:0]
				s.sparePend = s.sparePend[:n-1]
			}
			s.pendBuckets = append(s.pendBuckets, b)
		}
		s.pending[b] = append(l, rs[i])
	}
}

// seal handles the held calls of every bucket that ends at or before wm
// (Unix seconds; all of them when wm is seal All), oldest bucket first,
// each in canonical order.
func (s *shard) seal(wm int64) {
	if len(s.pendBuckets) == 0 {
		return
	}
	slices.Sort(s.pendBuckets)
	n := 0
	for _, b := range s.pendBuckets {
		if wm != sealAll && (int64(b)+1)*s.p.slide > wm {
			break
		}
		rs := s.pending[b]
		slices.SortFunc(rs, func(x, y rev) int {
			return cmp.Or(cmp.Compare(x.sec, y.sec), cmp.Compare(x.from, y.from), cmp.Compare(x.target, y.target))
		})
		s.reverseAll(rs)
		delete(s.pending, b)
		if len(s.sparePend) < maxSparePend {
			s.sparePend = append(s.sparePend, rs[:0])
		}
		n++
	}
	s.pendBuckets = append(s.pendBuckets[:0], s.pendBuckets[n:]...)
}

// sealAll is the watermark that seals every bucket (the end of a bounded
// run).
const sealAll = math.MaxInt64

// maxSparePend bounds the emptied bucket lists kept for reuse.
const maxSparePend = 8

// reverseAll handles rs in order, touching ahead as processAll does.
func (s *shard) reverseAll(rs []rev) {
	var touched uint64
	touch := func(from int) {
		for _, next := range rs[min(from, len(rs)):min(from+lookahead, len(rs))] {
			touched ^= s.received.touch(next.target)
		}
	}
	touch(0)
	for i := range rs {
		if i%lookahead == 0 {
			touch(i + lookahead)
		}
		s.reverse(&rs[i])
	}
	s.touched ^= touched
}

// reverse handles calls received by numbers this shard owns.
func (s *shard) reverse(r *rev) {
	s.callback(r)
	if s.p.bombing != nil {
		s.bombed(r)
	}
}

// callback records that r.target, a caller this shard holds, was called
// by one of the numbers it had called by then (in r's bucket or before).
// A small caller marks its calls to that number; they carry the mark into
// full state if it is promoted.
func (s *shard) callback(r *rev) {
	if i := s.heavyOf.find(r.target); i != nil {
		h := s.heavies[*i]
		m := h.callees.find(r.from)
		if m == nil || *m&s.upTo(h, r.bucket) == 0 {
			return
		}
		if h.calledBack == nil {
			h.calledBack = make(map[uint64]struct{})
		}
		h.calledBack[r.from] = struct{}{}
		return
	}
	ci := s.index.find(r.target)
	if ci == nil {
		return // it called nobody lately
	}
	cl := s.callers.at(*ci)
	if cl.heavy != 0 || cl.n == 0 {
		return
	}
	var buf [maxSmall + 1]event
	es := s.calls(cl, &buf)
	marked := false
	for k := range es {
		if es[k].callee == r.from && es[k].sec <= r.sec {
			es[k].flags |= flagCalledBack
			marked = true
		}
	}
	if marked {
		s.setCalls(cl, es)
	}
}

// upTo returns the callee-mask bits of h's buckets up to b: of the ring
// (and of the 64 buckets a mask holds), those not after b.
func (s *shard) upTo(h *heavy, b int32) uint64 {
	lo := max(b-63, h.top-s.p.ring+1)
	if b < lo {
		return 0
	}
	return windowMask(lo, b-lo+1)
}

// victim is a callee receiving many calls lately.
type victim struct {
	target  uint64
	calls   []received
	flagged map[uint64]struct{} // callers already flagged for this victim
	// froms are the callers of calls, sorted, kept once the victim
	// received campaigns.call_bombing.min_calls in a span (counted): a
	// much-called number is judged on every call, and keeping them
	// sorted costs a move per call where sorting cost a sort.
	froms   []uint64
	counted bool
}

type received struct {
	from uint64
	sec  uint32
}

// maxReceived bounds the calls kept per victim; a flood is recognised
// long before.
const maxReceived = 512

// bombed counts a received call and flags the callers of a flood. Every
// callee has one small entry with counters for the current and the
// previous span of event time (each with its first caller); only callees
// past two calls get the exact list that names the callers. Entries of
// spans the watermark left behind are dropped (forgetVictims), so
// partitions read at different paces do not disturb them.
func (s *shard) bombed(r *rev) {
	p := s.p
	span := int32(int64(r.sec) / p.bombSpan)
	e, fresh := s.received.upsert(r.target)
	if fresh {
		e.span = span
	}
	h, prevN := e.count(span, r)
	var v *victim
	if e.victim {
		if vp := s.victims.find(r.target); vp != nil {
			v = *vp
		}
	}
	if v == nil {
		if int(h.n)+prevN < 2 {
			return
		}
		e.victim = true
		v = s.newVictim(r.target)
		// Seed the list with the span's first call, which the counter
		// remembers. The previous span's calls are only counted.
		if h.from != r.from || h.sec != r.sec {
			v.calls = append(v.calls, received{from: h.from, sec: h.sec})
		}
		vp, _ := s.victims.upsert(r.target)
		*vp = v
	}
	since := r.sec - min(r.sec, uint32(p.bombSpan))
	keep := v.calls[:0]
	for _, c := range v.calls {
		if c.sec > since {
			keep = append(keep, c)
		} else if v.counted {
			v.froms = removeSorted(v.froms, c.from)
		}
	}
	v.calls = keep
	if len(v.calls) < maxReceived {
		v.calls = append(v.calls, received{from: r.from, sec: r.sec})
		if v.counted {
			v.froms = insertSorted(v.froms, r.from)
		}
	}
	if len(v.calls) < p.bombing.MinCalls {
		return
	}
	if !v.counted {
		v.froms = v.froms[:0]
		for _, c := range v.calls {
			v.froms = append(v.froms, c.from)
		}
		slices.Sort(v.froms)
		v.counted = true
	}
	s.judgeFlood(v, r)
}

// insertSorted adds x to the sorted xs.
func insertSorted(xs []uint64, x uint64) []uint64 {
	i, _ := slices.BinarySearch(xs, x)
	return slices.Insert(xs, i, x)
}

// removeSorted takes one x out of the sorted xs, if there is one.
func removeSorted(xs []uint64, x uint64) []uint64 {
	if i, ok := slices.BinarySearch(xs, x); ok {
		return slices.Delete(xs, i, i+1)
	}
	return xs
}

// hits counts the calls one callee received in the latest span it was
// called in, with the first of them, and in the span before. It is kept
// for every callee of the last spans, so it is small: 24 bytes.
type hits struct {
	from   uint64 // caller of the span's first call
	span   int32  // span counted in n
	sec    uint32 // start of the span's first call
	n      uint16 // calls in span
	prevN  uint16 // calls in the span before
	victim bool   // an exact list was started for this callee
}

// count adds r, a call in span, and returns the counter of its span and
// the calls of the span before. A call older than the span before is
// counted on its own: its spans were already forgotten.
func (e *hits) count(span int32, r *rev) (h firstHit, prevN int) {
	switch {
	case span == e.span+1:
		e.prevN, e.n, e.span = e.n, 0, span
	case span > e.span:
		e.prevN, e.n, e.span = 0, 0, span
	case span == e.span-1:
		e.prevN = min(e.prevN+1, 65535)
		return firstHit{from: r.from, sec: r.sec, n: e.prevN}, 0
	case span < e.span:
		return firstHit{from: r.from, sec: r.sec, n: 1}, 0
	}
	if e.n == 0 {
		e.from, e.sec = r.from, r.sec
	}
	e.n = min(e.n+1, 65535)
	return firstHit{from: e.from, sec: e.sec, n: e.n}, int(e.prevN)
}

// firstHit counts the calls a callee received in one span and remembers
// the first, so the exact list can start from it.
type firstHit struct {
	from uint64
	sec  uint32
	n    uint16
}

// judgeFlood flags every caller of v's flood that made enough of its
// calls.
func (s *shard) judgeFlood(v *victim, r *rev) {
	p := s.p
	// Counting runs of the sorted callers costs less than a map made for
	// every call to a much-called number, and flags come out in the same
	// order on every run.
	froms := v.froms
	callers := 0
	for i := range froms {
		if i == 0 || froms[i] != froms[i-1] {
			callers++
		}
	}
	t := detectors.Target{Span: p.bombingSpan(), Calls: len(froms), Callers: callers}
	for i := 0; i < len(froms); {
		j := i + 1
		for j < len(froms) && froms[j] == froms[i] {
			j++
		}
		from, n := froms[i], j-i
		i = j
		if _, done := v.flagged[from]; done {
			continue
		}
		t.CallerCalls = n
		f, ok := p.bombing.CheckTarget(&t)
		if !ok {
			continue
		}
		if v.flagged == nil {
			v.flagged = make(map[uint64]struct{})
		}
		v.flagged[from] = struct{}{}
		s.flag(decode.KeyNumber(from), p.bombing, r.bucket-p.w+1, f, false)
	}
}

// maxSpareVictims bounds the victims kept for reuse. Ordinary callees
// that get two calls within a span become victims too, by the hundred
// thousand on a busy network; reusing them keeps the steady path from
// allocating.
const maxSpareVictims = 1 << 16

func (s *shard) newVictim(target uint64) *victim {
	if n := len(s.spareVictims); n > 0 {
		v := s.spareVictims[n-1]
		s.spareVictims = s.spareVictims[:n-1]
		v.target = target
		return v
	}
	return &victim{target: target}
}

// forgetHits drops the counters of callees not called since span, once
// per span: the table is rebuilt with the rest, which also gives its
// memory back when traffic falls.
func (s *shard) forgetHits(span int32) {
	if span <= s.hitsFrom {
		return
	}
	s.hitsFrom = span
	// Removing moves entries, so the stale keys are collected first.
	gone := s.gone[:0]
	s.received.each(func(k uint64, e *hits) {
		if e.span < span {
			gone = append(gone, k)
		}
	})
	for _, k := range gone {
		s.received.remove(k)
	}
	s.gone = gone[:0]
	s.received.shrink()
}

// forgetVictims drops callee-side state older than the span before wm.
func (s *shard) forgetVictims(wm int64) {
	limit := wm - s.p.bombSpan
	s.forgetHits(int32(limit/s.p.bombSpan - 1))
	// Removing moves entries, so the victims to drop are collected first.
	gone := s.gone[:0]
	s.victims.each(func(k uint64, vp **victim) {
		v := *vp
		if n := len(v.calls); n > 0 && int64(v.calls[n-1].sec) >= limit {
			return
		}
		gone = append(gone, k)
		if len(s.spareVictims) < maxSpareVictims {
			v.calls, v.froms, v.counted = v.calls[:0], v.froms[:0], false
			clear(v.flagged)
			s.spareVictims = append(s.spareVictims, v)
		}
	})
	for _, k := range gone {
		s.victims.remove(k)
	}
	s.gone = gone[:0]
	s.victims.shrink()
}
