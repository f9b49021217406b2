// Package decode turns Kafka message values (one JSON CDR each) into
// normalised schemas.CDR values, or into a reason for rejecting them. It
// parses without reflection because it runs once per record on the hot
// path.
package decode

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
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

// Tolerance is how far answer_time and end_time may fall before the times
// they follow and still be read as equal to them. A switch that writes
// start_time with milliseconds and the other times in whole seconds
// (truncated) makes a call that failed at once "end" up to 999 ms before
// it started; such a record is valid.
const Tolerance = time.Second

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
	// plans are the numbering plans of switches in other countries
	// (Options.SwitchPlans), by switch_id.
	plans map[string]Numbering
	// maxFuture is how far past the wall clock a start_time may be.
	maxFuture time.Duration
	zones     zones
	sc        scanner
	f         fields // reused for every record
	arena     arena
}

// Options configure a Decoder.
type Options struct {
	// Numbering is the home plan numbers are normalised with.
	Numbering Numbering
	// Zone is the zone of times written without an offset (nil: UTC);
	// SwitchZones override it per switch_id.
	Zone        *time.Location
	SwitchZones map[string]*time.Location
	// MaxFuture is how far ahead of the wall clock a start_time may be.
	MaxFuture time.Duration
	// SwitchPlans override Numbering per switch_id: switches abroad write
	// their own country's national and international prefixes.
	SwitchPlans map[string]Numbering
}

// NewDecoder returns a decoder with o's settings.
func NewDecoder(o Options) *Decoder {
	return &Decoder{numbering: o.Numbering, plans: o.SwitchPlans, maxFuture: o.MaxFuture, zones: newZones(o.Zone, o.SwitchZones)}
}

// OptionsFrom takes a Decoder's settings from the configuration.
func OptionsFrom(c config.Config) Options {
	def, per := c.Input.Zones()
	zones := make(map[string]*time.Location, len(per))
	for _, sz := range per {
		zones[sz.Switch] = sz.Zone
	}
	var plans map[string]Numbering
	for _, sp := range c.Numbering.Plans() {
		if plans == nil {
			plans = map[string]Numbering{}
		}
		plans[sp.Switch] = Numbering{CountryCode: sp.CountryCode, NationalPrefix: sp.NationalPrefix, InternationalPrefixes: sp.InternationalPrefixes}
	}
	return Options{
		Numbering: Numbering{CountryCode: c.Numbering.CountryCode, NationalPrefix: c.Numbering.NationalPrefix,
			InternationalPrefixes: c.Numbering.InternationalPrefixes},
		Zone: def, SwitchZones: zones, MaxFuture: c.Window.MaxFuture, SwitchPlans: plans,
	}
}

// fields collects raw field values of one record before validation.
type fields struct {
	callID, caller, callee                             []byte
	start, answer, end                                 value
	duration, ring, disposition, cause                 value
	switchID, trunkID, imsi, imei, cellID, attestation value
	callerNOA, calleeNOA, presentation                 value
	hasCaller, hasCallee                               bool
	// typeErr is the first field of the wrong JSON type.
	typeErr error
}

// Decode parses and validates one record. now is the wall clock used to
// reject start times in the far future.
func (d *Decoder) Decode(raw []byte, now time.Time) (schemas.CDR, error) {
	d.f = fields{}
	if err := d.sc.object(raw, &d.f); err != nil {
		if ReasonOf(err) == "" {
			err = reject(ReasonBrokenJSON, err)
		}
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
			return rejectf(ReasonWrongType, "field %s: want a string, got a %s", key, v.kind)
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
	case "caller_noa":
		return anyv(&f.callerNOA)
	case "callee_noa":
		return anyv(&f.calleeNOA)
	case "caller_presentation":
		return anyv(&f.presentation)
	}
	return nil
}

func (d *Decoder) build(f *fields, now time.Time) (c schemas.CDR, err error) {
	if !f.hasCaller {
		return c, rejectf(ReasonMissingField, "missing caller")
	}
	if !f.hasCallee {
		return c, rejectf(ReasonMissingField, "missing callee")
	}
	if err := d.numbers(f, &c); err != nil {
		return c, err
	}
	if err := d.times(f, &c, now); err != nil {
		return c, err
	}
	if err := d.talk(f, &c); err != nil {
		return c, err
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
	if c.CallID = d.arena.clone(f.callID); c.CallID != "" {
		c.Key = d.callKey(c.SwitchID, c.CallID)
	} else {
		c.Key = d.contentKey(&c)
	}
	return c, nil
}

// numbers normalises caller and callee with their natures of address, and
// recognises a withheld caller ID.
func (d *Decoder) numbers(f *fields, c *schemas.CDR) (err error) {
	callerNOA, err := noaField("caller_noa", f.callerNOA)
	if err != nil {
		return err
	}
	calleeNOA, err := noaField("callee_noa", f.calleeNOA)
	if err != nil {
		return err
	}
	if c.Withheld, err = presentationField(f.presentation); err != nil {
		return err
	}
	plan := &d.numbering
	if len(d.plans) > 0 {
		if p, ok := d.plans[string(f.switchID.raw)]; ok {
			plan = &p
		}
	}
	switch {
	case withheldWord(f.caller):
		c.Withheld = true // no number came with it: Caller stays ""
	case len(f.caller) == 0 && c.Withheld:
	default:
		if c.Caller, err = d.number(plan, f.caller, callerNOA); err != nil {
			return reject(ReasonBadNumber, fmt.Errorf("caller: %w", err))
		}
	}
	if c.Callee, err = d.number(plan, f.callee, calleeNOA); err != nil {
		return reject(ReasonBadNumber, fmt.Errorf("callee: %w", err))
	}
	return nil
}

// withheldWords are what switches write for the caller when the caller
// ID was withheld or is not available (compared ignoring case).
var withheldWords = []string{"anonymous", "restricted", "unavailable", "private", "withheld", "unknown"}

func withheldWord(b []byte) bool {
	for _, w := range withheldWords {
		if asciiEqualFold(b, w) {
			return true
		}
	}
	return false
}

// noaField reads caller_noa or callee_noa.
func noaField(name string, v value) (NOA, error) {
	switch v.kind {
	case 0:
		return NOAUnknown, nil
	case kindString:
		if n, ok := ParseNOA(v.raw); ok {
			return n, nil
		}
		return NOAUnknown, rejectf(ReasonBadNOA, "field %s: %q is not international, national, subscriber or unknown", name, v.raw)
	}
	return NOAUnknown, rejectf(ReasonWrongType, "field %s: want a string, got a %s", name, v.kind)
}

// presentationField reads caller_presentation: allowed, restricted (the
// caller withheld its ID) or unavailable (the network could not get it).
func presentationField(v value) (withheld bool, err error) {
	switch v.kind {
	case 0:
		return false, nil
	case kindString:
		switch {
		case len(v.raw) == 0, asciiEqualFold(v.raw, "allowed"):
			return false, nil
		case asciiEqualFold(v.raw, "restricted"), asciiEqualFold(v.raw, "unavailable"):
			return true, nil
		}
		return false, rejectf(ReasonBadPresentation, "field caller_presentation: %q is not allowed, restricted or unavailable", v.raw)
	}
	return false, rejectf(ReasonWrongType, "field caller_presentation: want a string, got a %s", v.kind)
}

// times parses the start, answer and end times and checks their order.
// Times without an offset are in the zone of the record's switch.
func (d *Decoder) times(f *fields, c *schemas.CDR, now time.Time) (err error) {
	if f.start.kind == 0 {
		return rejectf(ReasonMissingField, "missing start_time")
	}
	z := local{&d.zones, f.switchID.raw}
	if c.StartTime, err = parseTime("start_time", f.start, z); err != nil {
		return err
	}
	if c.StartTime.Before(MinTime) {
		return rejectf(ReasonTooOld, "start_time %s is before %s", c.StartTime.Format(time.RFC3339), MinTime.Format("2006-01-02"))
	}
	if limit := now.Add(d.maxFuture); c.StartTime.After(limit) {
		return rejectf(ReasonInFuture, "start_time %s is more than %s in the future", c.StartTime.Format(time.RFC3339), d.maxFuture)
	}
	if f.answer.kind != 0 {
		if c.AnswerTime, err = parseTime("answer_time", f.answer, z); err != nil {
			return err
		}
		if c.AnswerTime, err = notBefore(c.AnswerTime, c.StartTime, "answer_time is before start_time"); err != nil {
			return err
		}
	}
	if f.end.kind != 0 {
		if c.EndTime, err = parseTime("end_time", f.end, z); err != nil {
			return err
		}
		after := c.StartTime
		if !c.AnswerTime.IsZero() {
			after = c.AnswerTime
		}
		if c.EndTime, err = notBefore(c.EndTime, after, "end_time is before start_time or answer_time"); err != nil {
			return err
		}
		if c.EndTime.Sub(c.StartTime) > maxCallSeconds*time.Second {
			return rejectf(ReasonBadDuration, "call lasts more than two days")
		}
	}
	return nil
}

// notBefore returns t, or floor when t is less than Tolerance before it
// (times of different precision in one record); earlier is an error.
func notBefore(t, floor time.Time, msg string) (time.Time, error) {
	if !t.Before(floor) {
		return t, nil
	}
	if floor.Sub(t) < Tolerance {
		return floor, nil
	}
	return t, rejectf(ReasonTimeOrder, "%s by %s", msg, floor.Sub(t))
}

// talk fills duration, ring duration, disposition and cause, deriving
// what the record leaves out.
func (d *Decoder) talk(f *fields, c *schemas.CDR) (err error) {
	if f.cause.kind != 0 {
		n, err := seconds("cause", f.cause, ReasonBadCause)
		if err != nil {
			return err
		}
		if n != math.Trunc(n) || n > 127 {
			return rejectf(ReasonBadCause, "cause %v is not a Q.850 cause", n)
		}
		c.Cause = uint16(n)
	}
	if f.disposition.kind != 0 {
		if f.disposition.kind != kindString {
			return rejectf(ReasonWrongType, "field disposition: want a string, got a %s", f.disposition.kind)
		}
		var ok bool
		if c.Disposition, ok = schemas.ParseDisposition(string(f.disposition.raw)); !ok {
			return rejectf(ReasonBadDisposition, "unknown disposition %q", f.disposition.raw)
		}
	}
	if f.duration.kind != 0 {
		if c.Duration, err = seconds("duration", f.duration, ReasonBadDuration); err != nil {
			return err
		}
	} else if !c.AnswerTime.IsZero() && !c.EndTime.IsZero() {
		c.Duration = c.EndTime.Sub(c.AnswerTime).Seconds()
	}
	if f.ring.kind != 0 {
		if c.RingDuration, err = seconds("ring_duration", f.ring, ReasonBadDuration); err != nil {
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
	return "", rejectf(ReasonWrongType, "field %s: want a string, got a %s", name, v.kind)
}

// number normalises a phone number in plan straight into the arena.
func (d *Decoder) number(plan *Numbering, s []byte, noa NOA) (string, error) {
	d.arena.reserve(maxE164Len)
	from := len(d.arena.buf)
	var err error
	if d.arena.buf, err = plan.appendE164(d.arena.buf, s, noa); err != nil {
		return "", err
	}
	return d.arena.since(from), nil
}

// callKey is the de-duplication key of a record with a call id: the
// switch and the id, because switches number their calls each on its
// own (per-switch counters, Asterisk's uniqueid) and the same id from
// two switches is two calls. It is stored (call_key), so its form must
// never change: the switch id with '%' and '/' escaped as %25 and %2F,
// a '/', then the call id; just the call id when there is no switch id.
func (d *Decoder) callKey(sw, id string) string {
	if sw == "" {
		return id
	}
	d.arena.reserve(3*len(sw) + 1 + len(id))
	from := len(d.arena.buf)
	for i := range len(sw) {
		switch c := sw[i]; c {
		case '%':
			d.arena.buf = append(d.arena.buf, "%25"...)
		case '/':
			d.arena.buf = append(d.arena.buf, "%2F"...)
		default:
			d.arena.buf = append(d.arena.buf, c)
		}
	}
	d.arena.buf = append(append(d.arena.buf, '/'), id...)
	return d.arena.since(from)
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
