package main

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// Checkable are the traits whose thresholds are checked by brute force on
// the generated records (1 h windows on a 5-minute grid, as the engine
// cuts them), so their truth is what the traffic really crosses.
var Checkable = []string{"fan_out", "short_calls", "sequential_dialing", "one_ring", "low_answer_rate", "burst",
	"concurrent_calls", "invalid_callees", "robotic_timing", "no_callback", "call_bombing", "spoofed_origin",
	"daily_fan_out", "daily_short_calls", "daily_low_answer_rate"}

// Crossed returns, per caller number index, the checkable traits its
// records cross under the thresholds of det. calls must be as the pipeline
// reads them (Traffic.Seen): the times a skewed switch writes, the talk
// time a switch's times give. Very late records are left out: the pipeline
// stores them but never counts them. So are calls whose caller withheld
// its ID without a number (Hidden): no detector can count them for anyone,
// neither as the caller's call nor as a callee calling back.
func Crossed(calls []Call, nums []string, det config.Detectors) map[uint32]map[string]bool {
	out := map[uint32]map[string]bool{}
	mark := func(caller uint32, trait string) {
		if out[caller] == nil {
			out[caller] = map[string]bool{}
		}
		out[caller][trait] = true
	}
	byCaller := map[uint32][]Call{}
	byCallee := map[uint32][]Call{}
	back := map[uint64][]int64{} // callee<<32|caller → starts of calls from callee to caller
	for _, c := range calls {
		if c.Late || c.Hidden {
			continue
		}
		byCaller[c.Caller] = append(byCaller[c.Caller], c)
		byCallee[c.Callee] = append(byCallee[c.Callee], c)
		k := uint64(c.Caller)<<32 | uint64(c.Callee)
		back[k] = append(back[k], c.Start)
	}
	for caller, cs := range byCaller {
		slices.SortFunc(cs, func(a, b Call) int { return cmp.Compare(a.Start, b.Start) })
		for _, tr := range callerTraits(cs, nums, isMobile(nums[caller]), back, det) {
			mark(caller, tr)
		}
	}
	for _, cs := range byCallee {
		if len(cs) < det.CallBombing.MinCalls {
			continue
		}
		slices.SortFunc(cs, func(a, b Call) int { return cmp.Compare(a.Start, b.Start) })
		span := det.CallBombing.Span.Milliseconds()
		j := 0
		for i := range cs {
			for j < len(cs) && cs[j].Start < cs[i].Start+span {
				j++
			}
			if j-i < det.CallBombing.MinCalls {
				continue
			}
			per := map[uint32]int{}
			for _, c := range cs[i:j] {
				per[c.Caller]++
			}
			if float64(j-i) < det.CallBombing.MinCallsPerCaller*float64(len(per)) {
				continue // a busy number many people ring
			}
			for caller, n := range per {
				if n >= det.CallBombing.MinPerCaller {
					mark(caller, "call_bombing")
				}
			}
		}
	}
	return out
}

// callerTraits checks one caller's calls, sorted by start.
func callerTraits(cs []Call, nums []string, mobile bool, back map[uint64][]int64, det config.Detectors) []string {
	var out []string
	if len(cs) < 5 {
		return nil // below any threshold; the engine does not even keep windows
	}
	// burst: the most calls started within any 60 s.
	j := 0
	for i := range cs {
		for j < len(cs) && cs[j].Start < cs[i].Start+msPerMin {
			j++
		}
		if j-i >= det.Burst.MinPerMinute {
			out = append(out, "burst")
			break
		}
	}
	// concurrent_calls: the most calls in progress at once, mobiles only,
	// among calls one switch wrote (switches' clocks disagree by minutes);
	// a call whose switch writes no id goes with every switch's.
	if mobile && concurrent(cs, det.Concurrent.MinConcurrent) {
		out = append(out, "concurrent_calls")
	}
	// Window traits: every 1 h window on the 5-minute grid holding a call.
	const slide, size = 5 * msPerMin, msPerHour
	first := cs[0].Start - cs[0].Start%slide - size + slide
	found := map[string]bool{}
	days := map[int64]*dayCount{}
	lo, hi := 0, 0
	for ws := first; ws <= cs[len(cs)-1].Start; ws += slide {
		for lo < len(cs) && cs[lo].Start < ws {
			lo++
		}
		for hi < len(cs) && cs[hi].Start < ws+size {
			hi++
		}
		for _, tr := range windowTraits(cs[lo:hi], ws+size, nums, back, det) {
			found[tr] = true
		}
		addDay(days, ws, cs[lo:hi], det)
	}
	for _, d := range days {
		for _, tr := range d.traits(det) {
			found[tr] = true
		}
	}
	for _, tr := range Checkable {
		if found[tr] {
			out = append(out, tr)
		}
	}
	return out
}

// windowTraits checks one window's calls; end is the window's end. A
// callee counts as calling back when it calls the caller after being
// called and before the window ends (when no_callback is judged).
func windowTraits(cs []Call, end int64, nums []string, back map[uint64][]int64, det config.Detectors) []string {
	var out []string
	callees := map[uint32]bool{}
	firstCall := map[uint32]int64{}
	answered, short, oneRing, invalid, spoofed, badID := 0, 0, 0, 0, 0, 0
	var talk, gap moments
	intl := config.Default().Numbering.InternationalTrunks
	intl = append(intl, InternationalTrunks...)
	maxTalk := det.ShortCalls.MaxTalk.Milliseconds()
	maxRing := det.OneRing.MaxRing.Milliseconds()
	for i, c := range cs {
		callees[c.Callee] = true
		if _, ok := firstCall[c.Callee]; !ok {
			firstCall[c.Callee] = c.Start
		}
		caller := nums[c.Caller]
		if strings.HasPrefix(caller, "+86") && (!homeValid(caller) || slices.Contains(intl, trunks[c.Trunk])) {
			spoofed++
			if !homeValid(caller) {
				badID++
			}
		}
		if callee := nums[c.Callee]; c.Cause == 1 || c.Cause == 28 || strings.HasPrefix(callee, "+86") && !homeValid(callee) {
			invalid++
		}
		if i > 0 {
			gap.add(float64(c.Start-cs[i-1].Start) / 1000)
		}
		if c.Disp == DispAnswered {
			talk.add(float64(c.Talk) / 1000)
			answered++
			if int64(c.Talk) < maxTalk {
				short++
			}
		} else if c.Ring > 0 && int64(c.Ring) <= maxRing && (c.Disp == DispCancelled || c.Disp == DispNoAnswer) {
			oneRing++
		}
	}
	if len(callees) >= det.FanOut.MinCallees {
		out = append(out, "fan_out")
	}
	if answered >= det.ShortCalls.MinAnswered && float64(short) >= det.ShortCalls.MinShare*float64(answered) {
		out = append(out, "short_calls")
	}
	if oneRing >= det.OneRing.MinAttempts && float64(oneRing) >= det.OneRing.MinShare*float64(len(cs)) {
		out = append(out, "one_ring")
	}
	if len(cs) >= det.LowAnswerRate.MinAttempts && float64(answered) <= det.LowAnswerRate.MaxRate*float64(len(cs)) {
		out = append(out, "low_answer_rate")
	}
	if invalid >= det.InvalidCallees.MinAttempts && float64(invalid) >= det.InvalidCallees.MinShare*float64(len(cs)) {
		out = append(out, "invalid_callees")
	}
	if talk.cv(det.RoboticTiming.MinCalls) <= det.RoboticTiming.MaxCV || gap.cv(det.RoboticTiming.MinCalls) <= det.RoboticTiming.MaxCV {
		out = append(out, "robotic_timing")
	}
	if len(callees) >= det.NoCallback.MinCallees {
		called := 0
		for callee, first := range firstCall {
			for _, t := range back[uint64(callee)<<32|uint64(cs[0].Caller)] {
				if t > first && t < end {
					called++
					break
				}
			}
		}
		if float64(called) <= det.NoCallback.MaxShare*float64(len(callees)) {
			out = append(out, "no_callback")
		}
	}
	// A caller ID outside the plan on its own; a domestic one from abroad
	// only to several people (a roamer calls a few).
	if badID > 0 && badID >= det.SpoofedOrigin.MinCalls ||
		spoofed > 0 && spoofed >= det.SpoofedOrigin.MinCalls && len(callees) >= det.SpoofedOrigin.MinCalleesAbroad {
		out = append(out, "spoofed_origin")
	}
	if len(callees) >= det.Sequential.MinCallees {
		sorted := make([]uint64, 0, len(callees))
		for c := range callees {
			if v, err := strconv.ParseUint(nums[c][1:], 10, 64); err == nil {
				sorted = append(sorted, v)
			}
		}
		slices.Sort(sorted)
		inRuns, run := 0, 1
		flush := func() {
			if run >= det.Sequential.MinRun {
				inRuns += run
			}
			run = 1
		}
		for i := 1; i < len(sorted); i++ {
			if sorted[i]-sorted[i-1] <= det.Sequential.MaxStep {
				run++
			} else {
				flush()
			}
		}
		flush()
		if inRuns >= det.Sequential.MinCallees {
			out = append(out, "sequential_dialing")
		}
	}
	return out
}

// moments accumulates a sample's count, sum and sum of squares.
type moments struct{ n, sum, sq float64 }

func (m *moments) add(v float64) { m.n, m.sum, m.sq = m.n+1, m.sum+v, m.sq+v*v }

// cv is the coefficient of variation, +Inf below minN values or at a
// zero mean. Gaps are taken in start order; the engine takes them in
// arrival order, which out-of-order records make slightly noisier.
func (m *moments) cv(minN int) float64 {
	if m.n < 2 || m.n < float64(minN) || m.sum <= 0 {
		return math.Inf(1)
	}
	mean := m.sum / m.n
	return math.Sqrt(max(m.sq/m.n-mean*mean, 0)) / mean
}

// concurrent reports whether at least min of cs were in progress at once
// on one switch's clock (calls of switches that write no id count with
// every switch).
func concurrent(cs []Call, min int) bool {
	fleet := traffic.Fleet()
	known := map[uint8]bool{}
	for _, c := range cs {
		if fleet[c.Switch].WritesID {
			known[c.Switch] = true
		}
	}
	if len(known) == 0 {
		return peakOf(cs, func(Call) bool { return true }) >= min
	}
	for sw := range known {
		if peakOf(cs, func(c Call) bool { return c.Switch == sw || !fleet[c.Switch].WritesID }) >= min {
			return true
		}
	}
	return false
}

// peakOf is the most calls of cs that keep says in progress at once.
func peakOf(cs []Call, keep func(Call) bool) int {
	type ev struct {
		t int64
		d int
	}
	evs := make([]ev, 0, 2*len(cs))
	for _, c := range cs {
		if keep(c) {
			evs = append(evs, ev{c.Start, 1}, ev{c.End(), -1})
		}
	}
	slices.SortFunc(evs, func(a, b ev) int {
		if a.t != b.t {
			return cmp.Compare(a.t, b.t)
		}
		return a.d - b.d // a release before an attempt at the same instant
	})
	n, peak := 0, 0
	for _, e := range evs {
		n += e.d
		peak = max(peak, n)
	}
	return peak
}

// dayCount is one caller's day as the engine's day-long window counts it:
// the hourly windows that tile the day (in DayZone) and hold at least
// stats.min_calls calls.
type dayCount struct {
	calls, answered, short int
	callees                map[uint32]bool
}

var dayLoc, _ = time.LoadLocation(DayZone)

// addDay adds window [ws, ws+1h) with calls cs to its day when it tiles
// the day and is busy enough.
func addDay(days map[int64]*dayCount, ws int64, cs []Call, det config.Detectors) {
	if !det.Daily.Enabled || len(cs) < config.Default().Stats.MinCalls {
		return
	}
	t := time.UnixMilli(ws).In(dayLoc)
	if t.Minute() != 0 || t.Second() != 0 {
		return
	}
	key := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, dayLoc).Unix()
	d := days[key]
	if d == nil {
		d = &dayCount{callees: map[uint32]bool{}}
		days[key] = d
	}
	maxTalk := det.ShortCalls.MaxTalk.Milliseconds()
	for _, c := range cs {
		d.calls++
		d.callees[c.Callee] = true
		if c.Disp == DispAnswered {
			d.answered++
			if int64(c.Talk) < maxTalk {
				d.short++
			}
		}
	}
}

func (d *dayCount) traits(det config.Detectors) []string {
	var out []string
	if len(d.callees) >= det.Daily.MinCallees {
		out = append(out, "daily_fan_out")
	}
	if d.answered >= det.Daily.MinAnswered && float64(d.short) >= det.ShortCalls.MinShare*float64(d.answered) {
		out = append(out, "daily_short_calls")
	}
	if d.calls >= det.Daily.MinAttempts && float64(d.answered) <= det.LowAnswerRate.MaxRate*float64(d.calls) {
		out = append(out, "daily_low_answer_rate")
	}
	return out
}
