package engine

import "math"

// Expiry: as the watermark moves, closed windows are written and state
// whose windows all closed is forgotten, so memory follows the last hour
// of traffic, not all of it.

// advance moves the shard to watermark wm (Unix seconds): writes stats of
// windows that closed, and forgets callers whose windows are all closed.
func (s *shard) advance(wm int64) {
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
		s.close(h, closedThrough)
		s.judge(h, closedThrough-p.graceBuckets)
		if h.top <= closedThrough-p.graceBuckets {
			s.dropHeavy(int32(i))
		}
	}
	s.closeDays(wm)
	s.forgetCallers(closedThrough)
	s.dedup.dropBefore(closedThrough - p.lateBuckets)
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
func (s *shard) close(h *heavy, through int32) {
	from := max(h.emitted+1, h.top-s.p.ring-s.p.w)
	for k := from; k <= through && k <= h.top; k++ {
		s.stats(h, k, "")
		s.addDay(h, k, true)
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
// the input is exhausted, and judges the days still open. The stats rows
// are provisional: a later, fuller view of the same window replaces them.
func (s *shard) flush() {
	for _, h := range s.heavies {
		if h == nil {
			continue
		}
		for k := h.emitted + 1; k <= h.top; k++ {
			s.stats(h, k, "")
			s.addDay(h, k, false)
		}
		s.judge(h, h.top)
	}
	// The input is complete: the days still open are judged as they
	// stand, as no_callback is.
	s.closeDays(math.MaxInt64)
}
