// Package freeswitch reads FreeSWITCH's CDRs: the rows mod_cdr_csv writes
// with a site's template (CSV), and the documents mod_json_cdr posts or
// writes (JSON). Its parsers only find a record's variables; the decoder
// (decode.Decoder.DecodeFields) normalises numbers and local times and
// checks the record as it does the contract's JSON.
//
// Both formats read the same channel variables:
//
//   - caller_id_number is the caller (empty, or FreeSWITCH's placeholder
//     0000000000: a withheld caller, passed on as "unavailable";
//     "anonymous" is recognised by the decoder) and destination_number
//     the callee;
//   - a time is taken from its most exact form written: *_uepoch
//     (microseconds, kept to the millisecond), *_epoch (seconds), then
//     *_stamp (local "2006-01-02 15:04:05", read in the switch's zone);
//     an epoch of 0 is an absent time, as FreeSWITCH writes answer_epoch 0
//     for a call never answered;
//   - billsec is the talk time (duration is the whole call; the decoder
//     derives the ring time from the times);
//   - hangup_cause is a cause name (decode.CauseName), which also gives a
//     disposition for FreeSWITCH's own causes (ORIGINATOR_CANCEL is a
//     cancelled call); hangup_cause_q850, when written, is the cause;
//   - uuid is the call id.
//
// The uuid as call id is what makes FreeSWITCH's duplicates harmless: it
// logs some failed calls twice (the same leg written again), and both
// copies decode to the same key, so the second is dropped as a re-sent
// record downstream. The two legs of one call have different uuids (the
// b-leg's is the a-leg's bleg_uuid); mod_cdr_csv writes only the a-leg
// unless its legs setting says otherwise, and a site that logs both legs
// logs two call attempts, as the switch saw them.
package freeswitch

import (
	"strconv"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// callVars are the variables of one CDR as the switch wrote them, before
// they are read into decode.Fields: the same for both formats.
type callVars struct {
	caller, callee, uuid, switchName []byte
	// stamp, epoch and uepoch are the start, answer and end times in
	// their three forms.
	stamp, epoch, uepoch [3][]byte
	billsec, cause, q850 []byte
}

// timeNames name the time variables in callVars' order, for messages.
var timeNames = [3]string{"start", "answer", "end"}

// scratch holds the text fill writes for a record (times converted from
// microseconds): decode.Fields refer to it until the next record.
type scratch struct {
	times [3][20]byte
}

// unavailable is the caller of a record with no caller_id_number: the
// decoder reads it as a withheld caller ID.
var unavailable = []byte("unavailable")

// noCallerID is the caller ID number FreeSWITCH gives a channel that came
// without one (SWITCH_DEFAULT_CLID_NUMBER): not a number, and not a number
// the decoder knows as a withheld caller (it would reject it as a number
// without a country code), so it is read as unavailable here.
const noCallerID = "0000000000"

// fill reads v into f; format prefixes messages ("freeswitch-csv").
func (s *scratch) fill(format string, v *callVars, f *decode.Fields, switchID []byte) error {
	f.CallID = decode.Text(v.uuid)
	f.Caller = decode.Text(v.caller)
	if len(v.caller) == 0 || string(v.caller) == noCallerID {
		f.Caller = decode.Text(unavailable)
	}
	f.Callee = decode.Text(v.callee)
	dst := [3]*decode.Value{&f.Start, &f.Answer, &f.End}
	for i := range dst {
		t, err := s.time(format, i, v)
		if err != nil {
			return err
		}
		*dst[i] = t
	}
	f.Duration = decode.Num(v.billsec)
	s.setCause(f, v.cause, v.q850)
	f.SwitchID = decode.Text(v.switchName)
	if len(v.switchName) == 0 {
		f.SwitchID = decode.Text(switchID)
	}
	return nil
}

// time returns the i-th time (start, answer, end) from its most exact
// form written: FreeSWITCH writes the epochs beside the local stamps, and
// they carry no doubt about the zone.
func (s *scratch) time(format string, i int, v *callVars) (decode.Value, error) {
	if us := v.uepoch[i]; written(us) {
		b, ok := appendMillis(s.times[i][:0], us)
		if !ok {
			return decode.Value{}, decode.Reject(decode.ReasonBadRecord, "%s: %s_uepoch %q is not a time in microseconds", format, timeNames[i], us)
		}
		return decode.Num(b), nil
	}
	if sec := v.epoch[i]; written(sec) {
		return decode.Num(sec), nil
	}
	return decode.Text(v.stamp[i]), nil
}

// written reports whether an epoch holds a time: FreeSWITCH writes 0 (or
// nothing) for a time that did not happen.
func written(b []byte) bool {
	for _, c := range b {
		if c != '0' {
			return true
		}
	}
	return false
}

// appendMillis appends the Unix time in milliseconds of us, a Unix time in
// microseconds. Milliseconds are a whole number the decoder reads
// exactly; seconds with a six-digit fraction would come back from a
// float64 a few hundred nanoseconds off. Times before 1973, too small to
// be read as milliseconds, are written as seconds (and rejected as too old
// by the decoder either way).
func appendMillis(dst, us []byte) ([]byte, bool) {
	if len(us) > 18 {
		return dst, false
	}
	var n uint64
	for _, c := range us {
		if c < '0' || c > '9' {
			return dst, false
		}
		n = n*10 + uint64(c-'0')
	}
	const millisFrom = 1e11 * 1000 // the decoder's limit between seconds and milliseconds, in µs
	if n < millisFrom {
		return strconv.AppendUint(dst, n/1e6, 10), true
	}
	return strconv.AppendUint(dst, n/1000, 10), true
}

// setCause reads hangup_cause (a name) and hangup_cause_q850 (a number,
// which wins for the cause). A name the decoder does not know leaves the
// cause unknown rather than losing the call: FreeSWITCH adds causes now
// and then, and the decoder derives the disposition from the times.
func (s *scratch) setCause(f *decode.Fields, name, q850 []byte) {
	if len(name) > 0 {
		if c, d, ok := decode.CauseName(string(name)); ok {
			if c != 0 {
				f.Cause = decode.CauseValue(c)
			}
			if d != schemas.DispositionUnknown {
				f.Disposition = decode.DispositionValue(d)
			}
		}
	}
	if written(q850) {
		f.Cause = decode.Num(q850)
	}
}
