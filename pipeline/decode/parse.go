package decode

import (
	"math"
	"strconv"
	"time"
	"unsafe"
)

// Numbers and times are read in place from the record's bytes. The forms
// switches write almost always (integers, short decimals, RFC 3339 with
// 'Z' or a ±hh:mm offset) are parsed by hand; anything else goes to
// strconv and time.Parse. A fast path accepts only input the slow path
// accepts too, with the same result, so it changes speed, not behaviour.

// seconds reads a non-negative number of seconds (a JSON number, or a
// string holding one, which some mediation systems emit); a value that
// is not one is rejected for reason.
func seconds(name string, v value, reason string) (float64, error) {
	if v.kind != kindNumber && v.kind != kindString {
		return 0, rejectf(ReasonWrongType, "field %s: want a number, got a %s", name, v.kind)
	}
	n, err := parseFloat(v.raw)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, rejectf(reason, "field %s: %q is not a number", name, v.raw)
	}
	if n < 0 {
		return 0, rejectf(reason, "field %s: %v is negative", name, n)
	}
	if n > maxCallSeconds {
		return 0, rejectf(reason, "field %s: %v seconds is more than two days", name, n)
	}
	return n, nil
}

// parseFloat is strconv.ParseFloat(b, 64) without copying b.
func parseFloat(b []byte) (float64, error) {
	if n, ok := parseDecimal(b); ok {
		return n, nil
	}
	// ParseFloat keeps no reference to its input (its errors hold a
	// copy), so the bytes are read in place.
	return strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
}

// maxExactDigits is how many decimal digits a float64 holds exactly
// (10^15 < 2^53).
const maxExactDigits = 15

// exactPow10 holds the powers of ten a float64 represents exactly.
var exactPow10 = [maxExactDigits + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseDecimal reads unsigned digits with an optional fraction ("42",
// "42.5") of at most maxExactDigits digits. The mantissa and the power of
// ten are then both exact, so one correctly rounded division gives the
// float strconv.ParseFloat returns (its own exact fast path does the
// same). ok is false for anything else.
func parseDecimal(b []byte) (n float64, ok bool) {
	var m uint64
	digits, point := 0, -1
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
		case c == '.' && point < 0 && i > 0:
			point = i
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > maxExactDigits || point == len(b)-1 {
		return 0, false
	}
	if point < 0 {
		return float64(m), true
	}
	return float64(m) / exactPow10[len(b)-1-point], true
}

// epochMillisFrom separates epoch seconds from epoch milliseconds: 1e11
// seconds is the year 5138, 1e11 milliseconds is 1973.
const epochMillisFrom = 1e11

// timeLayouts are the text forms of a time, most common first. The last
// two carry no offset: they are wall-clock times of the switch's zone.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02T15:04:05"}

// zonedLayouts is how many of timeLayouts carry an offset.
const zonedLayouts = 2

// parseTime reads RFC 3339 text or a Unix epoch number in seconds or
// milliseconds. Text without an offset is a wall-clock time in zone z.
func parseTime(name string, v value, z local) (time.Time, error) {
	switch v.kind {
	case kindString:
		if wall, nsec, off, zoned, ok := parseClock(v.raw); ok {
			return instant(wall, nsec, off, zoned, z), nil
		}
		// time.Parse keeps no reference to its input once it returns, so
		// the bytes are read in place instead of copied.
		s := unsafe.String(unsafe.SliceData(v.raw), len(v.raw))
		for i, layout := range timeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				if i >= zonedLayouts {
					return instant(t.Unix(), t.Nanosecond(), 0, false, z), nil
				}
				return t.UTC(), nil
			}
		}
		return time.Time{}, rejectf(ReasonBadTime, "field %s: %q is not an RFC 3339 time", name, v.raw)
	case kindNumber:
		n, err := parseFloat(v.raw)
		if err != nil || n < 0 || n > 1e14 {
			return time.Time{}, rejectf(ReasonBadTime, "field %s: %s is not a Unix time", name, v.raw)
		}
		if n >= epochMillisFrom {
			return time.UnixMilli(int64(n)).UTC(), nil
		}
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	return time.Time{}, rejectf(ReasonWrongType, "field %s: want a time, got a %s", name, v.kind)
}

// instant is the time a parsed clock reading names: its own offset when
// it has one, otherwise zone z's.
func instant(wall int64, nsec, off int, zoned bool, z local) time.Time {
	if zoned {
		return time.Unix(wall-int64(off), int64(nsec)).UTC()
	}
	return time.Unix(z.unix(wall), int64(nsec)).UTC()
}

// parseRFC3339 reads a time as parseClock does and returns its instant,
// taking a time without an offset as UTC.
func parseRFC3339(b []byte) (t time.Time, ok bool) {
	wall, nsec, off, _, ok := parseClock(b)
	if !ok {
		return t, false
	}
	return time.Unix(wall-int64(off), int64(nsec)).UTC(), true
}

// parseClock reads "2006-01-02T15:04:05[.999999999][Z|±hh:mm]", or the
// same with a space for 'T'. It returns the wall-clock reading as the
// Unix seconds it would be in UTC, the nanoseconds, and the offset east
// of UTC when the text carries one (zoned). It accepts only what
// time.Parse accepts with one of timeLayouts, reading the same clock,
// without the zone lookups time.Parse does for an offset; ok is false for
// any other text. Checks follow the standard library's own RFC 3339
// parser: every field in range, the day within its month, fractions of
// any length truncated to nanoseconds.
func parseClock(b []byte) (wall int64, nsec, off int, zoned, ok bool) {
	if len(b) < len("2006-01-02T15:04:05") || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' {
		return 0, 0, 0, false, false
	}
	sep := b[10]
	if sep != 'T' && sep != ' ' {
		return 0, 0, 0, false, false
	}
	hi, lo := digits2(b[0:2]), digits2(b[2:4])
	year := hi*100 + lo
	month, day := digits2(b[5:7]), digits2(b[8:10])
	hour, minute, sec := digits2(b[11:13]), digits2(b[14:16]), digits2(b[17:19])
	if hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return 0, 0, 0, false, false
	}
	nsec, rest := fraction(b[19:])
	if len(rest) > 0 {
		if off, ok = zoneOffset(rest); !ok {
			return 0, 0, 0, false, false
		}
		zoned = true
	}
	wall = daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return wall, nsec, off, zoned, true
}

// digits2 reads two decimal digits, or returns -1.
func digits2(b []byte) int {
	d0, d1 := int(b[0])-'0', int(b[1])-'0'
	if uint(d0) > 9 || uint(d1) > 9 {
		return -1
	}
	return d0*10 + d1
}

// fraction reads an optional ".digits" and returns nanoseconds (digits
// past the ninth are ignored, as time.Parse does) and the rest of b.
func fraction(b []byte) (nsec int, rest []byte) {
	if len(b) < 2 || b[0] != '.' || b[1] < '0' || b[1] > '9' {
		return 0, b
	}
	n := 1
	for ; n < len(b) && b[n] >= '0' && b[n] <= '9'; n++ {
		if n <= 9 {
			nsec = nsec*10 + int(b[n]-'0')
		}
	}
	for i := n; i <= 9; i++ {
		nsec *= 10
	}
	return nsec, b[n:]
}

// zoneOffset reads "Z" or "±hh:mm" as seconds east of UTC.
func zoneOffset(b []byte) (offset int, ok bool) {
	switch {
	case len(b) == 1 && b[0] == 'Z':
		return 0, true
	case len(b) != len("+07:00") || (b[0] != '+' && b[0] != '-') || b[3] != ':':
		return 0, false
	}
	hh, mm := digits2(b[1:3]), digits2(b[4:6])
	if hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, false
	}
	offset = hh*3600 + mm*60
	if b[0] == '-' {
		offset = -offset
	}
	return offset, true
}

// daysIn is the number of days in month of the proleptic Gregorian year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to the date, for
// years 0 to 9999 (Howard Hinnant's days_from_civil).
func daysFromCivil(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	// Shifting by one 400-year era keeps y non-negative for January and
	// February of year 0, so the divisions below need no flooring.
	y += 400
	era := y / 400
	yoe := y - era*400
	mp := int64((month + 9) % 12) // March is 0
	doy := (153*mp+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468 - 146097
}
