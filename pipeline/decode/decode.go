// Package decode turns Kafka message values (one JSON CDR each) into
// normalised schemas.CDR values, or into a reason for rejecting them. It
// parses without reflection because it runs once per record on the hot
// path.
package decode

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// Limits on times a CDR may carry. Anything outside is a broken clock or
// a broken record, and would poison event-time windows.
var (
	// MinTime is the earliest start_time accepted.
	MinTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxCallSeconds bounds durations: no single call lasts two days.
const maxCallSeconds = 2 * 24 * 3600

// Decoder decodes JSON CDRs. A Decoder is not safe for concurrent use;
// give each goroutine its own.
//
// The strings of a decoded CDR (numbers, ids, keys, network fields) are
// carved from large chunks the Decoder owns, so decoding a record does not
// allocate on the steady path. They stay valid for as long as they are
// referenced, on any goroutine (a chunk is never written again where it
// was handed out, nor reused; the GC frees it after its last string), so
// records may be kept and passed on freely. The cost of that rule: any
// string kept long-term keeps its whole 64 KiB chunk alive, so state that
// outlives the sink batch should hold its own copy (strings.Clone) or, as
// the engine does, a NumberKey.
type Decoder struct {
	numbering Numbering
	// maxFuture is how far past the wall clock a start_time may be.
	maxFuture time.Duration
	sc        scanner
	f         fields // reused for every record
	arena     arena
}

// NewDecoder returns a decoder normalising numbers with countryCode and
// rejecting start times more than maxFuture ahead of the clock.
func NewDecoder(countryCode string, maxFuture time.Duration) *Decoder {
	return &Decoder{numbering: Numbering{CountryCode: countryCode}, maxFuture: maxFuture}
}

// fields collects raw field values of one record before validation.
type fields struct {
	callID, caller, callee                             []byte
	start, answer, end                                 value
	duration, ring, disposition, cause                 value
	switchID, trunkID, imsi, imei, cellID, attestation value
	hasCaller, hasCallee                               bool
	// typeErr is the first field of the wrong JSON type.
	typeErr error
}

// Decode parses and validates one record. now is the wall clock used to
// reject start times in the far future.
func (d *Decoder) Decode(raw []byte, now time.Time) (schemas.CDR, error) {
	d.f = fields{}
	if err := d.sc.object(raw, &d.f); err != nil {
		return schemas.CDR{}, err
	}
	if d.f.typeErr != nil {
		return schemas.CDR{}, d.f.typeErr
	}
	return d.build(&d.f, now)
}

// collect takes one member of the object, keeping the first type error
// for after the whole record was checked for syntax.
func (f *fields) collect(key []byte, v value) {
	if err := f.set(key, v); err != nil && f.typeErr == nil {
		f.typeErr = err
	}
}

// set records one field; it only checks JSON types, values come later.
// Switching on string(key) does not allocate.
func (f *fields) set(key []byte, v value) error {
	str := func(dst *[]byte) error {
		if v.kind == kindNull {
			return nil
		}
		if v.kind != kindString {
			return fmt.Errorf("field %s: want a string, got a %s", key, v.kind)
		}
		*dst = v.raw
		return nil
	}
	anyv := func(dst *value) error {
		if v.kind != kindNull {
			*dst = v
		}
		return nil
	}
	switch string(key) {
	case "call_id":
		return str(&f.callID)
	case "caller":
		f.hasCaller = v.kind != kindNull
		return str(&f.caller)
	case "callee":
		f.hasCallee = v.kind != kindNull
		return str(&f.callee)
	case "start_time":
		return anyv(&f.start)
	case "answer_time":
		return anyv(&f.answer)
	case "end_time":
		return anyv(&f.end)
	case "duration":
		return anyv(&f.duration)
	case "ring_duration":
		return anyv(&f.ring)
	case "disposition":
		return anyv(&f.disposition)
	case "cause":
		return anyv(&f.cause)
	case "switch_id":
		return anyv(&f.switchID)
	case "trunk_id":
		return anyv(&f.trunkID)
	case "imsi":
		return anyv(&f.imsi)
	case "imei":
		return anyv(&f.imei)
	case "cell_id":
		return anyv(&f.cellID)
	case "attestation":
		return anyv(&f.attestation)
	}
	return nil
}

func (d *Decoder) build(f *fields, now time.Time) (c schemas.CDR, err error) {
	if !f.hasCaller {
		return c, errors.New("missing caller")
	}
	if !f.hasCallee {
		return c, errors.New("missing callee")
	}
	if c.Caller, err = d.number(f.caller); err != nil {
		return c, fmt.Errorf("caller: %w", err)
	}
	if c.Callee, err = d.number(f.callee); err != nil {
		return c, fmt.Errorf("callee: %w", err)
	}
	if f.start.kind == 0 {
		return c, errors.New("missing start_time")
	}
	if c.StartTime, err = parseTime("start_time", f.start); err != nil {
		return c, err
	}
	if c.StartTime.Before(MinTime) {
		return c, fmt.Errorf("start_time %s is before %s", c.StartTime.Format(time.RFC3339), MinTime.Format("2006-01-02"))
	}
	if limit := now.Add(d.maxFuture); c.StartTime.After(limit) {
		return c, fmt.Errorf("start_time %s is more than %s in the future", c.StartTime.Format(time.RFC3339), d.maxFuture)
	}
	if err := d.times(f, &c); err != nil {
		return c, err
	}
	if err := d.talk(f, &c); err != nil {
		return c, err
	}
	if c.CallID = d.arena.clone(f.callID); c.CallID != "" {
		c.Key = c.CallID
	} else {
		c.Key = d.contentKey(&c)
	}
	// Names live apart from the destinations: an error message that
	// escapes with a name would otherwise move c to the heap with them.
	dst := [...]*string{&c.SwitchID, &c.TrunkID, &c.IMSI, &c.IMEI, &c.CellID, &c.Attestation}
	src := [...]value{f.switchID, f.trunkID, f.imsi, f.imei, f.cellID, f.attestation}
	for i := range dst {
		if *dst[i], err = d.plain(networkFields[i], src[i]); err != nil {
			return c, err
		}
	}
	return c, nil
}

// times parses answer and end times and checks their order.
func (d *Decoder) times(f *fields, c *schemas.CDR) (err error) {
	if f.answer.kind != 0 {
		if c.AnswerTime, err = parseTime("answer_time", f.answer); err != nil {
			return err
		}
		if c.AnswerTime.Before(c.StartTime) {
			return errors.New("answer_time is before start_time")
		}
	}
	if f.end.kind != 0 {
		if c.EndTime, err = parseTime("end_time", f.end); err != nil {
			return err
		}
		if c.EndTime.Before(c.StartTime) || (!c.AnswerTime.IsZero() && c.EndTime.Before(c.AnswerTime)) {
			return errors.New("end_time is before start_time or answer_time")
		}
		if c.EndTime.Sub(c.StartTime) > maxCallSeconds*time.Second {
			return errors.New("call lasts more than two days")
		}
	}
	return nil
}

// talk fills duration, ring duration, disposition and cause, deriving
// what the record leaves out.
func (d *Decoder) talk(f *fields, c *schemas.CDR) (err error) {
	if f.cause.kind != 0 {
		n, err := seconds("cause", f.cause)
		if err != nil {
			return err
		}
		if n != math.Trunc(n) || n > 127 {
			return fmt.Errorf("cause %v is not a Q.850 cause", n)
		}
		c.Cause = uint16(n)
	}
	if f.disposition.kind != 0 {
		if f.disposition.kind != kindString {
			return fmt.Errorf("field disposition: want a string, got a %s", f.disposition.kind)
		}
		var ok bool
		if c.Disposition, ok = schemas.ParseDisposition(string(f.disposition.raw)); !ok {
			return fmt.Errorf("unknown disposition %q", f.disposition.raw)
		}
	}
	if f.duration.kind != 0 {
		if c.Duration, err = seconds("duration", f.duration); err != nil {
			return err
		}
	} else if !c.AnswerTime.IsZero() && !c.EndTime.IsZero() {
		c.Duration = c.EndTime.Sub(c.AnswerTime).Seconds()
	}
	if f.ring.kind != 0 {
		if c.RingDuration, err = seconds("ring_duration", f.ring); err != nil {
			return err
		}
	} else if !c.AnswerTime.IsZero() {
		c.RingDuration = c.AnswerTime.Sub(c.StartTime).Seconds()
	} else if !c.EndTime.IsZero() {
		c.RingDuration = c.EndTime.Sub(c.StartTime).Seconds()
	}
	if c.Disposition == schemas.DispositionUnknown {
		c.Disposition = derive(c)
	}
	if c.Disposition != schemas.Answered {
		c.Duration = 0
	}
	return nil
}

// derive guesses a disposition from talk time and the release cause.
func derive(c *schemas.CDR) schemas.Disposition {
	if c.Duration > 0 || !c.AnswerTime.IsZero() {
		return schemas.Answered
	}
	switch c.Cause {
	case 17:
		return schemas.Busy
	case 18, 19:
		return schemas.NoAnswer
	case 21:
		return schemas.Rejected
	case 16, 31:
		return schemas.Cancelled
	case 0:
		return schemas.NoAnswer
	}
	return schemas.Failed
}

// networkFields names the pass-through fields build copies, in its order.
var networkFields = [...]string{"switch_id", "trunk_id", "imsi", "imei", "cell_id", "attestation"}

// plain reads an optional pass-through field into the arena; numbers
// are kept as text because switches disagree on whether cell ids are
// numbers.
func (d *Decoder) plain(name string, v value) (string, error) {
	switch v.kind {
	case 0:
		return "", nil
	case kindString, kindNumber:
		return d.arena.clone(v.raw), nil
	}
	return "", fmt.Errorf("field %s: want a string, got a %s", name, v.kind)
}

// number normalises a phone number straight into the arena.
func (d *Decoder) number(s []byte) (string, error) {
	d.arena.reserve(maxE164Len)
	from := len(d.arena.buf)
	var err error
	if d.arena.buf, err = d.numbering.appendE164(d.arena.buf, s); err != nil {
		return "", err
	}
	return d.arena.since(from), nil
}

// FNV-1a, 64 bit (hash/fnv), computed inline: the hash.Hash interface,
// Sum and hex.EncodeToString would each allocate.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime64
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	for i := range 8 {
		h = (h ^ ((v >> (56 - 8*i)) & 0xff)) * fnvPrime64
	}
	return h
}

// contentKeyLen is the length of a content key: "h:" and 16 hex digits.
const contentKeyLen = 2 + 16

// contentKey derives a stable de-duplication key for records without a
// call_id, from what identifies a call: both numbers, its start and talk.
// The key is stored in ClickHouse (call_key), so its bytes must never
// change: it is "h:" and the hex of FNV-1a 64 over caller, a zero byte,
// callee, then start (Unix ns) and talk (float64 bits), big-endian.
func (d *Decoder) contentKey(c *schemas.CDR) string {
	h := fnvString(fnvOffset64, c.Caller)
	h *= fnvPrime64 // the zero byte between the numbers: h ^ 0 == h
	h = fnvString(h, c.Callee)
	h = fnvUint64(h, uint64(c.StartTime.UnixNano()))
	h = fnvUint64(h, math.Float64bits(c.Duration))
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], h)
	d.arena.reserve(contentKeyLen)
	from := len(d.arena.buf)
	d.arena.buf = hex.AppendEncode(append(d.arena.buf, "h:"...), sum[:])
	return d.arena.since(from)
}
