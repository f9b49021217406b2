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
	idMix uint64 // seeds malformed lines' ids and the subscribers' IMSIs
	enc   *Encoder
	// perSwitch counts the distinct records each switch wrote.
	perSwitch [NumSwitches]int64

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

func newEmitter(cfg Config, r *rand.Rand, w *bufio.Writer, subs []uint64, perSwitch [NumSwitches]int64) *emitter {
	return &emitter{
		cfg:   cfg,
		r:     r,
		w:     w,
		subs:  subs,
		idMix: splitmix64(uint64(cfg.Seed)),
		enc:   NewEncoder(cfg.CountryCode, cfg.Seed, perSwitch),
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
	sw := switchOf(e.cfg.CountryCode, c)
	e.buf = e.appendRecord(e.buf[:0], sw, c)
	e.write(e.buf)
	e.account(c)
	e.perSwitch[sw]++
	if c.flags&flagWithheld != 0 {
		e.truth.Withheld++
		if fleet[sw].Withheld.noNumber() {
			e.truth.WithheldNoNumber++
		}
	}
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

// appendRecord encodes c as one JSON line, as its switch writes it, with
// the network fields of the caller's line after the switch's own.
func (e *emitter) appendRecord(b []byte, sw int, c *call) []byte {
	rec := Record{
		Seq: uint64(c.id), Start: c.start, Ring: int64(c.ring), Talk: int64(c.talk), Disp: c.disp, Cause: c.cause,
		Caller: Number(c.caller), Callee: nationalNumber(e.cfg.CountryCode, c.callee), Withheld: c.flags&flagWithheld != 0,
	}
	if c.flags&flagForeign == 0 {
		rec.Caller = nationalNumber(e.cfg.CountryCode, c.caller)
	}
	b = e.enc.AppendCDR(append(b, '{'), sw, &rec, e.r)
	b = e.appendNetwork(b, sw, c)
	return append(b, '}', '\n')
}

var attestations = [...]string{"A", "B", "C"}

// appendNetwork writes the optional network fields a switch of its kind
// knows: trunk group everywhere, the subscriber's IMSI, IMEI and cell in
// the mobile core, STIR/SHAKEN attestation on SIP. IMSI and IMEI derive
// from the caller so they are stable per subscriber, as on a real network.
func (e *emitter) appendNetwork(b []byte, sw int, c *call) []byte {
	r, kind := e.r, fleet[sw].Kind
	if kind == KindGateway {
		return appendDigitsField(b, "trunk_id", "IGW-", uint64(1+r.IntN(8)), 2)
	}
	if r.IntN(2) == 0 {
		b = appendDigitsField(b, "trunk_id", "TG", uint64(r.IntN(1000)), 3)
	}
	if kind == KindMSC || kind == KindIMS {
		h := splitmix64(c.caller ^ e.idMix)
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
	}
	if (kind == KindIMS || kind == KindSBC) && r.IntN(10) < 3 {
		b = stringField(b, "attestation", attestations[r.IntN(len(attestations))])
	}
	return b
}

// malformedIDTag puts malformed lines' call ids in a domain of their own:
// no valid record's hashed id (Encoder.hashID) has a switch this high.
const malformedIDTag = 0xff << 40

// appendMalformedID writes the call_id of the n-th malformed line.
func (e *emitter) appendMalformedID(b []byte, n uint64) []byte {
	b = append(key(b, "call_id"), '"')
	b = appendHex16(b, splitmix64(e.idMix+malformedIDTag+n))
	return append(b, '"')
}

// appendDigitsField writes `"name":"<prefix><v zero-padded to width>"`.
func appendDigitsField(b []byte, name, prefix string, v uint64, width int) []byte {
	b = append(key(b, name), '"')
	b = append(b, prefix...)
	b = appendPadded(b, v, width)
	return append(b, '"')
}
