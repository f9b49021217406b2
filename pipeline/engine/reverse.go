package engine

import (
	"github.com/cdrpipe/cdrpipe/detectors"
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
	i := mix64(r.target) % uint64(len(s.outbox))
	s.outbox[i] = append(s.outbox[i], r)
}

// reverse handles calls received by numbers this shard owns.
func (s *shard) reverse(r *rev) {
	s.callback(r)
	if s.p.bombing != nil {
		s.bombed(r)
	}
}

// callback records that r.target, a caller with full state, was called by
// one of the numbers it called.
func (s *shard) callback(r *rev) {
	i, ok := s.index[r.target]
	if !ok || s.callers[i].heavy == 0 {
		return
	}
	h := s.heavies[s.callers[i].heavy-1]
	if _, called := h.callees[r.from]; !called {
		return
	}
	if h.calledBack == nil {
		h.calledBack = make(map[uint64]struct{})
	}
	h.calledBack[r.from] = struct{}{}
}

// victim is a callee receiving many calls lately.
type victim struct {
	calls   []received
	flagged map[uint64]struct{} // callers already flagged for this victim
}

type received struct {
	from uint64
	sec  uint32
}

// maxReceived bounds the calls kept per victim; a flood is recognised
// long before.
const maxReceived = 512

// bombed counts a received call and flags the callers of a flood. Every
// callee gets a small counter per span of event time (with its first
// caller); only callees past two calls get the exact list that names the
// callers. Counters are kept per span and dropped by the watermark, so
// partitions read at different paces do not disturb them.
func (s *shard) bombed(r *rev) {
	p := s.p
	span := int64(r.sec) / p.bombSpan
	hits := s.hits[span]
	if hits == nil {
		hits = make(map[uint64]firstHit)
		s.hits[span] = hits
	}
	h := hits[r.target]
	if h.n == 0 {
		h.from, h.sec = r.from, r.sec
	}
	if h.n < 65535 {
		h.n++
	}
	hits[r.target] = h
	v := s.victims[r.target]
	if v == nil {
		prev := s.hits[span-1][r.target]
		if int(h.n)+int(prev.n) < 2 {
			return
		}
		v = &victim{}
		// Seed the list with the first calls the counters remember.
		for _, f := range []firstHit{prev, h} {
			if f.n > 0 && (f.from != r.from || f.sec != r.sec) {
				v.calls = append(v.calls, received{from: f.from, sec: f.sec})
			}
		}
		s.victims[r.target] = v
	}
	since := r.sec - min(r.sec, uint32(p.bombSpan))
	keep := v.calls[:0]
	for _, c := range v.calls {
		if c.sec > since {
			keep = append(keep, c)
		}
	}
	v.calls = keep
	if len(v.calls) < maxReceived {
		v.calls = append(v.calls, received{from: r.from, sec: r.sec})
	}
	if len(v.calls) < p.bombing.MinCalls {
		return
	}
	s.judgeFlood(v, r)
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
	per := make(map[uint64]int, 8)
	for _, c := range v.calls {
		per[c.from]++
	}
	t := detectors.Target{Span: p.bombingSpan(), Calls: len(v.calls), Callers: len(per)}
	for from, n := range per {
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
		s.flag(decode.KeyNumber(from), p.bombing, r.bucket-p.w+1, f, s.now)
	}
}

// forgetVictims drops callee-side state older than the span before wm.
func (s *shard) forgetVictims(wm int64) {
	limit := wm - s.p.bombSpan
	for span := range s.hits {
		if span < limit/s.p.bombSpan-1 {
			delete(s.hits, span)
		}
	}
	for k, v := range s.victims {
		if n := len(v.calls); n == 0 || int64(v.calls[n-1].sec) < limit {
			delete(s.victims, k)
		}
	}
}
