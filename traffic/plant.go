package traffic

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Each planted caller makes all its calls in one burst of at most 40
// minutes, so the whole burst lies inside one of the pipeline's 1-hour
// windows that slide by 5 minutes, and each is built to cross exactly one
// detector's threshold with a margin:
//
//	kind                calls   distinct callees     answered  short talk
//	fan_out             80-200  all (>= 80)          ~50%      none (30-300 s)
//	short_calls         30-45   20-40                >= 90%    >= 85% of answered
//	sequential_dialing  25-45   17-45, in runs >= 5  0-5       -
//
// Callees of fan_out and short_calls are at least minCalleeGap apart, so
// they never form the runs sequential_dialing counts.
//
// Planted callers are homed like everyone else, by their number's hash
// (HomeSwitch), but their numbers are drawn so that they go round the
// fleet's switches in turn: every switch but the two tiny ones and the
// gateway carries some, skewed clocks and local times included, whatever
// the seed.

// plantAll plants the configured number of callers of each kind.
func (m *model) plantAll() {
	for range m.cfg.FanOut {
		m.plant(KindFanOut, m.fanOutCalls)
	}
	for range m.cfg.ShortCalls {
		m.plant(KindShortCalls, m.shortCalls)
	}
	for range m.cfg.Sequential {
		m.plant(KindSequential, m.sequentialCalls)
	}
}

// plant gives a fresh number to one planted caller, appends its calls and
// records it for the Truth.
func (m *model) plant(kind string, makeCalls func(caller uint64) []call) {
	home := plantSwitches[len(m.planted)%len(plantSwitches)]
	var caller uint64
	for {
		caller = randomMobile(m.r)
		if _, dup := m.used[caller]; !dup && HomeSwitch(nationalNumber(m.cfg.CountryCode, caller)) == home {
			break
		}
	}
	m.used[caller] = struct{}{}
	calls := makeCalls(caller)
	distinct := make(map[uint64]struct{}, len(calls))
	for _, c := range calls {
		distinct[c.callee] = struct{}{}
	}
	m.calls = append(m.calls, calls...)
	m.planted = append(m.planted, Planted{
		Number:          e164(m.cfg.CountryCode, caller),
		Kind:            kind,
		Calls:           len(calls),
		DistinctCallees: len(distinct),
		FirstCall:       time.UnixMilli(calls[0].start).UTC(),
		LastCall:        time.UnixMilli(calls[len(calls)-1].start).UTC(),
		Switch:          fleet[home].ID,
	})
}

// plantSwitches are the switches planted callers are homed on in turn:
// all with at least 1% of the callers.
var plantSwitches = func() []int {
	var out []int
	for i, sw := range fleet {
		if sw.Weight >= 10 {
			out = append(out, i)
		}
	}
	return out
}()

// fanOutCalls: many distinct random callees, about half answered with long
// talk so the caller is not also short_calls.
func (m *model) fanOutCalls(caller uint64) []call {
	r := m.r
	n := 80 + r.IntN(121)
	times := m.burstTimes(n, 20+r.IntN(21))
	callees := spreadMobiles(r, n)
	calls := make([]call, n)
	for i := range calls {
		c := &calls[i]
		*c = call{start: times[i], caller: caller, callee: callees[i], kind: kindFanOut}
		if r.IntN(2) == 0 {
			setAnswered(c, uniformMs(r, 3, 20), uniformMs(r, 30, 300))
		} else {
			setUnanswered(c, DispNoAnswer, causeNoAnswer, uniformMs(r, 20, 60))
		}
	}
	return calls
}

// shortCalls: fewer than 50 distinct callees, nearly all answered, and
// nearly all answered ones cut within 1-8 s. The answered and short counts
// are fixed up front (not per-call coin flips) so every planted caller
// clears the 20-answered and 70%-short thresholds.
func (m *model) shortCalls(caller uint64) []call {
	r := m.r
	n := 30 + r.IntN(16)
	distinct := 20 + r.IntN(min(20, n-20)+1)
	times := m.burstTimes(n, 15+r.IntN(26))
	callees := spreadMobiles(r, distinct)
	for len(callees) < n {
		callees = append(callees, callees[r.IntN(distinct)])
	}
	r.Shuffle(n, func(i, j int) { callees[i], callees[j] = callees[j], callees[i] })

	answered := ceilPercent(n, 90)
	answered += r.IntN(n - answered + 1)
	short := ceilPercent(answered, 85)
	short += r.IntN(answered - short + 1)
	order := r.Perm(n) // order[:short] short, then long, then unanswered
	calls := make([]call, n)
	for rank, i := range order {
		c := &calls[i]
		*c = call{start: times[i], caller: caller, callee: callees[i], kind: kindShortCalls}
		switch {
		case rank < short:
			setAnswered(c, uniformMs(r, 2, 10), uniformMs(r, 1, 8))
		case rank < answered:
			setAnswered(c, uniformMs(r, 2, 10), uniformMs(r, 15, 60))
		default:
			m.shortUnanswered(c)
		}
	}
	return calls
}

func (m *model) shortUnanswered(c *call) {
	switch m.r.IntN(3) {
	case 0:
		setUnanswered(c, DispNoAnswer, causeNoAnswer, uniformMs(m.r, 20, 40))
	case 1:
		setUnanswered(c, DispBusy, causeBusy, uniformMs(m.r, 0, 2))
	default:
		setUnanswered(c, DispCancelled, causeNormalUnspec, uniformMs(m.r, 3, 15))
	}
}

// ceilPercent returns ceil(n*pct/100) in integer arithmetic, avoiding
// float rounding like 0.9*30 = 27.000000000000004.
func ceilPercent(n, pct int) int { return (n*pct + 99) / 100 }

// sequentialCalls: a scan through a consecutive number range, mostly
// unallocated or unanswered, with a few redials.
func (m *model) sequentialCalls(caller uint64) []call {
	r := m.r
	n := 25 + r.IntN(21)
	redials := r.IntN(min(8, n-15) + 1)
	seq := scanRange(r, n-redials, 1+r.IntN(3))
	for range redials {
		p := r.IntN(len(seq))
		seq = slices.Insert(seq, p+1, seq[p])
	}
	times := m.burstTimes(n, 10+r.IntN(21))
	answered := r.IntN(6)
	order := r.Perm(n)
	calls := make([]call, n)
	for rank, i := range order {
		c := &calls[i]
		*c = call{start: times[i], caller: caller, callee: seq[i], kind: kindSequential}
		switch {
		case rank < answered:
			setAnswered(c, uniformMs(r, 3, 15), uniformMs(r, 2, 40))
		case r.IntN(5) < 3:
			setUnanswered(c, DispFailed, causeUnallocated, uniformMs(r, 0, 1))
		default:
			setUnanswered(c, DispNoAnswer, causeNoAnswer, uniformMs(r, 15, 40))
		}
	}
	return calls
}

// scanRange returns n increasing mobile numbers stepping by step. It skips
// a number now and then; a skip that breaks a run (gap > 3) is only taken
// when both sides keep at least 5 numbers, so every number stays in a run
// of 5 or more.
func scanRange(r *rand.Rand, n, step int) []uint64 {
	v := mobileLow + r.Uint64N(mobileHigh-mobileLow-mobileRangeMargin)
	out := make([]uint64, 0, n+8)
	out = append(out, v)
	run := 1
	for i := 1; i < n; i++ {
		gap := uint64(step)
		if r.IntN(12) == 0 {
			switch {
			case step == 1:
				gap = 2
			case run >= 5 && n-i >= 5:
				gap, run = uint64(2*step), 0
			}
		}
		v += gap
		out = append(out, v)
		run++
	}
	return out
}

// burstTimes returns n sorted start times, one second apart at least, in a
// burst of length minutes placed by burstStart.
func (m *model) burstTimes(n, minutes int) []int64 {
	length := int64(minutes) * minuteMs
	bs := m.burstStart(length)
	// Spreading may push later calls forward; leave a minute for it.
	span := length - minuteMs
	times := make([]int64, n)
	for i := range times {
		times[i] = bs + m.r.Int64N(span)
	}
	slices.Sort(times)
	spreadSeconds(times)
	return times
}

// burstStart places a burst anywhere in the window; one in four straddles
// an hour boundary inside the window when there is one, since tumbling
// hourly logic would split such a burst.
func (m *model) burstStart(length int64) int64 {
	latest := m.endMs - length
	if m.r.IntN(4) == 0 {
		first := (m.startMs/hourMs + 1) * hourMs
		if n := (latest + length - minuteMs - first) / hourMs; first < m.endMs-minuteMs && n >= 0 {
			h := first + m.r.Int64N(n+1)*hourMs
			bs := h - minuteMs - m.r.Int64N(length-2*minuteMs)
			if bs >= m.startMs && bs <= latest {
				return bs
			}
		}
	}
	return m.startMs + m.r.Int64N(latest-m.startMs+1)
}
