// Package decode turns Kafka message values (one JSON CDR each) into
// normalised schemas.CDR values, or into a reason for rejecting them. It
// parses without reflection because it runs once per record on the hot
// path.
package decode

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"
	"unsafe"

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
type Decoder struct {
	numbering Numbering
	// maxFuture is how far past the wall clock a start_time may be.
	maxFuture time.Duration
	sc        scanner
	f         fields // reused for every record
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
	if err := d.sc.object(raw, d.f.collect); err != nil {
		return schemas.CDR{}, err
	}
	if d.f.typeErr != nil {
		return schemas.CDR{}, d.f.typeErr
	}
	return d.build(&d.f, now)
}

// collect takes one member of the object, keeping the first type error
// for after the whole record was checked for syntax.
func (f *fields) collect(key []byte, v value) error {
	if err := f.set(key, v); err != nil && f.typeErr == nil {
		f.typeErr = err
	}
	return nil
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
	if c.Caller, err = d.numbering.Normalize(f.caller); err != nil {
		return c, fmt.Errorf("caller: %w", err)
	}
	if c.Callee, err = d.numbering.Normalize(f.callee); err != nil {
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
	if c.CallID = string(f.callID); c.CallID != "" {
		c.Key = c.CallID
	} else {
		c.Key = contentKey(&c)
	}
	for _, p := range []struct {
		name string
		v    value
		dst  *string
	}{{"switch_id", f.switchID, &c.SwitchID}, {"trunk_id", f.trunkID, &c.TrunkID}, {"imsi", f.imsi, &c.IMSI},
		{"imei", f.imei, &c.IMEI}, {"cell_id", f.cellID, &c.CellID}, {"attestation", f.attestation, &c.Attestation}} {
		if *p.dst, err = plain(p.name, p.v); err != nil {
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

// seconds reads a non-negative number of seconds (a JSON number, or a
// string holding one, which some mediation systems emit).
func seconds(name string, v value) (float64, error) {
	if v.kind != kindNumber && v.kind != kindString {
		return 0, fmt.Errorf("field %s: want a number, got a %s", name, v.kind)
	}
	n, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(v.raw), len(v.raw)), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, fmt.Errorf("field %s: %q is not a number", name, v.raw)
	}
	if n < 0 {
		return 0, fmt.Errorf("field %s: %v is negative", name, n)
	}
	if n > maxCallSeconds {
		return 0, fmt.Errorf("field %s: %v seconds is more than two days", name, n)
	}
	return n, nil
}

// epochMillisFrom separates epoch seconds from epoch milliseconds: 1e11
// seconds is the year 5138, 1e11 milliseconds is 1973.
const epochMillisFrom = 1e11

// timeLayouts are the text forms of a time, most common first.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"}

// parseTime reads RFC 3339 text or a Unix epoch number in seconds or
// milliseconds.
func parseTime(name string, v value) (time.Time, error) {
	switch v.kind {
	case kindString:
		// time.Parse keeps no reference to its input once it returns, so
		// the bytes are read in place instead of copied.
		s := unsafe.String(unsafe.SliceData(v.raw), len(v.raw))
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("field %s: %q is not an RFC 3339 time", name, v.raw)
	case kindNumber:
		n, err := strconv.ParseFloat(string(v.raw), 64)
		if err != nil || n < 0 || n > 1e14 {
			return time.Time{}, fmt.Errorf("field %s: %s is not a Unix time", name, v.raw)
		}
		if n >= epochMillisFrom {
			return time.UnixMilli(int64(n)).UTC(), nil
		}
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("field %s: want a time, got a %s", name, v.kind)
}

// plain reads an optional pass-through field; numbers are kept as text
// because switches disagree on whether cell ids are numbers.
func plain(name string, v value) (string, error) {
	switch v.kind {
	case 0:
		return "", nil
	case kindString, kindNumber:
		return string(v.raw), nil
	}
	return "", fmt.Errorf("field %s: want a string, got a %s", name, v.kind)
}

// contentKey derives a stable de-duplication key for records without a
// call_id, from what identifies a call: both numbers, its start and talk.
func contentKey(c *schemas.CDR) string {
	h := fnv.New64a()
	var b [8]byte
	h.Write([]byte(c.Caller))
	h.Write([]byte{0})
	h.Write([]byte(c.Callee))
	putUint64(b[:], uint64(c.StartTime.UnixNano()))
	h.Write(b[:])
	putUint64(b[:], math.Float64bits(c.Duration))
	h.Write(b[:])
	return "h:" + hex.EncodeToString(h.Sum(nil))
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}
