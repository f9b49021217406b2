package decode

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// slowTime is parseTime's general path: time.Parse over every layout.
func slowTime(s string) (time.Time, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// checkRFC3339 fails when the fast path accepts s and time.Parse does
// not, or reads another instant.
func checkRFC3339(t *testing.T, s string) {
	t.Helper()
	got, ok := parseRFC3339([]byte(s))
	if !ok {
		return
	}
	want, wantOK := slowTime(s)
	if !wantOK {
		t.Fatalf("parseRFC3339(%q) = %v, but time.Parse rejects it", s, got)
	}
	if got != want {
		t.Fatalf("parseRFC3339(%q) = %v, time.Parse = %v", s, got, want)
	}
}

func TestParseRFC3339(t *testing.T) {
	f := func(in string, want time.Time) {
		t.Helper()
		got, ok := parseRFC3339([]byte(in))
		if !ok || got != want {
			t.Errorf("parseRFC3339(%q) = %v, %v; want %v", in, got, ok, want)
		}
		checkRFC3339(t, in)
	}
	at := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	f("2026-11-29T07:00:03Z", at(2026, 11, 29, 7, 0, 3, 0))
	f("2026-11-29T07:00:03.123Z", at(2026, 11, 29, 7, 0, 3, 123e6))
	f("2026-11-29T15:00:03+08:00", at(2026, 11, 29, 7, 0, 3, 0))
	f("2026-11-29T15:00:03.5+08:00", at(2026, 11, 29, 7, 0, 3, 500e6))
	f("2026-11-29T01:00:03-05:30", at(2026, 11, 29, 6, 30, 3, 0))
	f("2026-11-29T07:00:03.1234567891Z", at(2026, 11, 29, 7, 0, 3, 123456789))
	f("2026-11-29 07:00:03", at(2026, 11, 29, 7, 0, 3, 0))
	f("2026-11-29T07:00:03", at(2026, 11, 29, 7, 0, 3, 0))
	f("2026-11-29 07:00:03.25", at(2026, 11, 29, 7, 0, 3, 250e6))
	f("2026-11-29 15:00:03+08:00", at(2026, 11, 29, 7, 0, 3, 0))
	f("2024-02-29T00:00:00Z", at(2024, 2, 29, 0, 0, 0, 0))
	f("2000-02-29T23:59:59Z", at(2000, 2, 29, 23, 59, 59, 0))
	f("0000-01-01T00:00:00Z", at(0, 1, 1, 0, 0, 0, 0))
	f("9999-12-31T23:59:59Z", at(9999, 12, 31, 23, 59, 59, 0))
	f("2026-01-01T00:30:00+01:00", at(2025, 12, 31, 23, 30, 0, 0))

	// Left to time.Parse, which rejects most of them; none may be
	// accepted by the fast path.
	for _, in := range []string{
		"", "2026-11-29", "2026-11-29t07:00:03Z", "2026-11-29T07:00:03z",
		"2026-02-29T07:00:03Z", "1900-02-29T07:00:03Z", "2026-13-01T07:00:03Z", "2026-00-01T07:00:03Z",
		"2026-11-31T07:00:03Z", "2026-11-00T07:00:03Z", "2026-11-29T24:00:03Z", "2026-11-29T07:60:03Z",
		"2026-11-29T07:00:60Z", "2026-11-29T07:00:03+24:00", "2026-11-29T07:00:03+08:60",
		"2026-11-29T07:00:03+0800", "2026-11-29T07:00:03+08", "2026-11-29T07:00:03.Z",
		"2026-11-29T07:00:03,5Z", "2026-11-29T07:00:03ZZ", "+2026-11-29T07:00:03Z", "2026-1-29T07:00:03Z",
		"2026-11-29T7:00:03Z", "2026-11-29T07:00:03 +08:00", "２026-11-29T07:00:03Z",
	} {
		if got, ok := parseRFC3339([]byte(in)); ok {
			t.Errorf("parseRFC3339(%q) = %v, want it left to time.Parse", in, got)
		}
	}
}

// TestParseRFC3339Random compares the fast path with time.Parse over
// random valid times in every accepted form.
func TestParseRFC3339Random(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	forms := []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05", "2006-01-02 15:04:05.000000", "2006-01-02 15:04:05Z07:00"}
	for range 20000 {
		sec := r.Int64N(10000*365*86400) - 1970*365*86400
		ts := time.Unix(sec, r.Int64N(1e9)).In(time.FixedZone("", (r.IntN(48)-24)*1800))
		if r.IntN(4) == 0 {
			ts = ts.UTC()
		}
		s := ts.Format(forms[r.IntN(len(forms))])
		if _, ok := parseRFC3339([]byte(s)); !ok {
			if _, slowOK := slowTime(s); slowOK && ts.Year() >= 0 && ts.Year() <= 9999 {
				t.Fatalf("parseRFC3339(%q) left a common form to time.Parse", s)
			}
		}
		checkRFC3339(t, s)
	}
}

func TestDaysFromCivil(t *testing.T) {
	for d := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 10000; d = d.AddDate(0, 0, 1) {
		if got, want := daysFromCivil(d.Year(), int(d.Month()), d.Day()), d.Unix()/86400; got != want {
			t.Fatalf("daysFromCivil(%s) = %d, want %d", d.Format("2006-01-02"), got, want)
		}
		if d.Year() == 100 {
			// The calendar repeats every 400 years: skip to the last
			// cycles rather than walking all ten thousand years.
			d = time.Date(9600, 1, 1, 0, 0, 0, 0, time.UTC)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	f := func(in string) {
		t.Helper()
		got, ok := parseDecimal([]byte(in))
		want, err := strconv.ParseFloat(in, 64)
		if ok && (err != nil || math.Float64bits(got) != math.Float64bits(want)) {
			t.Errorf("parseDecimal(%q) = %v, strconv.ParseFloat = %v, %v", in, got, want, err)
		}
	}
	for _, in := range []string{"0", "5", "42", "42.5", "0.1", "0.3", "1795935603", "1795935603123", "1795935603.123",
		"999999999999999", "99999999999999.9", "0.000000000000001", "007", "1.10", "9007199254740993", "1e3", "-1",
		".5", "5.", "1.2.3", "", "1_000", "0x10", "inf", "NaN"} {
		f(in)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		digits := 1 + r.IntN(maxExactDigits)
		s := strconv.FormatUint(r.Uint64N(uint64(math.Pow10(digits))), 10)
		if p := r.IntN(len(s) + 1); p > 0 && p < len(s) {
			s = s[:p] + "." + s[p:]
		}
		if _, ok := parseDecimal([]byte(s)); !ok {
			t.Fatalf("parseDecimal(%q) left a plain decimal to strconv", s)
		}
		f(s)
	}
}

// FuzzParseTime checks the hand-written fast paths against the standard
// library on arbitrary text.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-29T07:00:03Z", "2026-11-29T15:00:03.123+08:00", "2026-11-29 07:00:03",
		"2024-02-29 23:59:59.999999999999-23:59", "42.5", "1795935603123"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRFC3339(t, s)
		if got, ok := parseDecimal([]byte(s)); ok {
			want, err := strconv.ParseFloat(s, 64)
			if err != nil || got != want {
				t.Fatalf("parseDecimal(%q) = %v, strconv.ParseFloat = %v, %v", s, got, want, err)
			}
		}
	})
}
