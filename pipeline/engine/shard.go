package engine

import (
	"github.com/cdrpipe/cdrpipe/detectors"
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

	// groups, when campaign detection is on, gets the calls listed in
	// grouped after each batch (Engine.group); shards only read it.
	groups  *groups
	grouped []*Record

	// days holds, per caller, the days its busy windows added to (daily.go);
	// dayEnd is the earliest end among them (0: none).
	days   map[uint64][]*day
	dayEnd int64

	// dedup holds the keys of the CDRs stored, per bucket of start time.
	dedup dedup

	wmSec    int64 // watermark, Unix seconds
	wmBucket int32 // bucket of the watermark
	sorted   []uint64
	startBuf []uint32         // scratch for gaps
	view     detectors.Window // scratch for summary
	sketch   hll              // scratch for merging a window's overflow sketches
	touched  uint64           // keeps the lookahead loads from being optimised away
	gone     []uint64         // scratch for heavy.expire
	out      Output

	// outbox holds, per destination shard, the calls its numbers received.
	outbox [][]rev
	// pending holds the calls this shard's numbers received, per bucket of
	// start time, until the watermark seals the bucket (seal).
	pending     map[int32][]rev
	sparePend   [][]rev
	pendBuckets []int32
	// Callee-side call counts of the last two bombing spans, and the
	// callees past a couple of calls.
	received     table[hits]
	hitsFrom     int32 // oldest span whose counts are kept
	victims      table[*victim]
	spareVictims []*victim
}

func newShard(p *params, shards int) *shard {
	return &shard{
		p:       p,
		dedup:   newDedup(),
		expiry:  make(map[int32]*[]int32),
		outbox:  make([][]rev, shards),
		pending: make(map[int32][]rev),
		days:    make(map[uint64][]*day),
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
func (s *shard) processAll(recs []*Record) {
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
		s.process(r)
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
		*touched ^= s.dedup.touch(r.keyHash)
	}
}

// process handles one CDR: de-duplicate, store, and count it when on time.
func (s *shard) process(r *Record) {
	c := &r.CDR
	sec := c.StartTime.Unix()
	b := s.p.bucket(sec)
	late := r.Late || sec < s.wmSec
	var count bool
	if r.Stored {
		count = r.counted // claimed, stored and reckoned when held back
	} else {
		var store bool
		store, count = s.dedup.claim(b, r.keyHash, !late)
		switch {
		case !r.Side.Stores():
			// Counted and stored with its caller-side twin.
		case !store:
			s.out.Duplicates++
		case late:
			s.out.CDRs = append(s.out.CDRs, r)
			s.out.Late++
		default:
			s.out.CDRs = append(s.out.CDRs, r)
		}
	}
	if !count {
		return
	}
	if r.callerKey == 0 {
		return // a withheld caller ID without a number: nobody to count it for
	}
	if r.Side == GroupSide || r.Side == Both {
		if s.groups != nil && s.groups.keeps(r) {
			s.grouped = append(s.grouped, r)
		}
	}
	if r.Side.counts() {
		ev := event{callee: r.calleeKey&(1<<calleeBits-1) | uint64(r.src)<<calleeBits, sec: uint32(sec), talk: seconds16(c.Duration),
			ring: uint8(min(c.RingDuration, 255)), flags: r.flags}
		if c.Answered() {
			ev.flags |= flagAnswered
			if c.Duration < s.p.shortTalk {
				ev.flags |= flagShort
			}
		}
		s.count(r.callerKey, r.caller, c.Caller, ev)
	}
	if r.Side.received() {
		s.sendReverse(rev{target: r.calleeKey, from: r.callerKey, sec: uint32(sec), bucket: b})
	}
}

func seconds16(d float64) uint16 {
	if d > 65535 {
		return 65535
	}
	return uint16(d)
}
