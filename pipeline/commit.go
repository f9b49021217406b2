package pipeline

import "github.com/cdrpipe/cdrpipe/pipeline/source"

// segment is a run of one partition's offsets processed together, with
// the latest event time among its records.
type segment struct {
	first, last int64
	maxSec      int64
	// startMax is maxSec when the segment was started; merging stops
	// once a segment spans more than a minute of event time.
	startMax int64
	// snap is the partition's event-time progress right before the
	// segment's first record: it is committed with first.
	snap string
}

// tracker decides, per partition, how far offsets may be committed: past
// every processed message, but never past a message that the engine still
// needs (an open window, a window awaiting callbacks), so a restarted
// consumer replays enough to rebuild the same state. With each offset
// goes the partition's event-time progress right before it, so the
// replay judges lateness exactly as the first reading did. Outputs are
// idempotent and stored rows are not stored again, so the replay
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

// starts reports whether a record of partition p with event time sec
// would start a new segment (add would not merge it), so its caller
// takes the snapshot that goes with it.
func (t *tracker) starts(p int, sec int64) bool {
	pt := t.parts[p]
	if pt == nil {
		return true
	}
	n := len(pt.segs)
	return n == 0 || sec >= pt.segs[n-1].startMax+60
}

// add records that offset of partition p was processed; sec is its event
// time, or noTime when it has none that counts (a reject). snap is the
// partition's progress before it, used when the record starts a segment.
func (t *tracker) add(p int, offset, sec int64, snap string) {
	pt := t.part(p)
	pt.next = max(pt.next, offset+1)
	// Merging neighbours within a minute of event time keeps the list
	// short; it only ever delays a release by that minute, which is safe.
	if n := len(pt.segs); n > 0 && sec < pt.segs[n-1].startMax+60 {
		pt.segs[n-1].last = offset
		pt.segs[n-1].maxSec = max(pt.segs[n-1].maxSec, sec)
		return
	}
	pt.segs = append(pt.segs, segment{first: offset, last: offset, maxSec: sec, startMax: sec, snap: snap})
}

// release forgets segments whose records all start before from (Unix
// seconds): the engine no longer needs them.
func (t *tracker) release(from int64) {
	for _, pt := range t.parts {
		i := 0
		for i < len(pt.segs) && pt.segs[i].maxSec < from {
			i++
		}
		if i > 0 {
			pt.segs = append(pt.segs[:0], pt.segs[i:]...)
		}
	}
}

// commitable returns, per partition, the offset to commit (next to read)
// and the progress to commit with it; now(p) is partition p's progress
// after its last processed record, for a partition with nothing held.
func (t *tracker) commitable(now func(p int) string) map[int]source.Commit {
	out := make(map[int]source.Commit, len(t.parts))
	for p, pt := range t.parts {
		if pt.next < 0 {
			continue
		}
		if len(pt.segs) > 0 {
			out[p] = source.Commit{Offset: pt.segs[0].first, Metadata: pt.segs[0].snap}
			continue
		}
		out[p] = source.Commit{Offset: pt.next, Metadata: now(p)}
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
