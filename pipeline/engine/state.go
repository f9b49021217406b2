package engine

import (
	"math/bits"
	"slices"
)

// maxRing is the most buckets a caller's ring can hold; bucket bits in a
// callee's uint64 mask are taken modulo 64.
const maxRing = 64

// maxSmall is the most calls a caller may make before it gets full
// window state; params.smallCap lowers it below every detector's
// threshold. Most callers make one to three calls an hour and keep them
// inline (inlineCalls); those with a few more borrow a slot of moreCalls
// from their shard. Either way they never reach a threshold, and cost a
// fraction of full state and of its per-call work.
const (
	inlineCalls = 3
	moreCalls   = 6
	maxSmall    = inlineCalls + moreCalls
)

// event is one counted call of a small caller: 16 bytes, so four fit in a
// small caller's state.
type event struct {
	// callee is the callee's number key in the low calleeBits and, above
	// them, the tag of the switch that wrote the record (switchTag): an
	// E.164 number has at most 15 digits, under 2^50, and the event
	// stays 16 bytes.
	callee uint64
	sec    uint32 // start, Unix seconds
	talk   uint16 // seconds
	ring   uint8  // seconds, at most 255
	flags  uint8
}

// calleeBits holds an E.164 number key (at most 15 digits).
const calleeBits = 50

// to returns the callee's number key.
func (e event) to() uint64 { return e.callee & (1<<calleeBits - 1) }

// src returns the tag of the switch that wrote the call, 0 if unknown.
func (e event) src() uint16 { return uint16(e.callee >> calleeBits) }

// sameClock reports whether calls of switches a and b can be compared
// to the second: the same switch, or one whose switch is not known.
func sameClock(a, b uint16) bool { return a == b || a == 0 || b == 0 }

// switchTag is a switch id's tag in events, 1 to 2^14-1; 0 for none.
func switchTag(id string) uint16 {
	if id == "" {
		return 0
	}
	return uint16(fnv64a(id)%(1<<(64-calleeBits)-1)) + 1
}

// Per-call traits, classified once per record (Engine.Prepare).
const (
	flagAnswered = 1 << iota
	flagShort
	flagOneRing // unanswered, released after ringing at most the one-ring limit
	flagInvalid // to an unallocated or invalid number
	flagSpoofed // domestic caller ID on an international trunk, or outside the plan
	flagMobile  // the caller is a mobile number
	// flagCalledBack marks a small caller's call whose callee called it
	// back (set on the callee side, carried into full state).
	flagCalledBack
	// flagBadID marks a caller ID outside the numbering plan (a spoofed
	// one that no subscriber has: roamers calling home from abroad
	// arrive on international trunks with their own genuine number).
	flagBadID
)

// caller is the state every active caller has. Heavy callers point to a
// heavy; the rest keep their few calls inline.
type caller struct {
	events [inlineCalls]event
	number uint64 // emptyKey when the slot is free
	more   int32  // index+1 into shard.more; 0 when none
	n      uint8  // calls held
	heavy  int32  // index+1 into shard.heavies; 0 when small
	last   int32  // latest bucket seen
}

// counts aggregates one bucket, or one window, of one heavy caller.
type counts struct {
	bucket   int32
	calls    uint32
	answered uint32
	short    uint32
	oneRing  uint32
	invalid  uint32
	spoofed  uint16
	badID    uint16
	maxConc  uint16
	peakMin  uint16 // most calls started in one minute
	talk     float64
	talkSq   float64
}

// add merges d into c.
func (c *counts) add(d *counts) {
	c.calls += d.calls
	c.answered += d.answered
	c.short += d.short
	c.oneRing += d.oneRing
	c.invalid += d.invalid
	c.spoofed += d.spoofed
	c.badID += d.badID
	c.maxConc = max(c.maxConc, d.maxConc)
	c.peakMin = max(c.peakMin, d.peakMin)
	c.talk += d.talk
	c.talkSq += d.talkSq
}

// maxDetectors is how many detectors a window can track (one bit each).
const maxDetectors = 16

// win is the running state of one window of one heavy caller.
type win struct {
	agg      counts // the window's calls, kept as they arrive
	start    int32  // first bucket of the window
	distinct int32  // exact distinct callees
	flagged  uint16 // one bit per detector already flagged
	seqDirty bool   // a callee landed next to another since the last check
	// sketchEst is the distinct callees of the window's overflow
	// sketches as estimated at the caller's sketchGen sketchAt; merging
	// and estimating them again on every check of a caller past
	// engine.max_callees was a third of a run's CPU.
	sketchEst   int32
	sketchAt    uint32
	sketchKnown bool
	// neighbours says a callee ever landed next to another in the
	// window, so its callees may hold a sequential run.
	neighbours bool
	valid      bool
}

// heavy is full sliding-window state for a caller past params.smallCap
// calls.
type heavy struct {
	number  uint64
	top     int32    // highest bucket seen
	emitted int32    // highest window start whose stats were written
	judged  int32    // highest window start judged for no_callback
	counts  []counts // ring of buckets, len params.ring
	wins    []win    // ring of windows by start bucket, len params.ring
	// callees maps each callee to the buckets it was called in (bit =
	// bucket mod 64). Its size is capped; past the cap, new callees go to
	// per-bucket sketches.
	callees  table[uint64]
	overflow []*hll // per ring slot, only once the cap was hit
	overSlot []int32
	// sketchGen counts the changes of the overflow sketches, to tell a
	// window's cached estimate from a stale one.
	sketchGen uint32

	// minutes counts call starts per minute, minutesPerBucket slots per
	// ring bucket, for the peak calls per minute.
	minutes []uint16
	// spans holds the time spans of a mobile caller's calls that a later
	// call on time could still overlap, for how many were in progress at
	// once.
	spans []span
	// starts holds, per ring slot, the call starts of its bucket (Unix
	// seconds), for the gaps between calls, measured when a window
	// closes; a bit of startsFull says a slot had more than maxStarts.
	starts     [][]uint32
	startsFull uint64
	// calledBack holds callees that called this caller back.
	calledBack map[uint64]struct{}
	mobile     bool
}

// span is a call from start to release, Unix seconds.
type span struct {
	start, end uint32
	src        uint16 // switchTag of the call's switch
}

// open returns window k when the ring holds it, or nil.
func (h *heavy) open(k, ring int32) *win {
	if wn := &h.wins[mod(k, ring)]; wn.valid && wn.start == k {
		return wn
	}
	return nil
}

// windowMask returns the callee-mask bits of buckets [k, k+w).
func windowMask(k, w int32) uint64 {
	ones := uint64(1)<<uint(w) - 1
	if w >= 64 {
		ones = ^uint64(0)
	}
	return bits.RotateLeft64(ones, int(mod(k, 64)))
}

// bucketBit returns the callee-mask bit of bucket b.
func bucketBit(b int32) uint64 { return 1 << uint(mod(b, 64)) }

func mod(a, m int32) int32 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

// sortedIn returns the exact callees called in window k, ascending,
// reusing buf.
func (h *heavy) sortedIn(k, w int32, buf []uint64) []uint64 {
	m := windowMask(k, w)
	buf = buf[:0]
	h.callees.each(func(c uint64, bm *uint64) {
		if *bm&m != 0 {
			buf = append(buf, c)
		}
	})
	slices.Sort(buf)
	return buf
}

// expire clears the mask bits of buckets that left the ring when top moved
// from old to now, and drops callees left with no bucket. gone is scratch
// space, returned for reuse.
func (h *heavy) expire(old, now, ring int32, gone []uint64) []uint64 {
	if now-old >= ring {
		h.callees.reset()
		return gone
	}
	var bits uint64
	for b := old - ring + 1; b <= now-ring; b++ {
		bits |= bucketBit(b)
	}
	if bits == 0 {
		return gone
	}
	// Removing moves keys around, so the callees to drop are collected
	// first.
	gone = gone[:0]
	h.callees.each(func(c uint64, bm *uint64) {
		if *bm &= ^bits; *bm == 0 {
			gone = append(gone, c)
		}
	})
	for _, c := range gone {
		h.callees.remove(c)
	}
	h.callees.shrink()
	return gone
}
