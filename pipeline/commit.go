package pipeline

// segment is a run of one partition's offsets processed together, with
// the latest event time among its records.
type segment struct {
	first, last int64
	maxSec      int64
	// startMax is maxSec when the segment was started; merging stops
	// once a segment spans more than a minute of event time.
	startMax int64
}

// tracker decides, per partition, how far offsets may be committed: past
// every processed message, but never past a message that an open window
// still needs, so a restarted consumer replays enough to rebuild the
// windows it had open. Its outputs are idempotent, so the replay
// duplicates nothing.
type tracker struct {
	parts map[int]*partTrack
}

type partTrack struct {
	segs []segment // oldest first
	next int64     // offset after the last processed message; -1 if none
}

func newTracker() *tracker { return &tracker{parts: make(map[int]*partTrack)} }

func (t *tracker) part(p int) *partTrack {
	pt := t.parts[p]
	if pt == nil {
		pt = &partTrack{next: -1}
		t.parts[p] = pt
	}
	return pt
}

// add records that offset of partition p was processed; sec is its event
// time, or noTime when it has none that counts (a reject).
func (t *tracker) add(p int, offset, sec int64) {
	pt := t.part(p)
	pt.next = max(pt.next, offset+1)
	first, last, maxSec := offset, offset, sec
	// Merging neighbours within a minute of event time keeps the list
	// short; it only ever delays a release by that minute, which is safe.
	if n := len(pt.segs); n > 0 && maxSec < pt.segs[n-1].startMax+60 {
		pt.segs[n-1].last = last
		pt.segs[n-1].maxSec = max(pt.segs[n-1].maxSec, maxSec)
		return
	}
	pt.segs = append(pt.segs, segment{first: first, last: last, maxSec: maxSec, startMax: maxSec})
}

// release forgets segments whose records all lie before openFrom (Unix
// seconds), the start of the oldest window still open.
func (t *tracker) release(openFrom int64) {
	for _, pt := range t.parts {
		i := 0
		for i < len(pt.segs) && pt.segs[i].maxSec < openFrom {
			i++
		}
		if i > 0 {
			pt.segs = append(pt.segs[:0], pt.segs[i:]...)
		}
	}
}

// commitable returns, per partition, the offset to commit (next to read).
func (t *tracker) commitable() map[int]int64 {
	out := make(map[int]int64, len(t.parts))
	for p, pt := range t.parts {
		if pt.next < 0 {
			continue
		}
		off := pt.next
		if len(pt.segs) > 0 {
			off = pt.segs[0].first
		}
		out[p] = off
	}
	return out
}

// processed returns the offset after the last processed message of p, or
// -1.
func (t *tracker) processed(p int) int64 {
	if pt := t.parts[p]; pt != nil {
		return pt.next
	}
	return -1
}
