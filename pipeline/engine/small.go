package engine

import (
	"slices"

	"github.com/cdrpipe/cdrpipe/detectors"
)

// Small callers: almost everyone makes a call or two an hour. Their calls
// are kept inline, without window bookkeeping, until they could reach a
// threshold; then they are promoted to full state (heavy.go).

// count adds an on-time call to its caller's state.
// known is the caller's index+1 when processAll found it, or 0.
func (s *shard) count(number uint64, known int32, numberText string, ev event) {
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
		s.add(s.heavies[cl.heavy-1], numberText, ev)
		return
	}
	// Drop calls whose windows all closed or that fell out of the ring,
	// then keep this one if there is room.
	var buf [maxSmall + 1]event
	keep := buf[:0]
	closed := s.wmBucket - s.p.w
	spoofed := ev.flags & flagSpoofed // any spoofed call among those kept
	for _, e := range s.calls(cl, &buf) {
		if eb := s.p.bucket(int64(e.sec)); eb > closed && eb > cl.last-s.p.ring {
			keep = append(keep, e)
			spoofed |= e.flags & flagSpoofed
		}
	}
	if len(keep) < s.p.smallCap && !s.promising(keep, ev) {
		if spoofed != 0 {
			s.spoofedSmall(keep, ev, numberText)
		}
		s.setCalls(cl, append(keep, ev))
		return
	}
	h := s.promote(cl, number, keep)
	s.setCalls(cl, nil)
	for _, e := range keep {
		s.add(h, numberText, e)
		if e.flags&flagCalledBack != 0 {
			if h.calledBack == nil {
				h.calledBack = make(map[uint64]struct{})
			}
			h.calledBack[e.to()] = struct{}{}
		}
	}
	s.add(h, numberText, ev)
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

// promising reports whether ev could show a trait that needs few calls
// and full window state: a call overlapping one of the caller's calls (a
// handset holds one or two). Spoofed caller IDs, the other such trait,
// are judged on the small state itself (spoofedSmall): random caller IDs
// arrive by the hundred thousand, one call each, and must cost what an
// ordinary caller costs.
func (s *shard) promising(calls []event, ev event) bool {
	end := ev.sec + uint32(ev.ring) + uint32(ev.talk)
	for _, e := range calls {
		if sameClock(e.src(), ev.src()) && e.sec < end && ev.sec < e.sec+uint32(e.ring)+uint32(e.talk) {
			return true
		}
	}
	return false
}

// spoofedSmall flags spoofed_origin for a small caller with spoofed
// calls, in every window where ev is the call that reaches the
// threshold: the window's counts over prev (its earlier calls) go from
// below it to it with ev. Counts (spoofed calls, distinct callees) only
// grow, so each window crosses once and no per-window state is needed.
// The flag is the one a heavy caller would get at the crossing.
func (s *shard) spoofedSmall(prev []event, ev event, numberText string) {
	p := s.p
	if p.spoofed < 0 {
		return
	}
	d := p.detectors[p.spoofed]
	b := p.bucket(int64(ev.sec))
	var callees [maxSmall + 1]uint64
	for k := b - p.w + 1; k <= b; k++ {
		w := &s.view
		*w = detectors.Window{Length: p.size}
		seen := callees[:0]
		for _, e := range prev {
			if eb := p.bucket(int64(e.sec)); eb >= k && eb < k+p.w {
				seen = countSpoofed(w, seen, e)
			}
		}
		if _, crossed := d.Check(w); crossed {
			continue // crossed at an earlier call
		}
		countSpoofed(w, seen, ev)
		if f, ok := d.Check(w); ok {
			s.flag(numberText, d, k, f, false)
		}
	}
}

// countSpoofed adds e to the counts spoofed_origin reads, seen holding
// the window's distinct callees so far; it returns seen with e's.
func countSpoofed(w *detectors.Window, seen []uint64, e event) []uint64 {
	w.Calls++
	if e.flags&flagSpoofed != 0 {
		w.Spoofed++
	}
	if e.flags&flagBadID != 0 {
		w.BadID++
	}
	if !slices.Contains(seen, e.to()) {
		seen = append(seen, e.to())
		w.Distinct++
	}
	return seen
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
