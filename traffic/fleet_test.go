package traffic

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
)

// skewOf is the clock skew of the switch with id ("" or unknown: none).
func skewOf(id string) time.Duration {
	if i, err := SwitchIndex(id); err == nil {
		return fleet[i].Skew
	}
	return 0
}

// sourceOf names the switch that wrote r. The two switches that write no
// switch_id differ in call ids: one writes none (TestFleetTable keeps
// this true).
func sourceOf(r record) string {
	if r.switchID != "" {
		return r.switchID
	}
	for _, sw := range fleet {
		if !sw.WritesID && (sw.CallIDs == IDNone) == (r.callID == "") {
			return sw.ID
		}
	}
	return "?"
}

// TestFleetTable checks the fleet is the field's mix the traffic model
// promises, and that its dialects are readable: a switch without switch_id
// has no local times, no skew and no call ids that repeat elsewhere.
func TestFleetTable(t *testing.T) {
	ids := map[string]bool{}
	weight := 0
	count := map[string]int{}
	for i, sw := range fleet {
		if ids[sw.ID] {
			t.Errorf("switch id %s twice", sw.ID)
		}
		ids[sw.ID] = true
		weight += sw.Weight
		rules := []struct {
			bad  bool
			what string
		}{
			{!sw.WritesID && !sw.CallIDs.unique(), "writes no switch_id but call ids that repeat on other switches"},
			{!sw.WritesID && (sw.Times.Local() || sw.Skew != 0), "writes no switch_id but local times or a skewed clock"},
			{sw.Times.Local() != (sw.Zone != ""), "has a zone without local times or local times without a zone"},
			{sw.Withheld.noNumber() && sw.CallIDs == IDNone, "drops withheld numbers but writes no call id: two such calls could look alike"},
			{sw.Fields&FieldTimes == 0 && sw.Fields&FieldDuration == 0, "writes neither times nor duration"},
			{sw.Fields&FieldTimes == 0 && sw.Fields&(FieldDisposition|FieldCause) == 0, "gives no way to tell how the call ended"},
			{sw.MixedPrecision && (!sw.Times.Milli() || sw.Fields&FieldTimes == 0), "is mixed-precision without millisecond start or answer/end times"},
			{sw.Fields&FieldTimes != 0 && sw.Fields&FieldDuration == 0 && !sw.Times.Milli(), "derives talk time from whole-second times"},
			{sw.partner != 0 && (sw.partner-1 >= i || fleet[sw.partner-1].CallIDs != IDCounter || sw.CallIDs != IDCounter), "has a bad counter partner"},
			{sw.reaches != 0 && (sw.reaches-1 >= i || fleet[sw.reaches-1].CallIDs != IDCounter || sw.CallIDs != IDCounter), "reaches a bad counter"},
			{(sw.Kind == KindGateway) != (i == gatewayIndex) || (sw.Kind == KindGateway) != (sw.Weight == 0), "is a gateway out of place"},
		}
		for _, r := range rules {
			if r.bad {
				t.Errorf("%s %s", sw.ID, r.what)
			}
		}
		if sw.Times.Local() {
			count["local "+sw.Zone]++
		}
		if sw.MixedPrecision {
			count["mixed"]++
		}
		if sw.Skew != 0 {
			count["skew "+sw.Skew.String()]++
		}
		if !sw.WritesID {
			count["no switch_id"]++
		}
		count["ids "+sw.CallIDs.String()]++
	}
	if len(fleet) != 20 || weight != 1000 {
		t.Errorf("%d switches with weights adding to %d, want 20 and 1000", len(fleet), weight)
	}
	want := map[string][2]int{
		"local Asia/Shanghai": {3, 3}, "local Australia/Sydney": {1, 1}, "mixed": {2, 3},
		"skew 3m0s": {1, 1}, "skew -1m30s": {1, 1}, "no switch_id": {1, 3},
		"ids counter": {3, 8}, "ids asterisk": {1, 2}, "ids none": {1, 2},
	}
	for k, w := range want {
		if count[k] < w[0] || count[k] > w[1] {
			t.Errorf("%s: %d switches, want %d to %d", k, count[k], w[0], w[1])
		}
	}
	sydney, _ := time.LoadLocation("Australia/Sydney")
	if _, off := time.Date(2026, 12, 1, 0, 0, 0, 0, sydney).Zone(); off != 11*3600 {
		t.Errorf("Sydney is at %+d s in December, want daylight saving (+11:00)", off)
	}
}

// TestSwitchZonesConfig checks SwitchZones is what the pipeline's
// input.switch_zones accepts, and names every local-time switch.
func TestSwitchZonesConfig(t *testing.T) {
	zones := SwitchZones()
	want := []string{"SH-AST-01=Asia/Shanghai", "SH-FS-01=Asia/Shanghai", "NB-MSC-03=Asia/Shanghai", "SYD-IGW-01=Australia/Sydney"}
	if !slices.Equal(zones, want) {
		t.Errorf("SwitchZones() = %v, want %v", zones, want)
	}
	c := config.Default()
	c.Input.SwitchZones = zones
	if err := c.Validate(); err != nil {
		t.Fatalf("the pipeline rejects SwitchZones(): %v", err)
	}
	_, per := c.Input.Zones()
	for _, sz := range per {
		i, err := SwitchIndex(sz.Switch)
		if err != nil || sz.Zone.String() != fleet[i].Zone {
			t.Errorf("zone of %s: %v (%v)", sz.Switch, sz.Zone, err)
		}
	}
}

// TestHomeSwitch checks homing is a pure function of the number, spreads
// callers by weight, and never homes a caller on the gateway.
func TestHomeSwitch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 200000
	var got [NumSwitches]int
	for range n {
		num := nationalNumber(86, randomMobile(r))
		sw := HomeSwitch(num)
		if HomeSwitch(num) != sw {
			t.Fatal("HomeSwitch is not deterministic")
		}
		got[sw]++
	}
	for i, sw := range fleet {
		want := float64(n) * float64(sw.Weight) / 1000
		if d := math.Abs(float64(got[i]) - want); d > 5*math.Sqrt(want)+1 {
			t.Errorf("%s homes %d of %d callers, want about %.0f", sw.ID, got[i], n, want)
		}
	}
}

// encoderCalls are calls every switch must write so that they read back
// as Observe says and the truth allows.
func encoderCalls() []struct {
	name string
	rec  Record
} {
	start := time.Date(2026, 11, 29, 7, 0, 3, 250e6, time.UTC).UnixMilli()
	mobile := nationalNumber(86, 13912345678)
	landline := nationalNumber(86, 75512345678)
	beijing := nationalNumber(86, 1062345678)
	service := nationalNumber(86, 95588)
	return []struct {
		name string
		rec  Record
	}{
		{"answered", Record{Seq: 1, Start: start, Ring: 5300, Talk: 62480, Disp: DispAnswered, Cause: 16, Caller: mobile, Callee: landline}},
		{"short answered", Record{Seq: 2, Start: start + 1999, Ring: 2100, Talk: 1200, Disp: DispAnswered, Cause: 16, Caller: landline, Callee: mobile}},
		{"failed at once", Record{Seq: 3, Start: start, Ring: 40, Disp: DispFailed, Cause: 41, Caller: mobile, Callee: beijing}},
		{"one ring", Record{Seq: 4, Start: start + 900, Ring: 1700, Disp: DispCancelled, Cause: 31, Caller: beijing, Callee: mobile}},
		{"busy", Record{Seq: 5, Start: start, Ring: 300, Disp: DispBusy, Cause: 17, Caller: mobile, Callee: service}},
		{"no answer", Record{Seq: 6, Start: start, Ring: 31000, Disp: DispNoAnswer, Cause: 19, Caller: mobile, Callee: landline}},
		{"withheld", Record{Seq: 7, Start: start, Ring: 4000, Talk: 30000, Disp: DispAnswered, Cause: 16, Caller: mobile, Callee: landline, Withheld: true}},
		{"from abroad", Record{Seq: 8, Start: start, Ring: 6000, Talk: 95000, Disp: DispAnswered, Cause: 16, Caller: 447700900123, Callee: mobile, Trunk: "INTL-GW1"}},
		{"from abroad, NANP", Record{Seq: 9, Start: start, Ring: 1500, Disp: DispCancelled, Cause: 16, Caller: 12125550123, Callee: mobile}},
	}
}

// TestEncoderObserve writes every test call on every switch, reads each
// line back as the contract says (local times with ParseInLocation in the
// switch's zone), and checks it against Observe and against the truth.
func TestEncoderObserve(t *testing.T) {
	var counts [NumSwitches]int64
	for i := range counts {
		counts[i] = 1000
	}
	enc := NewEncoder(86, 7, counts)
	r := rand.New(rand.NewPCG(1, 2))
	for sw, s := range fleet {
		for _, c := range encoderCalls() {
			for try := range 8 { // forms a switch draws per record
				line := append(enc.AppendCDR([]byte{'{'}, sw, &c.rec, r), '}')
				got, reason := parseRecord(line)
				if reason != "" {
					t.Fatalf("%s %s: %s: %s", s.ID, c.name, reason, line)
				}
				obs := enc.Observe(sw, &c.rec)
				if try == 0 {
					checkObserved(t, s, c.name, c.rec, obs)
				}
				wantCaller := ""
				if obs.Caller != 0 {
					wantCaller = obs.Caller.String()
				}
				checks := []struct {
					what      string
					got, want any
				}{
					{"start", got.start.UnixMilli(), obs.Start},
					{"caller", got.caller, wantCaller},
					{"callee", got.callee, c.rec.Callee.String()},
					{"withheld", got.withheld, c.rec.Withheld},
					{"disposition", got.disp, obs.Disp.String()},
					{"talk ms", int64(math.Round(got.talk * 1000)), obs.Talk},
					{"ring ms", int64(math.Round(got.ring * 1000)), obs.Ring},
					{"switch_id", got.switchID != "", s.WritesID},
					{"call_id", got.callID != "", s.CallIDs != IDNone},
				}
				for _, ch := range checks {
					if ch.got != ch.want {
						t.Errorf("%s %s: %s read back %v, observed %v: %s", s.ID, c.name, ch.what, ch.got, ch.want, line)
					}
				}
			}
		}
	}
}

// checkObserved holds Observe to what the switch's habits allow.
func checkObserved(t *testing.T, s Switch, name string, rec Record, obs Observed) {
	t.Helper()
	at := rec.Start + s.Skew.Milliseconds()
	if d := at - obs.Start; d < 0 || d >= 1000 || (s.Times.Milli() && d != 0) {
		t.Errorf("%s %s: start observed %d ms before the switch's clock", s.ID, name, d)
	}
	if obs.Disp != rec.Disp {
		t.Errorf("%s %s: disposition observed %s, was %s", s.ID, name, obs.Disp, rec.Disp)
	}
	if s.Fields&FieldDuration != 0 && obs.Talk != rec.Talk {
		t.Errorf("%s %s: talk observed %d ms, the switch wrote the true %d", s.ID, name, obs.Talk, rec.Talk)
	}
	if d := obs.Talk - rec.Talk; d <= -1000 || d >= 1000 {
		t.Errorf("%s %s: talk observed %d ms, true %d", s.ID, name, obs.Talk, rec.Talk)
	}
	if d := obs.Ring - rec.Ring; d <= -1000 || d >= 1000 || obs.Ring < 0 {
		t.Errorf("%s %s: ring observed %d ms, true %d", s.ID, name, obs.Ring, rec.Ring)
	}
	if (obs.Caller == 0) != (rec.Withheld && s.Withheld.noNumber()) {
		t.Errorf("%s %s: caller observed %v", s.ID, name, obs.Caller)
	}
}

// TestMixedPrecision checks the mixed-precision switches write start_time
// to the millisecond and answer and end times to the second, so a call that
// failed at once ends before it started, by less than a second.
func TestMixedPrecision(t *testing.T) {
	enc := NewEncoder(86, 1, [NumSwitches]int64{})
	r := rand.New(rand.NewPCG(1, 2))
	mixed := 0
	for sw, s := range fleet {
		if !s.MixedPrecision {
			continue
		}
		mixed++
		for _, c := range encoderCalls() {
			line := append(enc.AppendCDR([]byte{'{'}, sw, &c.rec, r), '}')
			raw := rawTimes(t, line, s)
			if raw["start_time"]%1000 == 0 {
				t.Errorf("%s %s: start_time without milliseconds: %s", s.ID, c.name, line)
			}
			for _, f := range []string{"answer_time", "end_time"} {
				if v, ok := raw[f]; ok && v%1000 != 0 {
					t.Errorf("%s %s: %s has milliseconds: %s", s.ID, c.name, f, line)
				}
			}
			if before := raw["start_time"] - raw["end_time"]; c.name == "failed at once" && (before <= 0 || before >= 1000) {
				t.Errorf("%s: a call that failed at once ends %d ms before its start, want 1 to 999: %s", s.ID, before, line)
			}
		}
	}
	if mixed < 2 {
		t.Errorf("%d mixed-precision switches, want 2 or 3", mixed)
	}
}

// rawTimes parses a line's time fields as written, without clamping.
func rawTimes(t *testing.T, line []byte, s Switch) map[string]int64 {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, f := range []string{"start_time", "answer_time", "end_time"} {
		if raw, ok := m[f]; ok {
			v, reason := timeValue(raw, zoneOf(s.ID))
			if reason != "" {
				t.Fatalf("%s: %s: %s", f, reason, line)
			}
			out[f] = v.UnixMilli()
		}
	}
	return out
}

// TestLocalTimesAcrossDST writes Sydney and Shanghai times around Sydney's
// changes of offset in 2026 (back to +10:00 on 5 April, forward to +11:00
// on 4 October) and reads them back with time.ParseInLocation. The hour
// Sydney repeats in April names two instants and is left out: no reader
// can tell them apart. A call across the change in October has 61 minutes
// of wall clock between its start and end, and one minute of real time.
func TestLocalTimesAcrossDST(t *testing.T) {
	enc := NewEncoder(86, 1, [NumSwitches]int64{})
	instants := []time.Time{
		time.Date(2026, 4, 4, 14, 30, 0, 0, time.UTC),       // 01:30 AEDT, before the repeated hour
		time.Date(2026, 4, 4, 17, 30, 0, 500e6, time.UTC),   // 03:30 AEST, after it
		time.Date(2026, 7, 1, 2, 0, 0, 0, time.UTC),         // winter
		time.Date(2026, 10, 3, 15, 59, 30, 0, time.UTC),     // 01:59:30 AEST
		time.Date(2026, 10, 3, 16, 0, 30, 0, time.UTC),      // 03:00:30 AEDT
		time.Date(2026, 11, 29, 7, 0, 3, 250e6, time.UTC),   // the demo's season
		time.Date(2026, 4, 4, 14, 59, 59, 999e6, time.UTC),  // 01:59:59.999 AEDT, just before the repeated hour
		time.Date(2026, 10, 3, 15, 59, 59, 999e6, time.UTC), // 01:59:59.999 AEST, the last of it
	}
	for sw, s := range fleet {
		if !s.Times.Local() {
			continue
		}
		loc, _ := time.LoadLocation(s.Zone)
		for _, at := range instants {
			b := enc.timeField([]byte{'{'}, "t", sw, at.UnixMilli(), s.Times)
			wall := strings.Trim(strings.TrimPrefix(string(b), `{"t":`), `"`)
			got, err := time.ParseInLocation(localLayout, wall, loc)
			if err != nil {
				t.Fatalf("%s: %q: %v", s.ID, wall, err)
			}
			want := at.Truncate(time.Second)
			if s.Times.Milli() {
				want = at
			}
			if !got.Equal(want) {
				t.Errorf("%s writes %s as %q, which reads back as %s", s.ID, at.Format(time.RFC3339Nano), wall, got.UTC().Format(time.RFC3339Nano))
			}
			if layout := "2006-01-02 15:04:05"; !strings.HasPrefix(wall, at.In(loc).Format(layout)) {
				t.Errorf("%s writes %s as %q, want %s", s.ID, at.Format(time.RFC3339Nano), wall, at.In(loc).Format(layout))
			}
		}
	}
	gw := Gateway()
	sydney, _ := time.LoadLocation(fleet[gw].Zone)
	// In the repeated hour two instants an hour apart write the same wall
	// clock: the pipeline's rule takes the first.
	first := enc.timeField([]byte{'{'}, "t", gw, time.Date(2026, 4, 4, 15, 30, 0, 0, time.UTC).UnixMilli(), TimeLocalMilli)
	second := enc.timeField([]byte{'{'}, "t", gw, time.Date(2026, 4, 4, 16, 30, 0, 0, time.UTC).UnixMilli(), TimeLocalMilli)
	if string(first[1:]) != string(second[1:]) || !strings.Contains(string(first), `"2026-04-05 02:30:00.000"`) {
		t.Errorf("02:30 AEDT and 02:30 AEST written as %s and %s, want both 2026-04-05 02:30:00.000", first, second)
	}
	rec := Record{Start: instants[3].UnixMilli(), Ring: 10000, Talk: 50000, Disp: DispAnswered, Cause: 16,
		Caller: 447700900123, Callee: nationalNumber(86, 13912345678)}
	line := append(enc.AppendCDR([]byte{'{'}, gw, &rec, rand.New(rand.NewPCG(1, 1))), '}')
	var m map[string]string
	json.Unmarshal(line, &m) //nolint:errcheck // numbers fail to decode into strings; the times do
	start, _ := time.ParseInLocation(localLayout, m["start_time"], sydney)
	end, _ := time.ParseInLocation(localLayout, m["end_time"], sydney)
	wallStart, _ := time.Parse(localLayout, m["start_time"])
	wallEnd, _ := time.Parse(localLayout, m["end_time"])
	if end.Sub(start) != time.Minute || wallEnd.Sub(wallStart) != 61*time.Minute {
		t.Errorf("a one-minute call across the change: %s to %s (%v real, %v of wall clock): %s",
			m["start_time"], m["end_time"], end.Sub(start), wallEnd.Sub(wallStart), line)
	}
}

// generated is the traffic of one of testConfigs, read back.
type generated struct {
	data  []byte
	truth Truth
	s     *stream
}

// generatedCache holds each test config's traffic: generating and parsing
// it once serves every test (they only read it).
var generatedCache = map[int]*generated{}

// testTraffic returns the traffic of testConfigs[i]; the test that first
// asks also checks the stream reads back (readStream).
func testTraffic(t *testing.T, i int) *generated {
	t.Helper()
	if g, ok := generatedCache[i]; ok {
		return g
	}
	data, truth := generate(t, testConfigs[i].cfg)
	g := &generated{data: data, truth: truth, s: readStream(t, data)}
	generatedCache[i] = g
	return g
}

// checkFleetCounts checks the Truth's fleet counts against the records.
func checkFleetCounts(t *testing.T, recs []record, truth Truth) {
	t.Helper()
	perSwitch := map[string]int64{}
	var withheld, noNumber, local, skewed, abroad int64
	for _, r := range recs {
		src := sourceOf(r)
		perSwitch[src]++
		if r.withheld {
			withheld++
			if r.caller == "" {
				noNumber++
			}
		}
		if strings.Contains(r.line, `"start_time":"`) && !strings.Contains(r.line[strings.Index(r.line, `"start_time":"`):][:30], "T") {
			local++
		}
		if skewOf(src) != 0 {
			skewed++
		}
		if r.caller != "" && !strings.HasPrefix(r.caller, "+86") {
			abroad++
		}
	}
	checks := []struct {
		name      string
		got, want int64
	}{
		{"withheld", withheld, truth.Withheld},
		{"withheld_no_number", noNumber, truth.WithheldNoNumber},
		{"local_times", local, truth.LocalTimes},
		{"skewed", skewed, truth.Skewed},
		{"from_abroad", abroad, truth.FromAbroad},
		{"call_id_repeats", callIDRepeats(t, recs), truth.CallIDRepeats},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d records, truth says %d", c.name, c.got, c.want)
		}
	}
	for _, sw := range fleet {
		if perSwitch[sw.ID] != truth.Switches[sw.ID] {
			t.Errorf("switch %s wrote %d records, truth says %d", sw.ID, perSwitch[sw.ID], truth.Switches[sw.ID])
		}
	}
}

// callIDRepeats counts the records whose call_id occurs on another switch
// too, and checks each such id names different calls on different
// switches.
func callIDRepeats(t *testing.T, recs []record) int64 {
	t.Helper()
	byID := map[string][]record{}
	for _, r := range recs {
		if r.callID != "" {
			byID[r.callID] = append(byID[r.callID], r)
		}
	}
	var n int64
	for id, rs := range byID {
		if len(rs) < 2 {
			continue
		}
		n += int64(len(rs))
		sources := map[string]bool{}
		for i, r := range rs {
			if sources[sourceOf(r)] {
				t.Errorf("call_id %s twice on %s", id, sourceOf(r))
			}
			sources[sourceOf(r)] = true
			for _, o := range rs[:i] {
				if o.caller == r.caller && o.callee == r.callee && o.start.Sub(r.start).Abs() < time.Hour {
					t.Errorf("call_id %s repeated for what looks like the same call:\n%s\n%s", id, o.line, r.line)
				}
			}
		}
	}
	return n
}

// TestCallIDRepeats checks about 1% of the records share their call_id
// with another switch's record, and that a re-sent record keeps its
// switch and call id: every line with a given (switch_id, call_id) is
// byte-identical.
func TestCallIDRepeats(t *testing.T) {
	for i, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			g := testTraffic(t, i)
			share := float64(g.truth.CallIDRepeats) / float64(g.truth.UniqueValid)
			t.Logf("%d of %d records (%.2f%%) share their call_id with another switch's call", g.truth.CallIDRepeats, g.truth.UniqueValid, 100*share)
			if share < 0.006 || share > 0.015 {
				t.Errorf("%.4f of records repeat a call_id across switches, want about 0.01", share)
			}
			lines := map[[2]string]string{}
			for _, r := range g.s.unique {
				if r.callID != "" {
					lines[[2]string{sourceOf(r), r.callID}] = r.line
				}
			}
			resent := 0
			for _, r := range g.s.resent {
				if r.callID == "" {
					continue
				}
				k := [2]string{sourceOf(r), r.callID}
				if lines[k] != r.line {
					t.Fatalf("re-sent record with switch %s call_id %s is not the record sent first:\n%s\n%s", k[0], k[1], lines[k], r.line)
				}
				resent++
			}
			if resent == 0 {
				t.Error("no re-sent record carries a call_id")
			}
		})
	}
}

// TestFleetDialects checks every switch and every dialect feature shows up
// in generated traffic: the demo and the integration tests exercise all of
// them.
func TestFleetDialects(t *testing.T) {
	g := testTraffic(t, 0)
	for _, sw := range fleet {
		if g.truth.Switches[sw.ID] == 0 {
			t.Errorf("switch %s wrote nothing", sw.ID)
		}
	}
	for _, want := range []string{
		`"caller":"anonymous"`, `"caller":"restricted"`, `"caller":"unavailable"`, `"caller_presentation":"restricted"`,
		`"caller_noa":"international"`, `"caller_noa":"national"`, `"callee_noa":"national"`, `"callee_noa":"subscriber"`,
		`"callee_noa":"unknown"`, `"caller":"00`, `"caller":"86`, `"caller":"+86`, `@sh-ims-01"`, `"call_id":"SZ01-`,
	} {
		if !bytes.Contains(g.data, []byte(want)) {
			t.Errorf("no record has %s", want)
		}
	}
	forms := map[TimeForm]bool{}
	for _, sw := range fleet {
		forms[sw.Times] = true
		forms[sw.Times.seconds()] = true
	}
	for f := TimeRFC3339Z; f <= TimeLocalMilli; f++ {
		if !forms[f] {
			t.Errorf("no switch writes times as %s", f)
		}
	}
}

// TestWithheld checks about 0.3% of ordinary subscribers' calls withhold
// the caller ID, in both forms, and that planted callers never do.
func TestWithheld(t *testing.T) {
	g := testTraffic(t, 1)
	var ordinary int64
	for _, r := range g.s.unique {
		if r.withheld && r.caller != "" && g.truth.Kind(r.caller) != "" {
			t.Errorf("planted caller %s withheld its ID: %s", r.caller, r.line)
		}
		if !r.withheld && strings.HasPrefix(r.caller, "+86") && g.truth.Kind(r.caller) == "" {
			ordinary++
		}
	}
	ordinary += g.truth.Withheld
	share := float64(g.truth.Withheld) / float64(ordinary)
	t.Logf("%d of %d subscriber calls withheld (%.2f%%), %d without a number", g.truth.Withheld, ordinary, 100*share, g.truth.WithheldNoNumber)
	if share < 0.0015 || share > 0.005 {
		t.Errorf("%.4f of subscribers' calls withheld, want about 0.003", share)
	}
	if g.truth.WithheldNoNumber == 0 || g.truth.WithheldNoNumber == g.truth.Withheld {
		t.Errorf("%d of %d withheld calls without a number: want both forms", g.truth.WithheldNoNumber, g.truth.Withheld)
	}
}

// TestPlantedThroughFleet checks planted callers are homed round the
// fleet, skewed and local-time switches included, and that the times
// their records carry are the truth moved by their switch's skew: local
// ones read back with time.ParseInLocation in the switch's zone.
func TestPlantedThroughFleet(t *testing.T) {
	g := testTraffic(t, 0)
	calls := byCaller(g.s.unique)
	on := map[string]int{}
	for _, p := range g.truth.Planted {
		cs := calls[p.Number]
		if len(cs) == 0 {
			t.Fatalf("planted %s has no records", p.Number)
		}
		i, err := SwitchIndex(p.Switch)
		if err != nil {
			t.Fatal(err)
		}
		on[p.Switch]++
		for _, c := range cs {
			if sourceOf(c) != p.Switch {
				t.Errorf("planted %s homed on %s has a record from %s", p.Number, p.Switch, sourceOf(c))
			}
		}
		want := p.FirstCall.Add(fleet[i].Skew)
		if d := want.Sub(cs[0].start); d < 0 || d >= time.Second || (fleet[i].Times.Milli() && d != 0) {
			t.Errorf("planted %s on %s: first call written at %s, true %s, skew %v",
				p.Number, p.Switch, cs[0].start.UTC().Format(time.RFC3339Nano), p.FirstCall.Format(time.RFC3339Nano), fleet[i].Skew)
		}
	}
	for _, sw := range fleet {
		if sw.Weight >= 10 && on[sw.ID] == 0 {
			t.Errorf("no planted caller on %s", sw.ID)
		}
	}
}

// TestAppendCDRAllocs keeps the encoder off the heap: Generate writes a
// million records in a few seconds only if a record costs no allocation.
func TestAppendCDRAllocs(t *testing.T) {
	var counts [NumSwitches]int64
	enc := NewEncoder(86, 1, counts)
	r := rand.New(rand.NewPCG(1, 2))
	calls := encoderCalls()
	b := make([]byte, 0, 1024)
	for sw, s := range fleet {
		allocs := testing.AllocsPerRun(100, func() {
			for i := range calls {
				calls[i].rec.Start += 7 * 86400 * 1000 // walk through the zone's periods
				b = enc.AppendCDR(append(b[:0], '{'), sw, &calls[i].rec, r)
				_ = enc.Observe(sw, &calls[i].rec)
			}
		})
		if allocs > 0 {
			t.Errorf("%s: %.1f allocations per %d records", s.ID, allocs, len(calls))
		}
	}
}

func TestNdigits(t *testing.T) {
	f := func(v uint64, want int) {
		t.Helper()
		if got := ndigits(v); got != want {
			t.Errorf("ndigits(%d) = %d, want %d", v, got, want)
		}
	}
	f(0, 1)
	f(9, 1)
	f(10, 2)
	f(99, 2)
	f(100, 3)
	f(13912345678, 11)
	f(8613912345678, 13)
	f(999999999999999, 15)
	f(1000000000000000, 16)
	f(1<<64-1, 20)
	for i := 1; i < len(pow10); i++ {
		f(pow10[i]-1, i)
		f(pow10[i], i+1)
	}
}
