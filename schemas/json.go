package schemas

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends c as one line of the contract's JSON (docs/cdr-format.md),
// without the newline: what `cdrpipe produce --format` sends for records
// it read in a switch's format. Numbers are already E.164 and times UTC,
// so decoding the line gives c back.
func AppendJSON(b []byte, c *CDR) []byte {
	b = append(b, '{')
	first := true
	key := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(appendString(b, name), ':')
	}
	str := func(name, v string) {
		if v != "" {
			key(name)
			b = appendString(b, v)
		}
	}
	num := func(name string, v float64) {
		key(name)
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	at := func(name string, t time.Time) {
		if !t.IsZero() {
			str(name, t.UTC().Format(time.RFC3339Nano))
		}
	}
	str("call_id", c.CallID)
	caller := c.Caller
	if caller == "" {
		caller = "anonymous"
	}
	str("caller", caller)
	str("callee", c.Callee)
	if c.Withheld {
		str("caller_presentation", "restricted")
	}
	at("start_time", c.StartTime)
	at("answer_time", c.AnswerTime)
	at("end_time", c.EndTime)
	num("duration", c.Duration)
	num("ring_duration", c.RingDuration)
	if c.Disposition != DispositionUnknown {
		str("disposition", c.Disposition.String())
	}
	if c.Cause != 0 {
		num("cause", float64(c.Cause))
	}
	str("switch_id", c.SwitchID)
	str("trunk_id", c.TrunkID)
	str("imsi", c.IMSI)
	str("imei", c.IMEI)
	str("cell_id", c.CellID)
	str("attestation", c.Attestation)
	return append(b, '}')
}

// appendString appends s as a JSON string: quotes, backslashes and
// control characters escaped, bytes that are not UTF-8 as U+FFFD (as
// encoding/json does).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
