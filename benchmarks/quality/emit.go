package main

import (
	"container/heap"
	"math/rand/v2"
	"strconv"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// Traffic is a generated run: the calls, the truth about their callers,
// and the wire lines to send.
type Traffic struct {
	// Calls are the unique valid calls, sorted by start.
	Calls []Call
	// Numbers holds every number, E.164; calls index into it.
	Numbers []string
	// Class is the class of every calling number.
	Class map[string]Class
	// Expected is the set of traits each calling number is expected to
	// show: the traits its (non-late) records really cross.
	Expected map[string]map[string]bool
	// Lines is the JSON-lines stream, noise included.
	Lines []byte
	// Counts of what Lines holds.
	Sent       int // lines
	Malformed  int
	Duplicates int // byte-identical re-sent lines
	OutOfOrder int // lines sent after a later-starting line, up to 4 min
	VeryLate   int // lines sent 30–40 min after their start
	// What the fleet's switches made of the unique valid records (see
	// traffic.Truth for each).
	Withheld, WithheldNoNumber int
	CallIDRepeats              int
	LocalTimes, Skewed         int

	nums []traffic.Number // Numbers parsed
	enc  *traffic.Encoder // writes the calls as their switches do
}

// expect fills Expected from the brute-force checks on the calls as the
// pipeline reads them.
func (t *Traffic) expect() {
	crossed := Crossed(t.Seen(), t.Numbers, config.Default().Detectors)
	t.Expected = map[string]map[string]bool{}
	for num := range t.Class {
		t.Expected[num] = map[string]bool{}
	}
	for idx, trs := range crossed {
		num := t.Numbers[idx]
		if t.Expected[num] == nil {
			continue // not a caller of ours (cannot happen: every caller has a class)
		}
		for tr := range trs {
			t.Expected[num][tr] = true
		}
	}
}

// Abuser reports whether the number's class should be blocked.
func (t *Traffic) Abuser(num string) bool { return Spec(t.Class[num]).Abuser }

// held is a record waiting to be sent once the stream passes due.
type held struct {
	due  int64
	call int    // index into Calls, or -1 for a duplicate line
	line []byte // the duplicate's bytes
}

type heldHeap []held

func (h heldHeap) Len() int           { return len(h) }
func (h heldHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h heldHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *heldHeap) Push(x any)        { *h = append(*h, x.(held)) }
func (h *heldHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// emitter writes records in start order with noise. Records are encoded
// by hand with strconv.Append* into one growing buffer: no reflection,
// no per-record allocation beyond the duplicates kept for re-sending.
type emitter struct {
	t      *Traffic
	cfg    Config
	r      *rand.Rand
	out    []byte
	ooo    heldHeap // out of order, due by start time of the stream
	late   heldHeap // very late
	dups   heldHeap // due by line count
	maxOut int64    // newest start sent
}

func (t *Traffic) emit(cfg Config, r *rand.Rand) {
	e := &emitter{t: t, cfg: cfg, r: r, out: make([]byte, 0, len(t.Calls)*260)}
	for i := range t.Calls {
		c := &t.Calls[i]
		switch {
		case c.Late:
			heap.Push(&e.late, held{due: c.Start + 30*msPerMin + r.Int64N(10*msPerMin), call: i})
			continue
		case r.Float64() < cfg.OutOfOrderRate:
			heap.Push(&e.ooo, held{due: c.Start + 1000 + r.Int64N(4*msPerMin-1000), call: i})
			continue
		}
		for e.ooo.Len() > 0 && e.ooo[0].due < c.Start {
			h := heap.Pop(&e.ooo).(held)
			e.write(h.call, true)
			t.OutOfOrder++
		}
		e.write(i, true)
		for e.late.Len() > 0 && e.late[0].due <= c.Start {
			e.write(heap.Pop(&e.late).(held).call, false)
			t.VeryLate++
		}
	}
	for e.ooo.Len() > 0 {
		e.write(heap.Pop(&e.ooo).(held).call, true)
		t.OutOfOrder++
	}
	for e.late.Len() > 0 {
		e.write(heap.Pop(&e.late).(held).call, false)
		t.VeryLate++
	}
	for e.dups.Len() > 0 {
		e.line(heap.Pop(&e.dups).(held).line)
		t.Duplicates++
	}
	t.Lines = e.out
}

func (e *emitter) line(b []byte) {
	e.out = append(e.out, b...)
	e.out = append(e.out, '\n')
	e.t.Sent++
}

// write sends call i, now and then preceded by a malformed line and by
// re-sent copies that are due; canDup allows scheduling a copy of it.
func (e *emitter) write(i int, canDup bool) {
	if e.r.Float64() < e.cfg.MalformedRate {
		e.malformed(i)
	}
	for e.dups.Len() > 0 && e.dups[0].due <= int64(e.t.Sent) {
		e.line(heap.Pop(&e.dups).(held).line)
		e.t.Duplicates++
	}
	start := len(e.out)
	e.out = e.record(e.out, i)
	rec := e.out[start:]
	if canDup && e.r.Float64() < e.cfg.DuplicateRate {
		heap.Push(&e.dups, held{due: int64(e.t.Sent) + 1 + e.r.Int64N(500), call: -1, line: append([]byte(nil), rec...)})
	}
	e.out = append(e.out, '\n')
	e.t.Sent++
}

// record appends call i as one JSON object, as its switch writes it.
func (e *emitter) record(b []byte, i int) []byte {
	c := &e.t.Calls[i]
	rec := e.t.record(c)
	b = e.t.enc.AppendCDR(append(b, '{'), int(c.Switch), &rec, e.r)
	return append(b, '}')
}

// malformed appends a broken line derived from call i.
func (e *emitter) malformed(i int) {
	rec := e.record(nil, i)
	var bad []byte
	switch e.r.IntN(6) {
	case 0: // broken JSON: cut in the middle
		bad = rec[:len(rec)/2]
	case 1: // missing caller
		bad = append([]byte(`{"callee":"+8613800000001","start_time":`), strconv.AppendInt(nil, e.t.Calls[i].Start, 10)...)
		bad = append(bad, '}')
	case 2: // wrong type
		bad = append([]byte(`{"caller":"`), e.t.Numbers[e.t.Calls[i].Caller]...)
		bad = append(bad, `","callee":"+8613800000001","start_time":`...)
		bad = strconv.AppendInt(bad, e.t.Calls[i].Start, 10)
		bad = append(bad, `,"duration":true}`...)
	case 3: // caller is an object
		bad = []byte(`{"caller":{"number":"+8613912345678"},"callee":"+8613800000001","start_time":"2026-01-01T00:00:00Z"}`)
	case 4: // time that does not parse
		bad = []byte(`{"caller":"+8613912345678","callee":"+8613800000001","start_time":"yesterday"}`)
	default: // not an object
		bad = []byte(`["cdr",1,2,3]`)
	}
	e.line(bad)
	e.t.Malformed++
}
