package traffic

import (
	"bufio"
	"context"
	"math/rand/v2"
)

const (
	// allowedLatenessMs is the pipeline's allowed lateness, used only to
	// measure Truth.LateDuplicates.
	allowedLatenessMs = 5 * minuteMs
	// checkEvery is how many records pass between checks of ctx and of
	// the writer's sticky error.
	checkEvery = 4096
)

// emitter writes planned calls as lines, adding the noise: held-back
// records, re-sent copies and malformed lines. Every choice comes from the
// model's random stream, in emission order, so output is deterministic.
type emitter struct {
	cfg   Config
	r     *rand.Rand
	w     *bufio.Writer
	err   error // first write error; bufio keeps failing after it
	subs  []uint64
	idMix uint64 // seeds call ids so different seeds give different ids

	buf        []byte
	maxSeen    int64 // latest start_time written, far-future excluded
	outOfOrder minHeap[call]
	late       minHeap[call]
	dups       minHeap[dupLine]
	malformedN uint64

	truth Truth
}

// dupLine is a copy of a written line waiting to be re-sent.
type dupLine struct {
	start int64
	line  []byte
}

func newEmitter(cfg Config, r *rand.Rand, w *bufio.Writer, subs []uint64) *emitter {
	return &emitter{
		cfg:   cfg,
		r:     r,
		w:     w,
		subs:  subs,
		idMix: splitmix64(uint64(cfg.Seed)),
		buf:   make([]byte, 0, 1024),
	}
}

// run writes calls (sorted by start) and the far-future calls, which go out
// once half the sorted calls are written.
func (e *emitter) run(ctx context.Context, calls, future []call) error {
	mid := len(calls) / 2
	for i := range calls {
		if i%checkEvery == 0 {
			if err := e.check(ctx); err != nil {
				return err
			}
		}
		if i == mid {
			e.emitAll(future)
		}
		e.next(&calls[i])
	}
	if len(calls) == 0 {
		e.emitAll(future)
	}
	e.drainAll()
	return e.check(ctx)
}

// emitAll writes calls in order, none of them to be re-sent.
func (e *emitter) emitAll(calls []call) {
	for i := range calls {
		e.emit(&calls[i], false)
	}
}

func (e *emitter) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.err
}

// next handles the next call in start order: it is held back (very late or
// out of order) or written in place. Held-back out-of-order records go out
// before the first in-order record more than their delay ahead of them, so
// the stream is never more than MaxOutOfOrder past them; very late ones go
// out after the first in-order record at least 30 minutes ahead, so the
// stream is then at least that far past them.
func (e *emitter) next(c *call) {
	if c.flags&flagVeryLate != 0 {
		e.late.push(c.start+veryLateMinMs+e.r.Int64N(veryLateSpreadMs), *c)
		return
	}
	if e.r.Float64() < e.cfg.OutOfOrderRate {
		e.outOfOrder.push(c.start+1+e.r.Int64N(MaxOutOfOrder.Milliseconds()), *c)
		return
	}
	for e.outOfOrder.len() > 0 && e.outOfOrder.peek() < c.start {
		held := e.outOfOrder.pop()
		e.emit(&held, true)
	}
	e.emit(c, true)
	for e.late.len() > 0 && e.late.peek() <= c.start {
		held := e.late.pop()
		e.emit(&held, false)
	}
}

// drainAll writes whatever is still held back or waiting to be re-sent.
func (e *emitter) drainAll() {
	for e.outOfOrder.len() > 0 {
		held := e.outOfOrder.pop()
		e.emit(&held, true)
	}
	for e.late.len() > 0 {
		held := e.late.pop()
		e.emit(&held, false)
	}
	for e.dups.len() > 0 {
		e.writeDup(e.dups.pop())
	}
}

// emit writes one valid record, preceded now and then by a malformed line
// and by any re-sent copies that are due. Only records that may be copied
// (not the very late or far-future ones, whose counts must stay exact)
// have canDup set.
func (e *emitter) emit(c *call, canDup bool) {
	if e.r.Float64() < e.cfg.MalformedRate {
		e.writeMalformed()
	}
	for e.dups.len() > 0 && e.dups.peek() <= e.truth.Lines {
		e.writeDup(e.dups.pop())
	}
	e.buf = e.appendRecord(e.buf[:0], c)
	e.write(e.buf)
	e.account(c)
	if canDup && e.r.Float64() < e.cfg.DuplicateRate {
		line := append([]byte(nil), e.buf...)
		e.dups.push(e.truth.Lines+e.dupDelay(), dupLine{start: c.start, line: line})
	}
}

// account updates the stream position and the measured lateness counts.
func (e *emitter) account(c *call) {
	switch {
	case c.flags&flagFarFuture != 0:
		e.truth.FarFuture++
	case c.start > e.maxSeen:
		e.maxSeen = c.start
	case c.flags&flagVeryLate != 0 && e.maxSeen-c.start >= veryLateMinMs:
		e.truth.VeryLate++
	}
}

// dupDelay is how many lines later a copy is re-sent: mostly within a few
// hundred, sometimes tens of thousands, to test how long de-duplication
// remembers.
func (e *emitter) dupDelay() int64 {
	if e.r.IntN(100) < 85 {
		return 1 + e.r.Int64N(300)
	}
	return 1000 + e.r.Int64N(29000)
}

func (e *emitter) writeDup(d dupLine) {
	e.write(d.line)
	e.truth.Duplicates++
	if e.maxSeen-d.start > allowedLatenessMs {
		e.truth.LateDuplicates++
	}
}

func (e *emitter) writeMalformed() {
	e.buf = e.appendMalformed(e.buf[:0])
	e.write(e.buf)
	e.truth.Malformed++
}

func (e *emitter) write(line []byte) {
	e.truth.Lines++
	if e.err != nil {
		return
	}
	if _, err := e.w.Write(line); err != nil {
		e.err = err
	}
}

// appendRecord encodes c as one JSON line. Most records carry disposition
// and duration; some carry only answer/end times, from which the pipeline
// must derive both; some carry both.
func (e *emitter) appendRecord(b []byte, c *call) []byte {
	r, cc := e.r, e.cfg.CountryCode
	b = append(b, '{')
	if r.IntN(50) != 0 {
		b = e.appendCallID(b, uint64(c.id))
	}
	b = numberField(b, "caller", cc, c.caller, randomForm(r))
	b = numberField(b, "callee", cc, c.callee, randomForm(r))
	style := r.IntN(100)
	withDisposition, withTimes := style < 85, style >= 70
	tf := randomTimeForm(r)
	if !withDisposition {
		tf = randomExactTimeForm(r)
	}
	b = timeField(b, "start_time", c.start, tf)
	if withTimes {
		b = appendCallTimes(b, c, tf)
	}
	if withDisposition {
		b = secondsField(b, "duration", int64(c.talk))
	}
	if withDisposition || r.IntN(3) == 0 {
		b = secondsField(b, "ring_duration", int64(c.ring))
	}
	if withDisposition {
		b = stringField(b, "disposition", dispositionNames[c.disp])
	}
	if r.IntN(5) < 4 {
		b = intField(b, "cause", int64(c.cause))
	}
	b = e.appendNetwork(b, c.caller)
	return append(b, '}', '\n')
}

// appendCallTimes writes answer_time (answered calls only) and end_time.
func appendCallTimes(b []byte, c *call, tf timeForm) []byte {
	answer := c.start + int64(c.ring)
	if c.answered() {
		b = timeField(b, "answer_time", answer, tf)
	}
	return timeField(b, "end_time", answer+int64(c.talk), tf)
}

var switchIDs = [...]string{"BJ-MSC-01", "BJ-MSC-02", "SH-MSC-01", "GZ-MSC-03", "SZ-MSC-01", "CD-MSC-02", "WH-IMS-01", "HZ-IMS-02"}

var attestations = [...]string{"A", "B", "C"}

// appendNetwork writes the optional network fields. IMSI and IMEI derive
// from the caller so they are stable per subscriber, as on a real network.
func (e *emitter) appendNetwork(b []byte, caller uint64) []byte {
	r := e.r
	if r.IntN(10) != 0 {
		b = stringField(b, "switch_id", switchIDs[r.IntN(len(switchIDs))])
	}
	if r.IntN(2) == 0 {
		b = appendDigitsField(b, "trunk_id", "TG", uint64(r.IntN(1000)), 3)
	}
	h := splitmix64(caller ^ e.idMix)
	if r.IntN(5) < 3 {
		b = appendDigitsField(b, "imsi", "46000", h%10_000_000_000, 10)
	}
	if r.IntN(5) < 2 {
		b = appendDigitsField(b, "imei", "35", (h>>7)%10_000_000_000_000, 13)
	}
	if r.IntN(2) == 0 {
		b = appendDigitsField(b, "cell_id", "460-00-", uint64(r.IntN(65536)), 5)
		b = append(b[:len(b)-1], '-')
		b = appendPadded(b, uint64(r.IntN(268435456)), 9)
		b = append(b, '"')
	}
	if r.IntN(10) < 3 {
		b = stringField(b, "attestation", attestations[r.IntN(len(attestations))])
	}
	return b
}

// appendCallID writes the call_id of the record with index id. Ids are
// unique because splitmix64 is a bijection.
func (e *emitter) appendCallID(b []byte, id uint64) []byte {
	b = append(key(b, "call_id"), '"')
	b = appendHex16(b, splitmix64(e.idMix+id))
	return append(b, '"')
}

// appendDigitsField writes `"name":"<prefix><v zero-padded to width>"`.
func appendDigitsField(b []byte, name, prefix string, v uint64, width int) []byte {
	b = append(key(b, name), '"')
	b = append(b, prefix...)
	b = appendPadded(b, v, width)
	return append(b, '"')
}
