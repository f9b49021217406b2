package decode

import (
	"strconv"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// Fields are one record's fields as a switch wrote them, named as in the
// contract, before normalisation and validation: what the parser of a
// format other than JSON fills for DecodeFields, so every format is
// checked, normalised and keyed by the same rules as the contract's JSON.
// A zero Value is an absent field.
type Fields struct {
	CallID, Caller, Callee                     Value
	Start, Answer, End                         Value
	Duration, Ring, Disposition, Cause         Value
	SwitchID, TrunkID, IMSI, IMEI, CellID      Value
	Attestation, CallerNOA, CalleeNOA, Present Value
}

// Value is one field: text (numbers, times with or without an offset,
// words), or a JSON-like number (Unix times, seconds). Its bytes are read
// during DecodeFields only.
type Value struct {
	raw    []byte
	number bool
	set    bool
}

// Text is a field written as text; empty text is an absent field, as
// switches write nothing (or "") for what they do not know.
func Text(b []byte) Value { return Value{raw: b, set: len(b) > 0} }

// Num is a field written as a number: seconds, or a Unix time in seconds
// or milliseconds for the time fields. Empty is absent.
func Num(b []byte) Value { return Value{raw: b, number: true, set: len(b) > 0} }

// IsSet reports whether the field was written.
func (v Value) IsSet() bool { return v.set }

// String returns the field's text.
func (v Value) String() string { return string(v.raw) }

// DispositionValue is d written as a field, as the parsers that read a
// switch's own words pass it on; DispositionUnknown is an absent field.
func DispositionValue(d schemas.Disposition) Value {
	if int(d) >= len(dispositionBytes) || d == schemas.DispositionUnknown {
		return Value{}
	}
	return Text(dispositionBytes[d])
}

// CauseValue is a Q.850 cause written as a field; 0, or a number past
// Q.850's, is an absent field.
func CauseValue(c uint16) Value {
	if c == 0 || int(c) >= len(causeBytes) {
		return Value{}
	}
	return Num(causeBytes[c])
}

// dispositionBytes and causeBytes are the fields' texts, made once, so
// that naming a disposition or a cause costs a record no allocation.
var (
	dispositionBytes = func() (t [schemas.Cancelled + 1][]byte) {
		for d := range t {
			t[d] = []byte(schemas.Disposition(d).String())
		}
		return t
	}()
	causeBytes = func() (t [128][]byte) {
		for c := range t {
			t[c] = strconv.AppendUint(nil, uint64(c), 10)
		}
		return t
	}()
)

// Reset empties f for the next record, keeping nothing from the last.
func (f *Fields) Reset() { *f = Fields{} }

func (v Value) internal() value {
	switch {
	case !v.set:
		return value{}
	case v.number:
		return value{kind: kindNumber, raw: v.raw}
	}
	return value{kind: kindString, raw: v.raw}
}

// DecodeFields validates and normalises one record read by a format's
// parser, exactly as Decode does a JSON record.
func (d *Decoder) DecodeFields(in *Fields, now time.Time) (schemas.CDR, error) {
	d.f = fields{
		callID: in.CallID.raw, caller: in.Caller.raw, callee: in.Callee.raw,
		hasCaller: in.Caller.set, hasCallee: in.Callee.set,
		start: in.Start.internal(), answer: in.Answer.internal(), end: in.End.internal(),
		duration: in.Duration.internal(), ring: in.Ring.internal(), disposition: in.Disposition.internal(),
		cause: in.Cause.internal(), switchID: in.SwitchID.internal(), trunkID: in.TrunkID.internal(),
		imsi: in.IMSI.internal(), imei: in.IMEI.internal(), cellID: in.CellID.internal(),
		attestation: in.Attestation.internal(), callerNOA: in.CallerNOA.internal(),
		calleeNOA: in.CalleeNOA.internal(), presentation: in.Present.internal(),
	}
	if !in.CallID.set {
		d.f.callID = nil
	}
	return d.build(&d.f, now)
}

// Reject is a record a format's parser cannot read, with reason (one of
// the Reason codes) and what is wrong.
func Reject(reason, format string, args ...any) error { return rejectf(reason, format, args...) }
