package traffic

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testConfig is a small but complete traffic shape: every noise kind and
// the default planted counts, with fewer subscribers so tests are quick.
func testConfig(seed int64, start time.Time, d time.Duration) Config {
	cfg := DefaultConfig()
	cfg.Start, cfg.Duration, cfg.Seed = start, d, seed
	cfg.Subscribers = 20000
	return cfg
}

var testStart = time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)

// testConfigs vary the window so bursts land on hour and 5-minute
// boundaries in different ways.
var testConfigs = []struct {
	name string
	cfg  Config
}{
	{"1h on the hour", testConfig(1, testStart, time.Hour)},
	{"2h off the hour", testConfig(2, testStart.Add(17*time.Minute+23*time.Second), 2*time.Hour)},
	{"90m", testConfig(3, testStart.Add(-31*time.Minute), 90*time.Minute)},
}

func generate(t testing.TB, cfg Config) ([]byte, Truth) {
	t.Helper()
	var buf bytes.Buffer
	truth, err := Generate(context.Background(), cfg, &buf)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return buf.Bytes(), truth
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := testConfig(42, testStart, time.Hour)
	cfg.Subscribers = 3000
	a, ta := generate(t, cfg)
	b, tb := generate(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different output")
	}
	if ta.Lines != tb.Lines || len(ta.Planted) != len(tb.Planted) || ta.Planted[0] != tb.Planted[0] {
		t.Fatalf("same seed gave different truth: %+v vs %+v", ta, tb)
	}
	cfg.Seed++
	if c, _ := generate(t, cfg); bytes.Equal(a, c) {
		t.Fatal("different seeds gave identical output")
	}
}

func TestGenerateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Generate(ctx, testConfig(1, testStart, time.Hour), &bytes.Buffer{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// record is a parsed valid line, as the pipeline would see it.
type record struct {
	line     string
	callID   string
	switchID string // "" when the switch writes none
	caller   string // E.164 with '+'; "" when withheld without a number
	callee   string
	withheld bool
	start    time.Time
	answered bool
	talk     float64 // seconds
	ring     float64 // seconds
	disp     string
	// fromAnswerEnd: answer_time and end_time as written (zero if absent).
	answerTime, endTime time.Time
}

// parseRecord checks a line against the wire contract and returns why it
// must be rejected, or "" and the record. It reads every dialect of the
// fleet: local times in the zone SwitchZones gives the record's switch,
// natures of address, withheld callers.
func parseRecord(line []byte) (record, string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return record{}, "json"
	}
	rec := record{line: string(line)}
	if raw, ok := m["switch_id"]; ok && json.Unmarshal(raw, &rec.switchID) != nil {
		return rec, "switch_id type"
	}
	var reason string
	if rec.caller, rec.withheld, reason = callerValue(m); reason != "" {
		return rec, reason
	}
	if rec.callee, reason = numberValue(m, "callee"); reason != "" {
		return rec, reason
	}
	if _, ok := m["start_time"]; !ok {
		return rec, "start_time missing"
	}
	zone := zoneOf(rec.switchID)
	if rec.start, reason = timeValue(m["start_time"], zone); reason != "" {
		return rec, "start_time " + reason
	}
	if raw, ok := m["call_id"]; ok && json.Unmarshal(raw, &rec.callID) != nil {
		return rec, "call_id type"
	}
	return outcome(m, rec, zone)
}

// zoneOf is the zone of a switch's local times, from SwitchZones (UTC for
// the others, as the pipeline's input.zone defaults to).
func zoneOf(switchID string) *time.Location {
	for _, e := range SwitchZones() {
		if sw, zone, _ := strings.Cut(e, "="); sw == switchID {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				panic(err)
			}
			return loc
		}
	}
	return time.UTC
}

// withheldWords are what switches write for a withheld caller.
var withheldWords = []string{"anonymous", "restricted", "unavailable"}

// callerValue reads the caller, its nature of address and presentation.
func callerValue(m map[string]json.RawMessage) (caller string, withheld bool, reason string) {
	var pres string
	if raw, ok := m["caller_presentation"]; ok {
		if json.Unmarshal(raw, &pres) != nil || pres != "restricted" {
			return "", false, "caller_presentation"
		}
		withheld = true
	}
	if raw, ok := m["caller"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil && slices.Contains(withheldWords, s) {
			return "", true, ""
		}
	}
	caller, reason = numberValue(m, "caller")
	return caller, withheld, reason
}

// outcome fills answered, talk and ring time and the disposition from
// disposition and duration, or from answer_time and end_time, as the
// contract derives them.
func outcome(m map[string]json.RawMessage, rec record, zone *time.Location) (record, string) {
	times := map[string]time.Time{}
	for _, f := range []string{"answer_time", "end_time"} {
		if raw, ok := m[f]; ok {
			v, reason := timeValue(raw, zone)
			if reason != "" {
				return rec, f + " " + reason
			}
			times[f] = v
		}
	}
	// Times of different precision: up to a second before the time they
	// follow counts as equal to it.
	floor := rec.start
	for _, f := range []string{"answer_time", "end_time"} {
		v, ok := times[f]
		if !ok {
			continue
		}
		if v.Before(floor) {
			if floor.Sub(v) >= time.Second {
				return rec, f + " before start"
			}
			v = floor
			times[f] = v
		}
		floor = v
	}
	rec.answerTime, rec.endTime = times["answer_time"], times["end_time"]
	var duration *float64
	if raw, ok := m["duration"]; ok {
		var d float64
		if json.Unmarshal(raw, &d) != nil {
			return rec, "duration type"
		}
		if d < 0 {
			return rec, "duration negative"
		}
		duration = &d
	}
	if raw, ok := m["ring_duration"]; ok {
		if json.Unmarshal(raw, &rec.ring) != nil {
			return rec, "ring_duration type"
		}
	} else if a, ok := times["answer_time"]; ok {
		rec.ring = a.Sub(rec.start).Seconds()
	} else if e, ok := times["end_time"]; ok {
		rec.ring = e.Sub(rec.start).Seconds()
	}
	_, hasAnswer := times["answer_time"]
	end, hasEnd := times["end_time"]
	switch {
	case duration != nil:
		rec.talk = *duration
	case hasAnswer && hasEnd:
		rec.talk = end.Sub(times["answer_time"]).Seconds()
	}
	if raw, ok := m["disposition"]; ok {
		if json.Unmarshal(raw, &rec.disp) != nil || !slices.Contains(dispositionNames[:], rec.disp) {
			return rec, "disposition"
		}
	} else {
		if duration == nil && !hasEnd {
			return rec, "no outcome"
		}
		var cause *int
		if raw, ok := m["cause"]; ok {
			var c int
			if json.Unmarshal(raw, &c) != nil {
				return rec, "cause type"
			}
			cause = &c
		}
		rec.disp = deriveDisposition(rec.talk > 0 || hasAnswer, cause != nil, uint8(deref(cause))).String()
	}
	rec.answered = rec.disp == "answered"
	if !rec.answered {
		rec.talk = 0
	}
	return rec, ""
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func numberValue(m map[string]json.RawMessage, field string) (string, string) {
	raw, ok := m[field]
	if !ok {
		return "", field + " missing"
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", field + " type"
	}
	var noa string
	if raw, ok := m[field+"_noa"]; ok && json.Unmarshal(raw, &noa) != nil {
		return "", field + "_noa type"
	}
	n, ok := normaliseNOA(s, noa)
	if !ok {
		return "", field + " not a number"
	}
	return n, ""
}

// normalise turns the contract's number forms into E.164 with '+', for
// country code 86.
func normalise(s string) (string, bool) { return normaliseNOA(s, "") }

// normaliseNOA is normalise for a number with a nature of address.
func normaliseNOA(s, noa string) (string, bool) {
	plus := strings.HasPrefix(s, "+")
	s = strings.TrimPrefix(s, "+")
	if len(s) < 3 || strings.Trim(s, "0123456789") != "" {
		return "", false
	}
	switch {
	case plus:
		return "+" + s, true
	case noa == "international":
		return "+" + strings.TrimPrefix(s, "00"), true
	case noa == "national" || noa == "subscriber":
		return "+86" + strings.TrimPrefix(s, "0"), true
	case noa != "" && noa != "unknown":
		return "", false
	case strings.HasPrefix(s, "00"):
		return "+" + s[2:], true
	case strings.HasPrefix(s, "0"):
		return "+86" + s[1:], true
	case strings.HasPrefix(s, "86") && len(s) >= 10:
		return "+" + s, true
	default:
		return "+86" + s, true
	}
}

// localLayout is how switches write local time, with optional fraction.
const localLayout = "2006-01-02 15:04:05.999"

func timeValue(raw json.RawMessage, zone *time.Location) (time.Time, string) {
	var t time.Time
	var s string
	if json.Unmarshal(raw, &s) == nil {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			// Wall-clock time without an offset, in the switch's zone.
			if v, err = time.ParseInLocation(localLayout, s, zone); err != nil {
				return t, "unparsable"
			}
		}
		t = v
	} else {
		secs, frac, hasFrac := strings.Cut(string(raw), ".")
		n, err := strconv.ParseInt(secs, 10, 64)
		if err != nil {
			return t, "type"
		}
		switch {
		case hasFrac:
			ms, err := strconv.Atoi((frac + "000")[:3])
			if err != nil {
				return t, "type"
			}
			t = time.UnixMilli(n*1000 + int64(ms))
		case n > 100_000_000_000:
			t = time.UnixMilli(n)
		default:
			t = time.Unix(n, 0)
		}
	}
	if t.Year() < 2000 || t.Year() > 2100 {
		return t, "out of range"
	}
	return t, ""
}

// stream is generated traffic read back as the pipeline would: rejects,
// re-sent copies and the distinct valid records in arrival order.
type stream struct {
	lines     int64
	rejects   map[string]int // reason -> count
	malformed map[string]bool
	dups      int64
	unique    []record
	resent    []record // the re-sent copies, parsed
	seen      map[string]bool
}

func readStream(t *testing.T, data []byte) *stream {
	t.Helper()
	s := &stream{rejects: map[string]int{}, malformed: map[string]bool{}, seen: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxLineBytes)
	for sc.Scan() {
		s.lines++
		line := sc.Text()
		rec, reason := parseRecord(sc.Bytes())
		switch {
		case reason != "":
			s.rejects[reason]++
			if s.malformed[line] {
				t.Errorf("malformed line repeated: %s", line)
			}
			s.malformed[line] = true
		case s.seen[line]:
			s.dups++
			s.resent = append(s.resent, rec)
		default:
			s.seen[line] = true
			s.unique = append(s.unique, rec)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTruthCountsMatchLines(t *testing.T) {
	for i, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			g := testTraffic(t, i)
			s, truth := g.s, g.truth
			rejects := int64(0)
			for _, n := range s.rejects {
				rejects += int64(n)
			}
			checks := []struct {
				name      string
				got, want int64
			}{
				{"lines", s.lines, truth.Lines},
				{"malformed", rejects, truth.Malformed},
				{"duplicates", s.dups, truth.Duplicates},
				{"unique_valid", int64(len(s.unique)), truth.UniqueValid},
				{"very_late", truth.VeryLate, int64(tc.cfg.VeryLateCount)},
				{"far_future", truth.FarFuture, int64(tc.cfg.FarFuture)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
				}
			}
			if truth.Lines != truth.Malformed+truth.Duplicates+truth.UniqueValid {
				t.Errorf("lines %d != malformed+duplicates+unique_valid", truth.Lines)
			}
			checkRates(t, tc.cfg, truth)
			checkCallIDs(t, s.unique, truth)
			checkFleetCounts(t, s.unique, truth)
			t.Logf("truth: lines=%d malformed=%d dups=%d (late %d) unique=%d rejects=%v",
				truth.Lines, truth.Malformed, truth.Duplicates, truth.LateDuplicates, truth.UniqueValid, s.rejects)
		})
	}
}

// checkRates checks noise is near the configured rates.
func checkRates(t *testing.T, cfg Config, truth Truth) {
	t.Helper()
	near := func(name string, got int64, rate float64) {
		want := rate * float64(truth.Lines)
		if float64(got) < want/2 || float64(got) > want*2 {
			t.Errorf("%s = %d, want about %.0f", name, got, want)
		}
	}
	near("malformed", truth.Malformed, cfg.MalformedRate)
	near("duplicates", truth.Duplicates, cfg.DuplicateRate)
}

// checkCallIDs checks a call_id is never shared by two different records
// of one switch (records without switch_id count as one source), and that
// the records without one are the Truth's NoCallID.
func checkCallIDs(t *testing.T, recs []record, truth Truth) {
	t.Helper()
	ids := map[[2]string]bool{}
	missing := 0
	for _, r := range recs {
		if r.callID == "" {
			missing++
			continue
		}
		k := [2]string{r.switchID, r.callID}
		if ids[k] {
			t.Errorf("call_id %s on two different records of switch %q", r.callID, r.switchID)
		}
		ids[k] = true
	}
	if int64(missing) != truth.NoCallID {
		t.Errorf("%d records lack call_id, truth says %d", missing, truth.NoCallID)
	}
	if p := float64(missing) / float64(len(recs)); p < 0.05 || p > 0.15 {
		t.Errorf("%.3f of records lack call_id, want about 0.09 (two switches write none)", p)
	}
}

// TestArrivalOrder checks how far behind the stream each record arrives:
// out-of-order ones within 4 minutes, exactly VeryLate ones 30+ minutes,
// the far-future one in the middle.
func TestArrivalOrder(t *testing.T) {
	for i, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			g := testTraffic(t, i)
			s, truth := g.s, g.truth
			futureAt := truth.End.Add(FarFutureOffset)
			var maxSeen time.Time
			var veryLate, outOfOrder int
			for i, r := range s.unique {
				// The switch's clock may be off: lateness is a matter of
				// true time (the pipeline follows each switch's own).
				r.start = r.start.Add(-skewOf(r.switchID))
				if !r.start.Before(futureAt) {
					if i < len(s.unique)/3 || i > 2*len(s.unique)/3 {
						t.Errorf("far-future record at %d of %d, want mid-stream", i, len(s.unique))
					}
					continue
				}
				if r.start.Before(truth.Start) || !r.start.Before(truth.End) {
					t.Errorf("record outside window: %s", r.line)
				}
				lateness := maxSeen.Sub(r.start)
				switch {
				case lateness >= 29*time.Minute:
					veryLate++
					if k := truth.Kind(r.caller); k != "" {
						t.Errorf("very late record of planted %s caller %s", k, r.caller)
					}
				case lateness > MaxOutOfOrder+time.Second:
					t.Errorf("record %s late by %v", r.line, lateness)
				case lateness > time.Second:
					outOfOrder++
				}
				if r.start.After(maxSeen) {
					maxSeen = r.start
				}
			}
			if int64(veryLate) != truth.VeryLate {
				t.Errorf("very late records: %d, truth says %d", veryLate, truth.VeryLate)
			}
			if p := float64(outOfOrder) / float64(len(s.unique)); p < 0.02 || p > 0.06 {
				t.Errorf("%.3f of records out of order, want about %v", p, tc.cfg.OutOfOrderRate)
			}
		})
	}
}

// Detector thresholds, as the pipeline applies them per caller and 1-hour
// window sliding by 5 minutes.
const (
	fanOutMinCallees  = 50
	shortMinAnswered  = 20
	shortMinFraction  = 0.7
	shortMaxTalk      = 10.0
	seqMinCallees     = 10
	seqMinRun         = 5
	seqMaxStep        = 3
	windowSize        = time.Hour
	windowSlide       = 5 * time.Minute
	ordinaryHourLimit = MaxOrdinaryCallsPerHour
)

// detect returns the detectors that fire on one window's calls.
func detect(calls []record) map[string]bool {
	callees := map[string]bool{}
	answered, short := 0, 0
	for _, c := range calls {
		callees[c.callee] = true
		if c.answered {
			answered++
			if c.talk < shortMaxTalk {
				short++
			}
		}
	}
	return map[string]bool{
		KindFanOut:     len(callees) >= fanOutMinCallees,
		KindShortCalls: answered >= shortMinAnswered && float64(short) >= shortMinFraction*float64(answered),
		KindSequential: sequentialCallees(callees) >= seqMinCallees,
	}
}

// sequentialCallees counts distinct callees lying in runs of at least
// seqMinRun whose sorted numeric values step by at most seqMaxStep.
func sequentialCallees(callees map[string]bool) int {
	var nums []int64
	for c := range callees {
		n, _ := strconv.ParseInt(strings.TrimPrefix(c, "+"), 10, 64)
		nums = append(nums, n)
	}
	slices.Sort(nums)
	total, run := 0, 1
	for i := 1; i <= len(nums); i++ {
		if i < len(nums) && nums[i]-nums[i-1] <= seqMaxStep {
			run++
			continue
		}
		if run >= seqMinRun {
			total += run
		}
		run = 1
	}
	return total
}

// windowsFired runs the detectors over every window that holds any of the
// caller's calls and reports which fired in at least one.
func windowsFired(calls []record) map[string]bool {
	fired := map[string]bool{}
	first, last := calls[0].start, calls[len(calls)-1].start
	for w := first.Truncate(windowSlide).Add(-windowSize + windowSlide); !w.After(last); w = w.Add(windowSlide) {
		var in []record
		for _, c := range calls {
			if !c.start.Before(w) && c.start.Before(w.Add(windowSize)) {
				in = append(in, c)
			}
		}
		for k, v := range detect(in) {
			fired[k] = fired[k] || v
		}
	}
	return fired
}

// byCaller groups records by caller; a withheld caller without a number
// is nobody's.
func byCaller(recs []record) map[string][]record {
	out := map[string][]record{}
	for _, r := range recs {
		if r.caller == "" {
			continue
		}
		out[r.caller] = append(out[r.caller], r)
	}
	for _, calls := range out {
		slices.SortFunc(calls, func(a, b record) int { return a.start.Compare(b.start) })
	}
	return out
}

func TestPlantedCrossOnlyTheirThreshold(t *testing.T) {
	for i, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			g := testTraffic(t, i)
			truth, calls := g.truth, byCaller(g.s.unique)
			want := map[string]int{KindFanOut: tc.cfg.FanOut, KindShortCalls: tc.cfg.ShortCalls, KindSequential: tc.cfg.Sequential}
			got := map[string]int{}
			for _, p := range truth.Planted {
				got[p.Kind]++
				checkPlanted(t, p, calls[p.Number])
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("planted kinds %v, want %v", got, want)
			}
		})
	}
}

func checkPlanted(t *testing.T, p Planted, calls []record) {
	t.Helper()
	if len(calls) != p.Calls {
		t.Errorf("%s %s: %d calls in stream, truth says %d", p.Kind, p.Number, len(calls), p.Calls)
		return
	}
	distinct := map[string]bool{}
	for _, c := range calls {
		distinct[c.callee] = true
	}
	if len(distinct) != p.DistinctCallees {
		t.Errorf("%s %s: %d distinct callees, truth says %d", p.Kind, p.Number, len(distinct), p.DistinctCallees)
	}
	if span := calls[len(calls)-1].start.Sub(calls[0].start); span > 40*time.Minute {
		t.Errorf("%s %s: burst spans %v", p.Kind, p.Number, span)
	}
	for kind, on := range windowsFired(calls) {
		if on != (kind == p.Kind) {
			t.Errorf("planted %s %s: detector %s fired=%v", p.Kind, p.Number, kind, on)
		}
	}
}

// TestOrdinaryStayQuiet checks no ordinary subscriber makes more than 8
// calls in any hour, which keeps it far from every threshold, and that
// none trips a detector.
func TestOrdinaryStayQuiet(t *testing.T) {
	for i, tc := range testConfigs {
		t.Run(tc.name, func(t *testing.T) {
			g := testTraffic(t, i)
			truth, callers := g.truth, byCaller(g.s.unique)
			ordinary, abroad := 0, 0
			for number, calls := range callers {
				if truth.Kind(number) != "" {
					continue
				}
				if strings.HasPrefix(number, "+86") {
					ordinary++
				} else {
					abroad++
				}
				if n := maxPerHour(calls); n > ordinaryHourLimit {
					t.Errorf("ordinary %s makes %d calls in an hour", number, n)
				}
				if len(calls) > 4 { // fewer cannot reach any threshold
					for kind, on := range windowsFired(calls) {
						if on {
							t.Errorf("ordinary %s trips %s", number, kind)
						}
					}
				}
			}
			if ordinary > truth.Subscribers || ordinary < truth.Subscribers/2 {
				t.Errorf("%d ordinary callers, %d subscribers", ordinary, truth.Subscribers)
			}
			if int64(abroad) != truth.FromAbroad {
				t.Errorf("%d callers from abroad, truth says %d calls from abroad (one each)", abroad, truth.FromAbroad)
			}
		})
	}
}

// maxPerHour is the most calls in any half-open hour.
func maxPerHour(calls []record) int {
	best, lo := 0, 0
	for hi := range calls {
		for !calls[lo].start.After(calls[hi].start.Add(-time.Hour)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

func TestMalformedKinds(t *testing.T) {
	cfg := testConfig(7, testStart, time.Hour)
	cfg.Subscribers, cfg.MalformedRate = 2000, 0.2
	data, truth := generate(t, cfg)
	s := readStream(t, data)
	want := []string{
		"json", "caller missing", "caller type", "callee not a number", "start_time missing",
		"start_time unparsable", "start_time out of range", "duration negative", "duration type",
	}
	for _, r := range want {
		if s.rejects[r] == 0 {
			t.Errorf("no malformed line rejected for %q", r)
		}
	}
	if len(s.rejects) != len(want) {
		t.Errorf("reject reasons %v, want exactly %v", s.rejects, want)
	}
	if int64(len(s.malformed)) != truth.Malformed {
		t.Errorf("%d distinct malformed lines, truth says %d", len(s.malformed), truth.Malformed)
	}
	for line := range s.malformed {
		if strings.Contains(line, "\n") || strings.Contains(line, "\r") {
			t.Errorf("malformed line spans lines: %q", line)
		}
	}
}

func TestTruthJSONRoundTrip(t *testing.T) {
	cfg := testConfig(5, testStart, time.Hour)
	cfg.Subscribers = 500
	_, truth := generate(t, cfg)
	var buf bytes.Buffer
	if err := truth.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{`"planted"`, `"distinct_callees"`, `"unique_valid"`, `"very_late"`, `"far_future"`, `"subscribers"`,
		`"switch"`, `"withheld"`, `"withheld_no_number"`, `"call_id_repeats"`, `"no_call_id"`, `"local_times"`, `"skewed"`,
		`"from_abroad"`, `"switches"`} {
		if !strings.Contains(buf.String(), f) {
			t.Errorf("truth JSON lacks %s", f)
		}
	}
	got, err := ReadTruth(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(truth)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip changed truth:\n%s\n%s", a, b)
	}
	p := truth.Planted[0]
	if got.Kind(p.Number) != p.Kind || got.Kind("+8613900000000") != "" {
		t.Errorf("Kind lookup wrong")
	}
	if _, err := ReadTruth(strings.NewReader("{")); err == nil {
		t.Error("ReadTruth accepted broken JSON")
	}
}

func TestConfigValidate(t *testing.T) {
	f := func(name string, mutate func(*Config), wantErr string) {
		t.Helper()
		cfg := testConfig(1, testStart, time.Hour)
		mutate(&cfg)
		_, err := Generate(context.Background(), cfg, &bytes.Buffer{})
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", name, err)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%s: err = %v, want it to mention %q", name, err, wantErr)
		}
	}
	f("defaults", func(c *Config) { c.Subscribers = 100 }, "")
	f("zero start", func(c *Config) { c.Start = time.Time{} }, "Start is zero")
	f("short window", func(c *Config) { c.Duration = 30 * time.Minute }, "Duration")
	f("no subscribers", func(c *Config) { c.Subscribers = 0 }, "Subscribers")
	f("busy subscribers", func(c *Config) { c.CallsPerSubscriberHour = 9 }, "CallsPerSubscriberHour")
	f("negative planted", func(c *Config) { c.FanOut = -1 }, "negative")
	f("rate too high", func(c *Config) { c.DuplicateRate = 0.5 }, "DuplicateRate")
	f("country code", func(c *Config) { c.CountryCode = 1000 }, "CountryCode")
}

func TestAppendRFC3339(t *testing.T) {
	cst := time.FixedZone("", cstOffsetSec)
	f := func(ms int64) {
		t.Helper()
		tm := time.UnixMilli(ms)
		cases := []struct {
			form TimeForm
			want string
		}{
			{TimeRFC3339Z, tm.UTC().Format("2006-01-02T15:04:05Z07:00")},
			{TimeRFC3339ZMilli, tm.UTC().Format("2006-01-02T15:04:05.000Z07:00")},
			{TimeRFC3339CST, tm.In(cst).Format("2006-01-02T15:04:05Z07:00")},
			{TimeRFC3339CSTMilli, tm.In(cst).Format("2006-01-02T15:04:05.000Z07:00")},
			{TimeEpochSec, strconv.FormatInt(tm.Unix(), 10)},
			{TimeEpochMilli, strconv.FormatInt(ms, 10)},
			{TimeEpochFrac, strconv.FormatInt(tm.Unix(), 10) + tm.UTC().Format(".000")},
			{TimeLocal, tm.UTC().Format("2006-01-02 15:04:05")},
			{TimeLocalMilli, tm.UTC().Format("2006-01-02 15:04:05.000")},
		}
		for _, c := range cases {
			if c.form == TimeEpochFrac && ms < 0 {
				continue // "-1.001" would read as -1.001 s: no switch writes times before 1970
			}
			got := strings.Trim(string(appendTime(nil, ms, c.form)), `"`)
			if got != c.want {
				t.Errorf("appendTime(%d, %d) = %s, want %s", ms, c.form, got, c.want)
			}
		}
	}
	f(0)
	f(1795950003123)
	f(1795950003000)
	f(time.Date(2024, 2, 29, 23, 59, 59, 999e6, time.UTC).UnixMilli())
	f(time.Date(2000, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	f(time.Date(2100, 12, 31, 16, 0, 0, 5e6, time.UTC).UnixMilli())
	f(year2300Ms)
	f(time.Date(1969, 12, 31, 23, 59, 59, 1e6, time.UTC).UnixMilli())
}

func TestAppendNumber(t *testing.T) {
	f := func(nsn uint64, form numberForm, want string) {
		t.Helper()
		if got := string(appendNumber(nil, 86, nsn, form)); got != want {
			t.Errorf("appendNumber(%d, %d) = %s, want %s", nsn, form, got, want)
		}
		if n, _ := normalise(want); n != "+86"+strconv.FormatUint(nsn, 10) {
			t.Errorf("test normalise(%s) = %s", want, n)
		}
	}
	f(13912345678, formPlus, "+8613912345678")
	f(13912345678, formBare, "8613912345678")
	f(13912345678, formIntl, "008613912345678")
	f(13912345678, formNational, "13912345678")
	f(75512345678, formNational, "075512345678")
	f(1062345678, formNational, "01062345678")
	f(1062345678, formPlus, "+861062345678")
}
