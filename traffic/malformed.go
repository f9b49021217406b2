package traffic

import "time"

// malformedKind is one way a line breaks the CDR contract.
type malformedKind uint8

const (
	badTruncated        malformedKind = iota // cut mid-object: not JSON
	badNoCaller                              // required caller missing
	badNoStart                               // required start_time missing
	badCallee                                // callee "abc-def" is not a number
	badCallerObject                          // caller is an object, not a string
	badStartString                           // start_time "yesterday"
	badAbsurdTime                            // start_time in 1900 or 2300
	badNegativeDuration                      // duration < 0
	badStringDuration                        // duration "ten"
	malformedKinds
)

var (
	year1900Ms = time.Date(1900, 1, 1, 3, 4, 5, 0, time.UTC).UnixMilli()
	year2300Ms = time.Date(2300, 6, 7, 8, 9, 10, 0, time.UTC).UnixMilli()
)

// appendMalformed encodes one malformed line. Each carries a unique call_id
// first (appendMalformedID), so truncation never removes it and no two malformed lines are
// byte-identical: each must be one reject. The rest looks like a normal
// call of a real subscriber at the stream's current time.
func (e *emitter) appendMalformed(b []byte) []byte {
	r, cc := e.r, e.cfg.CountryCode
	e.malformedN++
	c := call{start: e.maxSeen, caller: e.subs[r.IntN(len(e.subs))], callee: randomMobile(r)}
	if c.start == 0 {
		c.start = e.cfg.Start.UnixMilli()
	}
	setAnswered(&c, uniformMs(r, 2, 20), uniformMs(r, 10, 300))
	kind := malformedKind(r.IntN(int(malformedKinds)))

	b = e.appendMalformedID(append(b, '{'), e.malformedN)
	idEnd := len(b)
	switch kind {
	case badNoCaller:
	case badCallerObject:
		b = append(key(b, "caller"), `{"number":"`...)
		b = append(appendNumber(b, cc, c.caller, formPlus), '"', '}')
	default:
		b = numberField(b, "caller", cc, c.caller, randomForm(r))
	}
	if kind == badCallee {
		b = stringField(b, "callee", "abc-def")
	} else {
		b = numberField(b, "callee", cc, c.callee, randomForm(r))
	}
	switch kind {
	case badNoStart:
	case badStartString:
		b = stringField(b, "start_time", "yesterday")
	case badAbsurdTime:
		b = e.appendAbsurdStart(b)
	default:
		b = timeField(b, "start_time", c.start, randomTimeForm(r))
	}
	switch kind {
	case badNegativeDuration:
		b = append(key(b, "duration"), '-')
		b = appendSeconds(b, int64(c.talk))
	case badStringDuration:
		b = stringField(b, "duration", "ten")
	default:
		b = secondsField(b, "duration", int64(c.talk))
	}
	b = stringField(b, "disposition", dispositionNames[c.disp])
	b = intField(b, "cause", int64(c.cause))
	b = append(b, '}')
	if kind == badTruncated {
		// Any strict prefix of an object lacks its closing brace, so it is
		// never valid JSON; keep at least one byte after the call_id.
		b = b[:idEnd+1+r.IntN(len(b)-idEnd-1)]
	}
	return append(b, '\n')
}

// appendAbsurdStart writes a well-formed start_time far outside any
// plausible range, as text or as epoch seconds or milliseconds.
func (e *emitter) appendAbsurdStart(b []byte) []byte {
	switch e.r.IntN(4) {
	case 0:
		return timeField(b, "start_time", year1900Ms, TimeRFC3339Z)
	case 1:
		return timeField(b, "start_time", year2300Ms, TimeRFC3339CSTMilli)
	case 2:
		return timeField(b, "start_time", year2300Ms, TimeEpochSec)
	default:
		return timeField(b, "start_time", year2300Ms, TimeEpochMilli)
	}
}
