package traffic

import (
	"math/rand/v2"
	"strconv"
)

// Records are encoded by hand with strconv.Append* into a reused buffer:
// encoding/json would cost a reflection walk and several allocations per
// record, and Generate must write a million records in a few seconds.

// cstOffsetSec is China Standard Time, the offset switches there log in.
const cstOffsetSec = 8 * 3600

// randomTimeForm picks any wire form of a time that carries its own
// offset or is an epoch (malformed lines use it).
func randomTimeForm(r *rand.Rand) TimeForm {
	switch p := r.IntN(100); {
	case p < 25:
		return TimeRFC3339Z
	case p < 40:
		return TimeRFC3339ZMilli
	case p < 50:
		return TimeRFC3339CST
	case p < 60:
		return TimeRFC3339CSTMilli
	case p < 80:
		return TimeEpochSec
	default:
		return TimeEpochMilli
	}
}

// appendTime appends the Unix-millisecond time ms in form f. Local forms
// need a zone and are written by Encoder.timeField; here they come out as
// UTC wall-clock time.
func appendTime(b []byte, ms int64, f TimeForm) []byte {
	switch f {
	case TimeRFC3339Z:
		return appendRFC3339(b, ms, 0, false)
	case TimeRFC3339ZMilli:
		return appendRFC3339(b, ms, 0, true)
	case TimeRFC3339CST:
		return appendRFC3339(b, ms, cstOffsetSec, false)
	case TimeRFC3339CSTMilli:
		return appendRFC3339(b, ms, cstOffsetSec, true)
	case TimeEpochSec:
		return strconv.AppendInt(b, floorDiv(ms, 1000), 10)
	case TimeEpochFrac:
		secs := floorDiv(ms, 1000)
		b = append(strconv.AppendInt(b, secs, 10), '.')
		return appendPadded(b, uint64(ms-secs*1000), 3)
	case TimeLocal, TimeLocalMilli:
		return appendLocal(b, ms, f == TimeLocalMilli)
	default:
		return strconv.AppendInt(b, ms, 10)
	}
}

// appendRFC3339 appends ms as a quoted RFC 3339 time at a whole-hour
// offset (0 or +08:00), truncated to seconds unless milli is set. It avoids
// time.Time so the hot path neither allocates nor looks up zones.
func appendRFC3339(b []byte, ms int64, offsetSec int, milli bool) []byte {
	b = appendClock(append(b, '"'), ms+int64(offsetSec)*1000, 'T', milli)
	if offsetSec == 0 {
		return append(b, 'Z', '"')
	}
	b = append(b, '+')
	b = appendPadded(b, uint64(offsetSec/3600), 2)
	return append(b, ':', '0', '0', '"')
}

// appendLocal appends the wall-clock time wall (Unix milliseconds as if
// the zone were UTC) quoted and without an offset, as switches that log
// local time write it: "2026-11-29 15:00:03", or with ".250".
func appendLocal(b []byte, wall int64, milli bool) []byte {
	return append(appendClock(append(b, '"'), wall, ' ', milli), '"')
}

// appendClock appends the date and time of wall (Unix milliseconds of the
// wall clock): date, sep, time, and milliseconds if milli is set.
func appendClock(b []byte, wall int64, sep byte, milli bool) []byte {
	secs := floorDiv(wall, 1000)
	days := floorDiv(secs, 86400)
	sod := secs - days*86400
	y, mo, d := civilFromDays(days)
	b = appendPadded(b, uint64(y), 4)
	b = append(b, '-')
	b = appendPadded(b, uint64(mo), 2)
	b = append(b, '-')
	b = appendPadded(b, uint64(d), 2)
	b = append(b, sep)
	b = appendPadded(b, uint64(sod/3600), 2)
	b = append(b, ':')
	b = appendPadded(b, uint64(sod/60%60), 2)
	b = append(b, ':')
	b = appendPadded(b, uint64(sod%60), 2)
	if milli {
		b = append(b, '.')
		b = appendPadded(b, uint64(wall-secs*1000), 3)
	}
	return b
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's days_from_civil inverse).
func civilFromDays(days int64) (year int64, month, day int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// floorDiv divides rounding toward negative infinity, so times before 1970
// (the malformed year-1900 records) still format correctly.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v > 0 || len(tmp)-i < width {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[i:]...)
}

// appendSeconds appends a duration given in milliseconds as seconds, with
// as many decimals as it needs ("62", "7.25").
func appendSeconds(b []byte, ms int64) []byte {
	if ms%1000 == 0 {
		return strconv.AppendInt(b, ms/1000, 10)
	}
	return strconv.AppendFloat(b, float64(ms)/1000, 'f', -1, 64)
}

// appendHex16 appends v as exactly 16 lowercase hex digits.
func appendHex16(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, digits[(v>>uint(shift))&0xf])
	}
	return b
}

// splitmix64 is a bijective mixer: distinct inputs give distinct outputs,
// which makes call ids derived from record indexes unique.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// key appends `"name":` after a separating comma, unless it is the first
// field of the object.
func key(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// stringField appends `"name":"value"`; value must need no JSON escaping.
func stringField(b []byte, name, value string) []byte {
	b = key(b, name)
	b = append(b, '"')
	b = append(b, value...)
	return append(b, '"')
}

// numberField appends `"name":"<number in form f>"`.
func numberField(b []byte, name string, cc int, nsn uint64, f numberForm) []byte {
	b = key(b, name)
	b = append(b, '"')
	b = appendNumber(b, cc, nsn, f)
	return append(b, '"')
}

// timeField appends `"name":<time in form f>`.
func timeField(b []byte, name string, ms int64, f TimeForm) []byte {
	return appendTime(key(b, name), ms, f)
}

// secondsField appends `"name":<seconds>` from milliseconds.
func secondsField(b []byte, name string, ms int64) []byte {
	return appendSeconds(key(b, name), ms)
}

// intField appends `"name":<integer>`.
func intField(b []byte, name string, v int64) []byte {
	return strconv.AppendInt(key(b, name), v, 10)
}
