package decode

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// china is the default configuration's numbering plan.
var china = Numbering{CountryCode: "86", NationalPrefix: "0", InternationalPrefixes: []string{"00"}}

// chinaOptions are a decoder's options under the default configuration,
// with start times allowed up to maxFuture ahead of now.
func chinaOptions(maxFuture time.Duration) Options {
	return Options{Numbering: china, MaxFuture: maxFuture}
}

func TestNormalize(t *testing.T) {
	n := china
	f := func(in, want string) {
		t.Helper()
		got, err := n.Normalize([]byte(in))
		if err != nil {
			t.Errorf("Normalize(%q): %v", in, err)
			return
		}
		if got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	f("+8613912345678", "+8613912345678")
	f("8613912345678", "+8613912345678")
	f("008613912345678", "+8613912345678")
	f("13912345678", "+8613912345678")
	f("075512345678", "+8675512345678")
	f("+1 (415) 555-0100", "+14155550100")
	f("0014155550100", "+14155550100")
	f("110", "+86110")
	f("95588", "+8695588")

	bad := func(in string) {
		t.Helper()
		if got, err := n.Normalize([]byte(in)); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", in, got)
		}
	}
	bad("")
	bad("abc-def")
	bad("+")
	bad("1390000000000000000")
	bad("+0123")
	bad("12+34")
	bad("12")
}

func TestNumberKeyRoundTrip(t *testing.T) {
	for _, s := range []string{"+8613912345678", "+14155550100", "+86110", "+999999999999999"} {
		if got := KeyNumber(NumberKey(s)); got != s {
			t.Errorf("KeyNumber(NumberKey(%q)) = %q", s, got)
		}
	}
}

func TestDecode(t *testing.T) {
	start := time.Date(2026, 11, 29, 7, 0, 3, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want schemas.CDR
	}{{
		name: "full record, RFC 3339",
		in: `{"call_id":"a1","caller":"+8613912345678","callee":"13800000001","start_time":"2026-11-29T07:00:03Z",` +
			`"duration":42,"ring_duration":5,"disposition":"answered","cause":16,"switch_id":"sw1","trunk_id":"t9",` +
			`"imsi":"460001","imei":"3566","cell_id":1234,"attestation":"A","extra":{"nested":[1,2,{"x":null}]}}`,
		want: schemas.CDR{CallID: "a1", Key: "sw1/a1", Caller: "+8613912345678", Callee: "+8613800000001", StartTime: start,
			Duration: 42, RingDuration: 5, Disposition: schemas.Answered, Cause: 16, SwitchID: "sw1", TrunkID: "t9",
			IMSI: "460001", IMEI: "3566", CellID: "1234", Attestation: "A"},
	}, {
		name: "epoch seconds, derived disposition from times",
		in:   `{"call_id":"a2","caller":"008613912345678","callee":"075512345678","start_time":1795935603,"answer_time":1795935610,"end_time":1795935620}`,
		want: schemas.CDR{CallID: "a2", Key: "a2", Caller: "+8613912345678", Callee: "+8675512345678",
			StartTime: time.Unix(1795935603, 0).UTC(), AnswerTime: time.Unix(1795935610, 0).UTC(), EndTime: time.Unix(1795935620, 0).UTC(),
			Duration: 10, RingDuration: 7, Disposition: schemas.Answered},
	}, {
		name: "epoch millis, busy from cause, offset time zone",
		in:   `{"call_id":"a3","caller":"13912345678","callee":"13800000002","start_time":1795935603500,"cause":17,"end_time":"2026-11-29T15:00:10+08:00"}`,
		want: schemas.CDR{CallID: "a3", Key: "a3", Caller: "+8613912345678", Callee: "+8613800000002",
			StartTime: time.UnixMilli(1795935603500).UTC(), EndTime: time.Date(2026, 11, 29, 7, 0, 10, 0, time.UTC),
			RingDuration: 6.5, Disposition: schemas.Busy, Cause: 17},
	}, {
		name: "unanswered disposition zeroes talk time",
		in:   `{"call_id":"a4","caller":"13912345678","callee":"13800000002","start_time":"2026-11-29T07:00:03Z","disposition":"no_answer","duration":12}`,
		want: schemas.CDR{CallID: "a4", Key: "a4", Caller: "+8613912345678", Callee: "+8613800000002", StartTime: start,
			Disposition: schemas.NoAnswer},
	}, {
		name: "escaped strings and nulls",
		in:   `{"call_id":"a\u00e95\"","caller":"+86 139 1234 5678","callee":"13800000003","start_time":"2026-11-29T07:00:03Z","imsi":null,"duration":null}`,
		want: schemas.CDR{CallID: "a\u00e95\"", Key: "a\u00e95\"", Caller: "+8613912345678", Callee: "+8613800000003", StartTime: start,
			Disposition: schemas.NoAnswer},
	}}
	d := NewDecoder(chinaOptions(15 * time.Minute))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.Decode([]byte(tt.in), now)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got != tt.want {
				t.Errorf("Decode =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeKeyWithoutCallID(t *testing.T) {
	d := NewDecoder(chinaOptions(time.Hour))
	a, err := d.Decode([]byte(`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"duration":3,"disposition":"answered"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Decode([]byte(`{"caller":"+8613912345678","callee":"+8613800000001","start_time":"2026-11-29T07:00:03Z","duration":3,"disposition":"answered","cell_id":"x"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if a.Key == "" || a.Key != b.Key {
		t.Errorf("the same call written two ways got keys %q and %q", a.Key, b.Key)
	}
	c, _ := d.Decode([]byte(`{"caller":"13912345678","callee":"13800000001","start_time":1795935604,"duration":3,"disposition":"answered"}`), now)
	if c.Key == a.Key {
		t.Errorf("different calls share key %q", c.Key)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct{ in, want, reason string }{
		{`{"caller":"1391234`, "broken JSON", ReasonBrokenJSON},
		{`not json`, "broken JSON", ReasonBrokenJSON},
		{`[1,2]`, "not an object", ReasonNotObject},
		{`"cdr"`, "not an object", ReasonNotObject},
		{`{"caller":"13912345678","callee":"138","start_time":1795935603} x`, "unexpected data", ReasonBrokenJSON},
		{`{"callee":"13800000001","start_time":1795935603}`, "missing caller", ReasonMissingField},
		{`{"caller":"13912345678","start_time":1795935603}`, "missing callee", ReasonMissingField},
		{`{"caller":"13912345678","callee":"13800000001"}`, "missing start_time", ReasonMissingField},
		{`{"caller":"13912345678","callee":"abc-def","start_time":1795935603}`, "callee", ReasonBadNumber},
		{`{"caller":"","callee":"13800000001","start_time":1795935603}`, "empty number", ReasonBadNumber},
		{`{"caller":{"n":"13912345678"},"callee":"13800000001","start_time":1795935603}`, "want a string, got a object", ReasonWrongType},
		{`{"caller":13912345678,"callee":"13800000001","start_time":1795935603}`, "want a string, got a number", ReasonWrongType},
		{`{"caller":"13912345678","callee":"13800000001","start_time":"yesterday"}`, "not an RFC 3339 time", ReasonBadTime},
		{`{"caller":"13912345678","callee":"13800000001","start_time":true}`, "want a time", ReasonWrongType},
		{`{"caller":"13912345678","callee":"13800000001","start_time":"1900-01-01T00:00:00Z"}`, "before 2000", ReasonTooOld},
		{`{"caller":"13912345678","callee":"13800000001","start_time":"2300-01-01T00:00:00Z"}`, "in the future", ReasonInFuture},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"duration":-3}`, "negative", ReasonBadDuration},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"duration":"ten"}`, "not a number", ReasonBadDuration},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"duration":true}`, "want a number", ReasonWrongType},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"end_time":1796200000}`, "two days", ReasonBadDuration},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"disposition":"maybe"}`, "unknown disposition", ReasonBadDisposition},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"end_time":1795935602}`, "end_time is before", ReasonTimeOrder},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"answer_time":1795935601.9}`, "answer_time is before", ReasonTimeOrder},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"cause":1.5}`, "Q.850", ReasonBadCause},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"cause":128}`, "Q.850", ReasonBadCause},
		{`{"caller":"13912345678","callee":"13800000001","start_time":-5}`, "not a Unix time", ReasonBadTime},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"imsi":[1]}`, "want a string", ReasonWrongType},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"caller_noa":"foreign"}`, "caller_noa", ReasonBadNOA},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"callee_noa":4}`, "callee_noa", ReasonWrongType},
		{`{"caller":"13912345678","callee":"13800000001","start_time":1795935603,"caller_presentation":"hidden"}`, "caller_presentation", ReasonBadPresentation},
		{`{"caller":"139` + "\x01" + `"}`, "control character", ReasonBrokenJSON},
		{strings.Repeat("[", 100), "expected a JSON object", ReasonBrokenJSON},
		{`{"x":` + strings.Repeat("[", 100) + `}`, "nesting", ReasonBrokenJSON},
	}
	d := NewDecoder(chinaOptions(15 * time.Minute))
	for _, tt := range tests {
		_, err := d.Decode([]byte(tt.in), now)
		if err == nil {
			t.Errorf("Decode(%q) = nil error, want %q", tt.in, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%q) error %q, want it to contain %q", tt.in, err, tt.want)
		}
		if got := ReasonOf(err); got != tt.reason {
			t.Errorf("Decode(%q) reason %q, want %q (error %q)", tt.in, got, tt.reason, err)
		}
		if !slices.Contains(Reasons, ReasonOf(err)) {
			t.Errorf("reason %q of %q is not listed in Reasons", ReasonOf(err), tt.in)
		}
	}
}

// FuzzDecode checks the decoder never panics and agrees with encoding/json
// on which inputs are syntactically valid objects.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"call_id":"a1","caller":"+8613912345678","callee":"13800000001","start_time":"2026-11-29T07:00:03Z","duration":42,"disposition":"answered"}`))
	f.Add([]byte(`{"caller":"008613912345678","callee":"075512345678","start_time":1795935603123,"cause":17,"x":{"y":[1,"\u00e9",null]}}`))
	f.Add([]byte(`{"caller":"1391234`))
	f.Add([]byte(`{"a":"\ud83d\ude00"}`))
	f.Add([]byte(`{"call_id":"1","switch_id":"BJ","caller":"442079460000","caller_noa":"international","callee":"13800000001","callee_noa":"national","start_time":"2026-11-29 15:00:03.250","end_time":"2026-11-29 15:00:03"}`))
	f.Add([]byte(`{"caller":"anonymous","callee":"+8613800000001","start_time":"2026-04-05T02:30:00","switch_id":"SYD","caller_presentation":"restricted"}`))
	d := zonedDecoder(f, "Asia/Shanghai")
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := d.Decode(in, now)
		var obj map[string]json.RawMessage
		jsonErr := json.Unmarshal(in, &obj)
		if err == nil {
			if jsonErr != nil {
				t.Fatalf("decoder accepted %q that encoding/json rejects: %v", in, jsonErr)
			}
			if c.Caller == "" && !c.Withheld || c.Callee == "" || c.StartTime.IsZero() || c.Key == "" {
				t.Fatalf("accepted record lacks required fields: %+v", c)
			}
			if c.Duration < 0 || c.RingDuration < 0 {
				t.Fatalf("negative duration accepted: %+v", c)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	in := []byte(`{"call_id":"c-000123456","caller":"+8613912345678","callee":"13800000001","start_time":"2026-11-29T07:00:03Z",` +
		`"duration":42.5,"ring_duration":5,"disposition":"answered","cause":16,"switch_id":"sw-bj-01","trunk_id":"t9","cell_id":"46000-1234"}`)
	d := NewDecoder(chinaOptions(time.Hour))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := d.Decode(in, now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSwitchPlans: a switch abroad writes its own country's national and
// international prefixes; its numbers are read in its plan, the others'
// in the home plan.
func TestSwitchPlans(t *testing.T) {
	o := chinaOptions(time.Hour)
	o.SwitchPlans = map[string]Numbering{"AST-MSK": {CountryCode: "7", NationalPrefix: "8", InternationalPrefixes: []string{"810"}}}
	d := NewDecoder(o)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ sw, caller, callee, wantCaller, wantCallee string }{
		{"AST-MSK", "89161234567", "81044207946000", "+79161234567", "+44207946000"},
		{"BJ-1", "013800138000", "0044207946000", "+8613800138000", "+44207946000"},
		{"", "013800138000", "02088886666", "+8613800138000", "+862088886666"},
	} {
		raw := `{"caller":"` + tc.caller + `","callee":"` + tc.callee + `","start_time":"2026-11-30T08:00:00Z","switch_id":"` + tc.sw + `"}`
		c, err := d.Decode([]byte(raw), now)
		if err != nil || c.Caller != tc.wantCaller || c.Callee != tc.wantCallee {
			t.Errorf("switch %q: %s → %s (%v); want %s → %s", tc.sw, c.Caller, c.Callee, err, tc.wantCaller, tc.wantCallee)
		}
	}
}
