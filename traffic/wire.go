package traffic

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Number is an E.164 number held as its digits, country code first, with
// the '+' implied: +8613912345678 is Number(8613912345678). E.164 numbers
// have at most 15 digits and never start with 0, so the value is exact.
type Number uint64

// ParseNumber reads an E.164 number written with a leading '+'.
func ParseNumber(s string) (Number, error) {
	if len(s) < 4 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return 0, fmt.Errorf("number %q is not E.164 with a leading '+'", s)
	}
	v, err := strconv.ParseUint(s[1:], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("number %q is not E.164 with a leading '+'", s)
	}
	return Number(v), nil
}

// String returns the number as E.164 with a leading '+'.
func (n Number) String() string { return "+" + strconv.FormatUint(uint64(n), 10) }

// pow10 holds 10^0 to 10^19.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// ndigits is the number of decimal digits of v (1 for 0): log10 from the
// bit length (1233/4096 ≈ log10 2), then one comparison.
func ndigits(v uint64) int {
	d := bits.Len64(v) * 1233 >> 12
	if d < len(pow10) && v >= pow10[d] {
		d++
	}
	return max(d, 1)
}

// nationalNumber is the home number with country code cc and national
// significant number nsn.
func nationalNumber(cc int, nsn uint64) Number {
	return Number(uint64(cc)*pow10[ndigits(nsn)] + nsn)
}

// Disposition is how a call ended; the values index its names on the wire.
type Disposition uint8

// Dispositions, as the CDR contract spells them.
const (
	DispAnswered Disposition = iota
	DispNoAnswer
	DispBusy
	DispFailed
	DispRejected
	DispCancelled
)

var dispositionNames = [...]string{"answered", "no_answer", "busy", "failed", "rejected", "cancelled"}

// String returns the disposition as written in the disposition field.
func (d Disposition) String() string { return dispositionNames[d] }

// deriveDisposition is the contract's rule for a record without a
// disposition field (docs/cdr-format.md).
func deriveDisposition(answered, hasCause bool, cause uint8) Disposition {
	switch {
	case answered:
		return DispAnswered
	case !hasCause:
		return DispNoAnswer
	}
	switch cause {
	case 17:
		return DispBusy
	case 18, 19:
		return DispNoAnswer
	case 21:
		return DispRejected
	case 16, 31:
		return DispCancelled
	case 0:
		return DispNoAnswer
	}
	return DispFailed
}

// Record is one call as it really happened, for a switch of the fleet to
// write: true times, true talk time and the caller's real number.
type Record struct {
	// Seq is the call's place among its switch's calls, counted from 0 in
	// start order; call ids derive from it.
	Seq uint64
	// Start is the true start, Unix milliseconds.
	Start int64
	// Ring is the time from attempt to answer or release, Talk the talk
	// time (0 unless answered), both in milliseconds.
	Ring, Talk int64
	Disp       Disposition
	Cause      uint8
	Caller     Number
	Callee     Number
	// Withheld says the caller withheld its caller ID.
	Withheld bool
	// Trunk is written as trunk_id unless empty.
	Trunk string
}

// Observed is a record as the pipeline reads it back from what a switch
// wrote: times on the switch's clock and at its precision, the talk time
// it wrote or that its times give, the derived disposition.
type Observed struct {
	// Start is start_time as written, Unix milliseconds.
	Start int64
	// Ring and Talk are in milliseconds, as written or derived (answer
	// and end up to a second before the start count as equal to it).
	Ring, Talk int64
	Disp       Disposition
	// Cause is the Q.850 cause as written: 0 on a switch that writes none
	// (Asterisk's cdr_csv has no cause), which then cannot show a call to
	// an unallocated number.
	Cause uint8
	// Caller is 0 when the caller ID was withheld and no number written.
	Caller   Number
	Withheld bool
}

// Encoder writes records in the dialects of the fleet's switches. It
// knows, per switch, where the switch's call counter stands, so it is made
// for one stream whose per-switch record counts are known in advance; it
// keeps a zone cache per switch, so it is not safe for concurrent use.
// Appending a record does not allocate.
type Encoder struct {
	cc       uint64 // home country code
	ccDigits int
	mix      uint64 // seeds hashed ids, so other seeds give other ids
	records  [NumSwitches]int64
	base     [NumSwitches]uint64
	zones    [NumSwitches]zoneCache
	hosts    [NumSwitches]string // lower-case switch ids, for SIP Call-IDs
}

// NewEncoder returns an encoder for a stream in which switch i writes
// records[i] distinct records, with home country code cc and ids seeded
// by seed. The counts set where the counters stand, so that about
// TargetCallIDRepeats of the records share their call_id with another
// switch's (CallIDRepeats says exactly how many).
func NewEncoder(cc int, seed int64, records [NumSwitches]int64) *Encoder {
	e := &Encoder{cc: uint64(cc), ccDigits: ndigits(uint64(cc)), mix: splitmix64(uint64(seed) ^ 0xc2b2ae3d27d4eb4f), records: records}
	// The tiny switches' repeats follow from their traffic, up to a
	// quarter of the target each (a heavy caller homed on one must not
	// make every call of it a repeat); the switch that reaches another's
	// numbers makes up the rest of the target.
	var total, tiny int64
	for i := range fleet {
		total += records[i]
	}
	shared := make([]int64, len(fleet))
	for i, sw := range fleet {
		if sw.partner != 0 {
			shared[i] = min(records[i], records[sw.partner-1], int64(TargetCallIDRepeats*float64(total)/4))
			tiny += 2 * shared[i]
		}
	}
	overlap := max(0, int64(TargetCallIDRepeats*float64(total))-tiny) / 2
	for i := range fleet {
		sw := &fleet[i]
		h := splitmix64(e.mix + uint64(i))
		switch {
		case sw.partner != 0:
			// A tiny switch's counter starts shared[i] before the end of
			// its busy partner's numbers (the partner comes first in the
			// table): its first calls repeat the partner's last ids.
			p := sw.partner - 1
			e.base[i] = e.base[p] + uint64(records[p]-shared[i])
		case sw.reaches != 0:
			// Its last numbers are the first ones of the switch it
			// reaches (which comes first in the table).
			p := sw.reaches - 1
			o := min(overlap, records[i], records[p])
			e.base[i] = e.base[p] - uint64(min(records[i]-o, int64(e.base[p])))
		case sw.CallIDs == IDCounter:
			e.base[i] = sw.counterBase + h%1_000_000
		case sw.CallIDs == IDAsterisk:
			e.base[i] = sw.counterBase + h%1000
		case sw.CallIDs == IDPrefixed:
			e.base[i] = h % 100_000_000
		}
		if sw.Zone != "" {
			e.zones[i] = zoneCache{loc: locations[i], from: 1}
		}
		e.hosts[i] = strings.ToLower(sw.ID)
	}
	return e
}

// CallIDRepeats counts the records whose call_id also occurs on another
// switch for another call: the counters' ranges that overlap.
func (e *Encoder) CallIDRepeats() int64 {
	type edge struct {
		at uint64
		d  int
	}
	var edges []edge
	for i, sw := range fleet {
		if sw.CallIDs == IDCounter && e.records[i] > 0 {
			edges = append(edges, edge{e.base[i], 1}, edge{e.base[i] + uint64(e.records[i]), -1})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		return a.d - b.d
	})
	var repeats int64
	depth := 0
	for i, ed := range edges {
		if i > 0 && depth >= 2 {
			repeats += int64(ed.at-edges[i-1].at) * int64(depth)
		}
		depth += ed.d
	}
	return repeats
}

// AppendCDR appends the fields switch sw writes for rec to b, which holds
// an open JSON object ("{" and perhaps fields of the caller's own). The
// caller closes the object. r draws the choices a switch makes per record
// (the form of a dialled number); none of them changes what the pipeline
// reads (Observe).
func (e *Encoder) AppendCDR(b []byte, sw int, rec *Record, r *rand.Rand) []byte {
	s := &fleet[sw]
	if s.CallIDs != IDNone {
		b = e.appendCallID(key(b, "call_id"), sw, rec)
	}
	b = e.appendNumbers(b, s, rec, r)
	skew := s.Skew.Milliseconds()
	start := rec.Start + skew
	b = e.timeField(b, "start_time", sw, start, s.Times)
	if s.Fields&FieldTimes != 0 {
		tf := s.Times
		if s.MixedPrecision {
			tf = tf.seconds()
		}
		answer := start + rec.Ring
		if rec.Disp == DispAnswered {
			b = e.timeField(b, "answer_time", sw, answer, tf)
		}
		b = e.timeField(b, "end_time", sw, answer+rec.Talk, tf)
	}
	if s.Fields&FieldDuration != 0 {
		b = secondsField(b, "duration", rec.Talk)
	}
	if s.Fields&FieldRing != 0 {
		b = secondsField(b, "ring_duration", rec.Ring)
	}
	if s.Fields&FieldDisposition != 0 {
		b = stringField(b, "disposition", dispositionNames[rec.Disp])
	}
	if s.Fields&FieldCause != 0 {
		b = intField(b, "cause", int64(rec.Cause))
	}
	if s.WritesID {
		b = stringField(b, "switch_id", s.ID)
	}
	if rec.Trunk != "" {
		b = stringField(b, "trunk_id", rec.Trunk)
	}
	return b
}

// Observe returns what the pipeline reads from the record switch sw
// writes for rec: what the brute-force truths must be computed on.
func (e *Encoder) Observe(sw int, rec *Record) Observed {
	s := &fleet[sw]
	skew := s.Skew.Milliseconds()
	o := Observed{Start: truncTime(rec.Start+skew, s.Times), Caller: rec.Caller, Withheld: rec.Withheld}
	if rec.Withheld && s.Withheld.noNumber() {
		o.Caller = 0
	}
	answered := rec.Disp == DispAnswered
	var answer, end int64
	hasTimes := s.Fields&FieldTimes != 0
	if hasTimes {
		tf := s.Times
		if s.MixedPrecision {
			tf = tf.seconds()
		}
		// The pipeline takes a time up to a second before the one it
		// must follow as equal to it (mixed precision).
		answer = max(truncTime(rec.Start+skew+rec.Ring, tf), o.Start)
		floor := o.Start
		if answered {
			floor = answer
		}
		end = max(truncTime(rec.Start+skew+rec.Ring+rec.Talk, tf), floor)
	}
	switch {
	case s.Fields&FieldDuration != 0:
		o.Talk = rec.Talk
	case hasTimes && answered:
		o.Talk = end - answer
	}
	switch {
	case s.Fields&FieldRing != 0:
		o.Ring = rec.Ring
	case hasTimes && answered:
		o.Ring = answer - o.Start
	case hasTimes:
		o.Ring = end - o.Start
	}
	if s.Fields&FieldDisposition != 0 {
		o.Disp = rec.Disp
	} else {
		o.Disp = deriveDisposition(o.Talk > 0 || (hasTimes && answered), s.Fields&FieldCause != 0, rec.Cause)
	}
	if o.Disp != DispAnswered {
		o.Talk = 0
	}
	if s.Fields&FieldCause != 0 {
		o.Cause = rec.Cause
	}
	return o
}

// truncTime is the instant ms as form f writes it: whole seconds unless
// the form keeps milliseconds.
func truncTime(ms int64, f TimeForm) int64 {
	if f.Milli() {
		return ms
	}
	return floorDiv(ms, 1000) * 1000
}

// appendCallID appends the quoted call_id switch sw gives rec.
func (e *Encoder) appendCallID(b []byte, sw int, rec *Record) []byte {
	s := &fleet[sw]
	b = append(b, '"')
	switch s.CallIDs {
	case IDCounter:
		b = strconv.AppendUint(b, e.base[sw]+rec.Seq, 10)
	case IDAsterisk:
		b = strconv.AppendInt(b, floorDiv(rec.Start+s.Skew.Milliseconds(), 1000), 10)
		b = append(b, '.')
		b = strconv.AppendUint(b, e.base[sw]+rec.Seq, 10)
	case IDHex:
		b = appendHex16(b, e.hashID(sw, rec.Seq))
	case IDUUID:
		b = appendUUID(b, e.hashID(sw, rec.Seq), splitmix64(e.mix^rec.Seq^uint64(sw)<<56))
	case IDSIP:
		b = appendHex16(b, e.hashID(sw, rec.Seq))
		b = append(b, '@')
		b = append(b, e.hosts[sw]...)
	case IDPrefixed:
		b = append(b, s.prefix...)
		b = appendPadded(b, e.base[sw]+rec.Seq, 9)
	}
	return append(b, '"')
}

// hashID is a 64-bit id unique per (switch, sequence): splitmix64 is a
// bijection and its inputs differ while sequences stay below 2^40.
func (e *Encoder) hashID(sw int, seq uint64) uint64 {
	return splitmix64(e.mix + uint64(sw)<<40 + seq)
}

// appendUUID appends a version 4 UUID whose first 64 bits come from hi
// (all but the version nibble) and the rest from lo.
func appendUUID(b []byte, hi, lo uint64) []byte {
	hi = hi&^(0xf<<12) | 0x4<<12
	lo = lo&^(0x3<<62) | 0x2<<62
	var h [32]byte
	appendHex16(h[:0], hi)
	appendHex16(h[16:16], lo)
	b = append(b, h[0:8]...)
	b = append(b, '-')
	b = append(b, h[8:12]...)
	b = append(b, '-')
	b = append(b, h[12:16]...)
	b = append(b, '-')
	b = append(b, h[16:20]...)
	b = append(b, '-')
	return append(b, h[20:32]...)
}

// appendNumbers writes caller and callee (and their nature of address or
// the caller's presentation) in switch s's habit.
func (e *Encoder) appendNumbers(b []byte, s *Switch, rec *Record, r *rand.Rand) []byte {
	if rec.Withheld && s.Withheld.noNumber() {
		b = stringField(b, "caller", withheldNames[s.Withheld])
	} else {
		b = e.appendNumberField(b, "caller", "caller_noa", s.Numbers, rec.Caller, true, r)
		if rec.Withheld {
			b = stringField(b, "caller_presentation", "restricted")
		}
	}
	return e.appendNumberField(b, "callee", "callee_noa", s.Numbers, rec.Callee, false, r)
}

// appendNumberField writes one number, and its NOA field for the habits
// that have one.
func (e *Encoder) appendNumberField(b []byte, name, noaName string, h NumberHabit, n Number, caller bool, r *rand.Rand) []byte {
	nsn, nd, home := e.split(n)
	b = append(key(b, name), '"')
	var noa string
	switch h {
	case NumbersE164:
		b = e.appendForm(b, n, formPlus)
	case NumbersBare:
		b = e.appendForm(b, n, formBare)
	case NumbersIntl:
		b = e.appendForm(b, n, formIntl)
	case NumbersNational:
		b = e.appendForm(b, n, formNational)
	case NumbersDialled:
		b = e.appendForm(b, n, randomForm(r))
	case NumbersNOA, NumbersGateway:
		switch {
		case !home || (caller && h == NumbersGateway):
			b, noa = strconv.AppendUint(b, uint64(n), 10), "international"
		case !caller && h == NumbersNOA && r.IntN(4) == 0:
			// The B-number as it was dialled, prefix and all.
			b, noa = appendNational(b, nsn, nd), "unknown"
		case !caller && h == NumbersGateway && isMobile(nsn) && r.IntN(4) == 0:
			b, noa = strconv.AppendUint(b, nsn, 10), "subscriber"
		default:
			b, noa = strconv.AppendUint(b, nsn, 10), "national"
		}
	}
	b = append(b, '"')
	if noa != "" {
		b = stringField(b, noaName, noa)
	}
	return b
}

// split returns n's national significant number and its digit count, and
// whether n is a home number at all.
func (e *Encoder) split(n Number) (nsn uint64, nd int, home bool) {
	d := ndigits(uint64(n))
	if d <= e.ccDigits {
		return 0, 0, false
	}
	nd = d - e.ccDigits
	p := pow10[nd]
	if uint64(n)/p != e.cc {
		return 0, 0, false
	}
	return uint64(n) % p, nd, true
}

// appendForm writes n in form f, or in a form that reads back the same
// where f would not: the bare country-code form only for home numbers long
// enough not to be taken as national ones, national forms only for home
// numbers (others get the international prefix).
func (e *Encoder) appendForm(b []byte, n Number, f numberForm) []byte {
	nsn, nd, home := e.split(n)
	switch {
	case f == formPlus, f == formBare && (!home || nd < 8):
		b = append(b, '+')
	case f == formIntl, f == formNational && !home:
		b = append(b, '0', '0')
	case f == formNational:
		return appendNational(b, nsn, nd)
	}
	return strconv.AppendUint(b, uint64(n), 10)
}

// appendNational writes a home number nationally: mobiles, 400 numbers and
// 95xxx service numbers as they are dialled, without a prefix; landlines
// and the rest with the trunk prefix 0.
func appendNational(b []byte, nsn uint64, nd int) []byte {
	if lead := nsn / pow10[nd-1]; !(isMobile(nsn) || lead == 4 || lead == 9) {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, nsn, 10)
}

// timeField appends `"name":<ms in form f>` as switch sw writes it.
func (e *Encoder) timeField(b []byte, name string, sw int, ms int64, f TimeForm) []byte {
	b = key(b, name)
	if f.Local() {
		return appendLocal(b, ms+e.zones[sw].offset(ms), f == TimeLocalMilli)
	}
	return appendTime(b, ms, f)
}

// zoneCache is a zone's offset over the period it last looked up, so most
// local times cost a comparison, not a zone lookup; the period comes from
// the zone itself (time.Time.ZoneBounds), so daylight saving is right.
type zoneCache struct {
	loc      *time.Location
	from, to int64 // Unix ms where off holds
	off      int64 // ms east of UTC
}

func (z *zoneCache) offset(ms int64) int64 {
	if ms >= z.from && ms < z.to {
		return z.off
	}
	t := time.UnixMilli(ms).In(z.loc)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	z.off = int64(off) * 1000
	z.from, z.to = int64(-1<<63), int64(1<<63-1)
	if !start.IsZero() {
		z.from = start.UnixMilli()
	}
	if !end.IsZero() {
		z.to = end.UnixMilli()
	}
	return z.off
}

// errNoSwitch is returned by SwitchIndex for an unknown id.
var errNoSwitch = errors.New("no such switch in the fleet")

// SwitchIndex returns the index in Fleet of the switch with id.
func SwitchIndex(id string) (int, error) {
	for i := range fleet {
		if fleet[i].ID == id {
			return i, nil
		}
	}
	return 0, fmt.Errorf("switch %q: %w", id, errNoSwitch)
}
