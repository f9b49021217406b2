package decode

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Tests of what switches in the field write: other numbering plans,
// natures of address, withheld caller IDs, local times, times of mixed
// precision, call ids numbered per switch.

func TestNormalizeNOA(t *testing.T) {
	f := func(n Numbering, in string, noa NOA, want string) {
		t.Helper()
		got, err := n.NormalizeNOA([]byte(in), noa)
		if err != nil {
			t.Errorf("NormalizeNOA(%q, %d) with %+v: %v", in, noa, n, err)
			return
		}
		if got != want {
			t.Errorf("NormalizeNOA(%q, %d) with %+v = %q, want %q", in, noa, n, got, want)
		}
	}
	russia := Numbering{CountryCode: "7", NationalPrefix: "8", InternationalPrefixes: []string{"810"}}
	nanp := Numbering{CountryCode: "1", NationalPrefix: "1", InternationalPrefixes: []string{"011"}}
	many := Numbering{CountryCode: "86", NationalPrefix: "0", InternationalPrefixes: []string{"00", "000", "9011"}}

	// An international number without any prefix: only its nature of
	// address tells it from a national one.
	f(china, "442079460000", NOAInternational, "+442079460000")
	f(china, "442079460000", NOAUnknown, "+86442079460000")
	f(china, "00442079460000", NOAInternational, "+442079460000")
	f(china, "+442079460000", NOAInternational, "+442079460000")
	f(china, "13912345678", NOANational, "+8613912345678")
	f(china, "075512345678", NOANational, "+8675512345678")
	f(china, "8613912345678", NOANational, "+868613912345678")
	f(china, "12345678", NOASubscriber, "+8612345678")
	f(china, "+8613912345678", NOANational, "+868613912345678")

	// Other plans' prefixes: Russia dials 8 before national numbers and
	// 810 before country codes; the NANP 1 and 011.
	f(russia, "89161234567", NOAUnknown, "+79161234567")
	f(russia, "8102079460000", NOAUnknown, "+2079460000")
	f(russia, "81044207946000", NOAUnknown, "+44207946000")
	f(russia, "79161234567", NOAUnknown, "+79161234567")
	f(russia, "89161234567", NOANational, "+79161234567")
	f(nanp, "14155550100", NOAUnknown, "+14155550100")
	f(nanp, "4155550100", NOAUnknown, "+14155550100")
	f(nanp, "011442079460000", NOAUnknown, "+442079460000")
	f(many, "000442079460000", NOAUnknown, "+442079460000")
	f(many, "9011442079460000", NOAUnknown, "+442079460000")
	f(many, "00442079460000", NOAUnknown, "+442079460000")

	for _, in := range []struct {
		s   string
		noa NOA
	}{{"0", NOAInternational}, {"00", NOAInternational}, {"12", NOANational}, {"0", NOANational}, {"4420794600001234", NOAInternational}} {
		if got, err := china.NormalizeNOA([]byte(in.s), in.noa); err == nil {
			t.Errorf("NormalizeNOA(%q, %d) = %q, want an error", in.s, in.noa, got)
		}
	}
}

func TestDecodeNOA(t *testing.T) {
	d := NewDecoder(chinaOptions(time.Hour))
	c, err := d.Decode([]byte(`{"caller":"442079460000","caller_noa":"INTERNATIONAL","callee":"13800000001","callee_noa":"national","start_time":1795935603}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Caller != "+442079460000" || c.Callee != "+8613800000001" {
		t.Errorf("caller %q callee %q, want +442079460000 and +8613800000001", c.Caller, c.Callee)
	}
}

func TestDecodeWithheld(t *testing.T) {
	d := NewDecoder(chinaOptions(time.Hour))
	f := func(in, caller string, withheld bool) {
		t.Helper()
		c, err := d.Decode([]byte(in), now)
		if err != nil {
			t.Errorf("Decode(%s): %v", in, err)
			return
		}
		if c.Caller != caller || c.Withheld != withheld {
			t.Errorf("Decode(%s): caller %q withheld %v, want %q %v", in, c.Caller, c.Withheld, caller, withheld)
		}
		if c.Key == "" {
			t.Errorf("Decode(%s): no key", in)
		}
	}
	const rest = `"callee":"13800000001","start_time":1795935603`
	f(`{"caller":"anonymous",`+rest+`}`, "", true)
	f(`{"caller":"Anonymous",`+rest+`}`, "", true)
	f(`{"caller":"RESTRICTED",`+rest+`}`, "", true)
	f(`{"caller":"unavailable",`+rest+`}`, "", true)
	f(`{"caller":"Unknown",`+rest+`}`, "", true)
	f(`{"caller":"13912345678","caller_presentation":"restricted",`+rest+`}`, "+8613912345678", true)
	f(`{"caller":"","caller_presentation":"restricted",`+rest+`}`, "", true)
	f(`{"caller":"13912345678","caller_presentation":"allowed",`+rest+`}`, "+8613912345678", false)
	f(`{"caller":"13912345678","caller_presentation":"Unavailable",`+rest+`}`, "+8613912345678", true)

	// Two withheld calls to one callee at different times are two calls.
	a, _ := d.Decode([]byte(`{"caller":"anonymous","callee":"13800000001","start_time":1795935603}`), now)
	b, _ := d.Decode([]byte(`{"caller":"anonymous","callee":"13800000001","start_time":1795935663}`), now)
	if a.Key == b.Key {
		t.Errorf("two withheld calls share the key %q", a.Key)
	}
}

func TestDecodeSubSecondTimes(t *testing.T) {
	d := NewDecoder(chinaOptions(time.Hour))
	start := time.Date(2026, 11, 29, 7, 0, 3, 400e6, time.UTC)
	// start with milliseconds, answer and end truncated to whole seconds.
	c, err := d.Decode([]byte(`{"call_id":"x","caller":"13912345678","callee":"13800000001",`+
		`"start_time":"2026-11-29T07:00:03.400Z","end_time":"2026-11-29T07:00:03Z","cause":34}`), now)
	if err != nil {
		t.Fatalf("a call that failed at once, ending 400 ms 'before' it started: %v", err)
	}
	if !c.EndTime.Equal(start) || c.RingDuration != 0 {
		t.Errorf("end %v ring %v, want end = start %v and ring 0", c.EndTime, c.RingDuration, start)
	}
	c, err = d.Decode([]byte(`{"call_id":"y","caller":"13912345678","callee":"13800000001",`+
		`"start_time":"2026-11-29T07:00:03.999Z","answer_time":"2026-11-29T07:00:03Z","end_time":"2026-11-29T07:00:10Z"}`), now)
	if err != nil {
		t.Fatalf("answered 999 ms 'before' the start: %v", err)
	}
	if !c.AnswerTime.Equal(c.StartTime) || c.Duration != 6.001 || c.Disposition.String() != "answered" {
		t.Errorf("answer %v (start %v), talk %v, %s: want answer = start, talk 6.001 s, answered", c.AnswerTime, c.StartTime, c.Duration, c.Disposition)
	}
	// End between a sub-second-early answer and the start.
	if _, err := d.Decode([]byte(`{"caller":"13912345678","callee":"13800000001",`+
		`"start_time":"2026-11-29T07:00:03.5Z","answer_time":"2026-11-29T07:00:03Z","end_time":"2026-11-29T07:00:03Z"}`), now); err != nil {
		t.Errorf("answer and end both truncated: %v", err)
	}
	// A whole second is a broken record, not precision.
	if _, err := d.Decode([]byte(`{"caller":"13912345678","callee":"13800000001",`+
		`"start_time":"2026-11-29T07:00:04Z","end_time":"2026-11-29T07:00:03Z"}`), now); ReasonOf(err) != ReasonTimeOrder {
		t.Errorf("end a whole second before start: err %v, want %s", err, ReasonTimeOrder)
	}
}

// zonedDecoder reads local times as UTC by default, Asia/Shanghai for
// switch BJ and Australia/Sydney (daylight saving) for switch SYD.
func zonedDecoder(t testing.TB, def string) *Decoder {
	t.Helper()
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	o := chinaOptions(time.Hour)
	o.Zone = load(def)
	o.SwitchZones = map[string]*time.Location{"BJ": load("Asia/Shanghai"), "SYD": load("Australia/Sydney")}
	return NewDecoder(o)
}

func TestDecodeLocalTimes(t *testing.T) {
	d := zonedDecoder(t, "UTC")
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	f := func(sw, local string, want time.Time) {
		t.Helper()
		in := `{"caller":"13912345678","callee":"13800000001","start_time":"` + local + `","switch_id":"` + sw + `"}`
		if sw == "" {
			in = `{"caller":"13912345678","callee":"13800000001","start_time":"` + local + `"}`
		}
		c, err := d.Decode([]byte(in), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Errorf("switch %q %q: %v", sw, local, err)
			return
		}
		if !c.StartTime.Equal(want) {
			t.Errorf("switch %q %q = %v, want %v", sw, local, c.StartTime, want)
		}
	}
	f("BJ", "2026-11-29 15:00:03", utc("2026-11-29T07:00:03Z"))
	f("BJ", "2026-11-29T15:00:03.250", utc("2026-11-29T07:00:03.25Z"))
	f("BJ", "2026-11-29T15:00:03+08:00", utc("2026-11-29T07:00:03Z")) // an offset wins over the zone
	f("BJ", "2026-11-29T15:00:03Z", utc("2026-11-29T15:00:03Z"))
	f("", "2026-11-29 15:00:03", utc("2026-11-29T15:00:03Z"))
	f("OTHER", "2026-11-29 15:00:03", utc("2026-11-29T15:00:03Z"))
	// Sydney is at +11:00 in December, +10:00 in June.
	f("SYD", "2026-12-01 09:00:00", utc("2026-11-30T22:00:00Z"))
	f("SYD", "2026-06-01 09:00:00", utc("2026-05-31T23:00:00Z"))
	// Daylight saving ended at 03:00 on 5 April 2026 (back to 02:00): the
	// repeated half hour is read as its first pass, still at +11:00.
	f("SYD", "2026-04-05 02:30:00", utc("2026-04-04T15:30:00Z"))
	f("SYD", "2026-04-05 03:30:00", utc("2026-04-04T17:30:00Z"))
	f("SYD", "2026-04-05 01:59:59", utc("2026-04-04T14:59:59Z"))
	// It began at 02:00 on 4 October 2026 (on to 03:00): the skipped half
	// hour is read at the old offset, +10:00.
	f("SYD", "2026-10-04 02:30:00", utc("2026-10-03T16:30:00Z"))
	f("SYD", "2026-10-04 03:30:00", utc("2026-10-03T16:30:00Z"))
	f("SYD", "2026-10-04 01:30:00", utc("2026-10-03T15:30:00Z"))

	// Epoch numbers are instants whatever the zone.
	c, err := d.Decode([]byte(`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"switch_id":"BJ"}`), now)
	if err != nil || c.StartTime.Unix() != 1795935603 {
		t.Errorf("epoch seconds on a zoned switch: %v %v", c.StartTime, err)
	}
}

// TestDecodeLocalDefaultZone: a switch at +08:00 writing local times was
// rejected as "in the future" when they were read as UTC.
func TestDecodeLocalDefaultZone(t *testing.T) {
	d := zonedDecoder(t, "Asia/Shanghai")
	clock := time.Date(2026, 11, 29, 7, 5, 0, 0, time.UTC) // 15:05 in Beijing
	c, err := d.Decode([]byte(`{"caller":"13912345678","callee":"13800000001","start_time":"2026-11-29 15:00:03","answer_time":"2026-11-29 15:00:09","end_time":"2026-11-29 15:01:09"}`), clock)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 29, 7, 0, 3, 0, time.UTC); !c.StartTime.Equal(want) || c.Duration != 60 {
		t.Errorf("start %v talk %v, want %v and 60 s", c.StartTime, c.Duration, want)
	}
}

// TestZoneConvMatchesStdlib checks the cached conversion against
// time.Date for wall-clock times that have exactly one reading, in zones
// with and without daylight saving, hopping around the calendar.
func TestZoneConvMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"UTC", "Asia/Shanghai", "Australia/Sydney", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		z := newZoneConv(loc)
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		for range 20000 {
			wall := base + r.Int64N(3*365*86400)
			if r.IntN(4) == 0 {
				wall = base + r.Int64N(86400) // stay in one period now and then
			}
			w := time.Unix(wall, 0).UTC()
			std := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
			// Skip readings around a change of offset, where the rule
			// (not time.Date's choice) decides; they are tested above.
			if back := std.In(loc); back.Hour() != w.Hour() || back.Minute() != w.Minute() || ambiguous(std, loc) {
				continue
			}
			if got := z.unix(wall); got != std.Unix() {
				t.Fatalf("%s: wall %s read as %s, time.Date says %s", name, w.Format(time.DateTime),
					time.Unix(got, 0).In(loc), std)
			}
		}
	}
}

// ambiguous reports whether the wall clock of t also names another
// instant within two hours (a clock set back).
func ambiguous(t time.Time, loc *time.Location) bool {
	for _, d := range []time.Duration{-2 * time.Hour, -time.Hour, -30 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour} {
		o := t.Add(d).In(loc)
		if o.Format(time.DateTime) == t.In(loc).Format(time.DateTime) {
			return true
		}
	}
	return false
}

func TestCallKeyPerSwitch(t *testing.T) {
	d := NewDecoder(chinaOptions(time.Hour))
	key := func(sw string) string {
		t.Helper()
		in := `{"call_id":"100231","caller":"13912345678","callee":"13800000001","start_time":1795935603`
		if sw != "" {
			in += `,"switch_id":"` + sw + `"`
		}
		c, err := d.Decode([]byte(in+`}`), now)
		if err != nil {
			t.Fatal(err)
		}
		return c.Key
	}
	if a, b := key("SW-A"), key("SW-B"); a == b {
		t.Errorf("call id 100231 from two switches: both keyed %q", a)
	}
	if a, b := key("SW-A"), key("SW-A"); a != b {
		t.Errorf("a re-send by the same switch: keys %q and %q", a, b)
	}
	for sw, want := range map[string]string{"": "100231", "SW-A": "SW-A/100231", "a/b": "a%2Fb/100231", "50%": "50%25/100231"} {
		if got := key(sw); got != want {
			t.Errorf("switch %q: key %q, want %q", sw, got, want)
		}
	}
	// Escaping keeps switch ids that differ only around a '/' apart.
	if key("a/b") == key("a%2Fb") {
		t.Error("switches a/b and a%2Fb share keys")
	}
	if !strings.HasPrefix(key("BJ"), "BJ/") {
		t.Error("key does not start with the switch")
	}
}
