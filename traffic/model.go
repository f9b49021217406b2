package traffic

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

const (
	secondMs = int64(time.Second / time.Millisecond)
	minuteMs = 60 * secondMs
	hourMs   = 60 * minuteMs
	// endMarginMs keeps ordinary calls clear of the window's end, so the
	// one-second spreading of a subscriber's calls cannot push one past it.
	endMarginMs = 10 * secondMs
	// veryLateMinMs and veryLateSpreadMs place a very late record 30-40
	// minutes of event time behind the stream.
	veryLateMinMs    = 30 * minuteMs
	veryLateSpreadMs = 10 * minuteMs
)

// Q.850 release causes used by the model.
const (
	causeUnallocated    = 1
	causeNormal         = 16
	causeBusy           = 17
	causeNoAnswer       = 19
	causeRejected       = 21
	causeTempFailure    = 41
	causeNormalUnspec   = 31
	causeNoCircuitAvail = 34
)

// kindID says which population a call's caller belongs to.
type kindID uint8

const (
	kindOrdinary kindID = iota
	kindFanOut
	kindShortCalls
	kindSequential
)

// callFlags mark calls that get special treatment when emitted.
type callFlags uint8

const (
	flagVeryLate callFlags = 1 << iota
	flagFarFuture
	// flagForeign: the caller is a number abroad (caller holds its full
	// E.164 digits, not a national number) and the call comes in through
	// the international gateway.
	flagForeign
	// flagWithheld: the caller withheld its caller ID.
	flagWithheld
)

// call is one planned call, kept compact (40 bytes) because a large run
// holds millions of them before sorting by start time.
type call struct {
	start  int64  // start_time, Unix milliseconds
	caller uint64 // NSN, or E.164 digits when flagForeign
	callee uint64 // NSN
	talk   int32  // talk time in ms, 0 when not answered
	ring   int32  // ms from attempt to answer or release
	id     uint32 // the call's place in its switch's sequence (Record.Seq)
	disp   Disposition
	cause  uint8
	kind   kindID
	flags  callFlags
}

// model is the planned traffic: who exists, who calls whom and when.
type model struct {
	cfg     Config
	r       *rand.Rand
	startMs int64
	endMs   int64
	used    map[uint64]struct{} // every caller number handed out

	subs       []uint64
	contacts   []uint64 // all contact lists, back to back
	contactOff []int32  // subscriber i's contacts are contacts[contactOff[i]:contactOff[i+1]]

	calls   []call // in start order once built
	future  []call // far-future calls, emitted mid-stream
	planted []Planted
	// perSwitch counts the calls each switch writes.
	perSwitch [NumSwitches]int64
}

func newModel(cfg Config, r *rand.Rand) *model {
	return &model{
		cfg:     cfg,
		r:       r,
		startMs: cfg.Start.UnixMilli(),
		endMs:   cfg.End().UnixMilli(),
		used:    make(map[uint64]struct{}, cfg.Subscribers+cfg.FanOut+cfg.ShortCalls+cfg.Sequential),
	}
}

// build plans all calls. The order of steps is part of the output: each
// draws from the shared random stream.
func (m *model) build(ctx context.Context) error {
	m.buildSubscribers()
	m.buildContacts()
	if err := m.ordinaryCalls(ctx); err != nil {
		return err
	}
	m.callsFromAbroad()
	m.plantAll()
	slices.SortFunc(m.calls, compareCalls)
	m.markVeryLate()
	m.farFutureCalls()
	m.numberBySwitch()
	return nil
}

// switchOf returns the switch that writes c: the gateway for a call from
// abroad, else the caller's home switch.
func switchOf(cc int, c *call) int {
	if c.flags&flagForeign != 0 {
		return gatewayIndex
	}
	return HomeSwitch(nationalNumber(cc, c.caller))
}

// numberBySwitch gives every call its place in its switch's sequence, in
// start order (the far-future ones last), as each switch's counter would.
func (m *model) numberBySwitch() {
	for _, cs := range [2][]call{m.calls, m.future} {
		for i := range cs {
			sw := switchOf(m.cfg.CountryCode, &cs[i])
			cs[i].id = uint32(m.perSwitch[sw])
			m.perSwitch[sw]++
		}
	}
}

// compareCalls orders by start time; caller and callee break ties so the
// order never depends on the sort algorithm.
func compareCalls(a, b call) int {
	if c := cmp.Compare(a.start, b.start); c != 0 {
		return c
	}
	if c := cmp.Compare(a.caller, b.caller); c != 0 {
		return c
	}
	return cmp.Compare(a.callee, b.callee)
}

func (m *model) buildSubscribers() {
	m.subs = make([]uint64, m.cfg.Subscribers)
	for i := range m.subs {
		m.subs[i] = uniqueMobile(m.r, m.used)
	}
}

// buildContacts gives each subscriber 3-12 contacts, mostly other
// subscribers and some landlines, which bounds its distinct callees far
// below the fan_out and sequential_dialing thresholds.
func (m *model) buildContacts() {
	n := len(m.subs)
	m.contactOff = make([]int32, n+1)
	m.contacts = make([]uint64, 0, n*8)
	for i := range n {
		k := 3 + m.r.IntN(10)
		for range k {
			m.contacts = append(m.contacts, m.randomContact(i))
		}
		m.contactOff[i+1] = int32(len(m.contacts))
	}
}

func (m *model) randomContact(self int) uint64 {
	n := len(m.subs)
	if n < 2 || m.r.IntN(5) == 0 {
		return randomLandline(m.r)
	}
	j := m.r.IntN(n - 1)
	if j >= self {
		j++ // never oneself
	}
	return m.subs[j]
}

// pickContact favours the first few contacts, as people call a few
// numbers most.
func (m *model) pickContact(sub int) uint64 {
	cs := m.contacts[m.contactOff[sub]:m.contactOff[sub+1]]
	if m.r.IntN(2) == 0 {
		return cs[m.r.IntN(min(3, len(cs)))]
	}
	return cs[m.r.IntN(len(cs))]
}

// ordinaryCalls plans every subscriber's calls at uniform random times.
func (m *model) ordinaryCalls(ctx context.Context) error {
	hours := float64(m.endMs-m.startMs) / float64(hourMs)
	lambda := m.cfg.CallsPerSubscriberHour * hours
	m.calls = make([]call, 0, int(float64(len(m.subs))*lambda*1.05)+256*(m.cfg.FanOut+m.cfg.ShortCalls+m.cfg.Sequential))
	span := m.endMs - endMarginMs - m.startMs
	var times []int64
	for i := range m.subs {
		if i&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		times = times[:0]
		for range poisson(m.r, lambda) {
			times = append(times, m.startMs+m.r.Int64N(span))
		}
		slices.Sort(times)
		spreadSeconds(times)
		var busyUntil int64
		for _, t := range capPerHour(times, MaxOrdinaryCallsPerHour) {
			c := call{start: t, caller: m.subs[i], callee: m.pickContact(i)}
			m.ordinaryOutcome(&c)
			if m.r.Float64() < m.cfg.WithheldRate {
				c.flags |= flagWithheld
			}
			// A person with one handset does not start a call while the
			// last one is still ringing or talking.
			if t < busyUntil {
				continue
			}
			busyUntil = t + int64(c.ring) + int64(c.talk)
			m.calls = append(m.calls, c)
		}
	}
	return nil
}

// abroad are the countries calls from abroad come from: country code,
// the leading digits of a mobile national number and its length.
var abroad = [...]struct {
	cc, lead uint64
	digits   int
}{
	{852, 9, 8},  // Hong Kong
	{1, 0, 10},   // United States and Canada (NANP, drawn apart)
	{81, 90, 10}, // Japan
	{82, 10, 10}, // South Korea
	{886, 9, 9},  // Taiwan
	{65, 8, 8},   // Singapore
	{44, 7, 10},  // United Kingdom
	{61, 4, 9},   // Australia
	{49, 15, 11}, // Germany
	{7, 9, 10},   // Russia
}

// foreignNumber returns a random mobile number abroad as E.164 digits.
func foreignNumber(r *rand.Rand) uint64 {
	a := abroad[r.IntN(len(abroad))]
	var nsn uint64
	if a.cc == 1 {
		// NANP: area code and exchange both start with 2-9.
		nsn = (200+r.Uint64N(800))*10_000_000 + (200+r.Uint64N(800))*10_000 + r.Uint64N(10_000)
	} else {
		rest := a.digits - ndigits(a.lead)
		nsn = a.lead*pow10[rest] + r.Uint64N(pow10[rest])
	}
	return a.cc*pow10[a.digits] + nsn
}

// callsFromAbroad plans the calls that come in from abroad, a share of
// the ordinary calls: each from its own foreign number to a subscriber,
// written by the international gateway.
func (m *model) callsFromAbroad() {
	n := int(math.Round(m.cfg.InternationalShare * float64(len(m.calls))))
	if n == 0 || len(m.subs) == 0 {
		return
	}
	seen := make(map[uint64]struct{}, n)
	span := m.endMs - endMarginMs - m.startMs
	for range n {
		caller := foreignNumber(m.r)
		for _, dup := seen[caller]; dup; _, dup = seen[caller] {
			caller = foreignNumber(m.r)
		}
		seen[caller] = struct{}{}
		c := call{start: m.startMs + m.r.Int64N(span), caller: caller, callee: m.subs[m.r.IntN(len(m.subs))], flags: flagForeign}
		m.ordinaryOutcome(&c)
		m.calls = append(m.calls, c)
	}
}

// ordinaryOutcome sets a realistic ending: ~75% answered with log-normal
// talk time (median 60 s, a few under 10 s), the rest unanswered.
func (m *model) ordinaryOutcome(c *call) {
	r := m.r
	p := r.IntN(100)
	switch {
	case p < 75:
		talk := math.Exp(math.Log(60) + r.NormFloat64())
		talk = min(max(talk, 1), 7200)
		setAnswered(c, uniformMs(r, 2, 20), int64(talk*1000))
	case p < 87:
		setUnanswered(c, DispNoAnswer, causeNoAnswer, uniformMs(r, 20, 60))
	case p < 93:
		setUnanswered(c, DispBusy, causeBusy, uniformMs(r, 0, 2))
	case p < 97:
		setUnanswered(c, DispCancelled, causeNormalUnspec, uniformMs(r, 3, 25))
	case p < 99:
		setUnanswered(c, DispRejected, causeRejected, uniformMs(r, 0, 5))
	default:
		cause := uint8(causeTempFailure)
		if r.IntN(2) == 0 {
			cause = causeNoCircuitAvail
		}
		setUnanswered(c, DispFailed, cause, uniformMs(r, 0, 1))
	}
}

func setAnswered(c *call, ringMs, talkMs int64) {
	c.disp, c.cause, c.ring, c.talk = DispAnswered, causeNormal, int32(ringMs), int32(talkMs)
}

func setUnanswered(c *call, d Disposition, cause uint8, ringMs int64) {
	c.disp, c.cause, c.ring, c.talk = d, cause, int32(ringMs), 0
}

// uniformMs returns a uniform duration in [lo, hi) seconds, in ms.
func uniformMs(r *rand.Rand, lo, hi int64) int64 {
	if hi <= lo {
		return lo * secondMs
	}
	return lo*secondMs + r.Int64N((hi-lo)*secondMs)
}

// poisson draws a Poisson variate: Knuth's product method for the small
// means ordinary subscribers have, a rounded normal beyond that.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	limit, k, p := math.Exp(-lambda), 0, r.Float64()
	for p > limit {
		k++
		p *= r.Float64()
	}
	return k
}

// spreadSeconds moves sorted times forward so that no two fall in the same
// second: records without call_id are de-duplicated on content, and two
// different calls of one caller must never look like the same call.
func spreadSeconds(ts []int64) {
	for i := 1; i < len(ts); i++ {
		if prev := ts[i-1] / secondMs; ts[i]/secondMs <= prev {
			ts[i] = (prev+1)*secondMs + ts[i]%secondMs
		}
	}
}

// capPerHour keeps sorted times greedily so that no half-open hour holds
// more than limit of the kept ones, and returns them in place.
func capPerHour(ts []int64, limit int) []int64 {
	kept := ts[:0]
	lo := 0
	for _, t := range ts {
		for lo < len(kept) && kept[lo] <= t-hourMs {
			lo++
		}
		if len(kept)-lo < limit {
			kept = append(kept, t)
		}
	}
	return kept
}

// markVeryLate flags VeryLateCount ordinary calls early enough in the
// window that, 30-40 minutes later, the stream is still running.
func (m *model) markVeryLate() {
	latest := m.endMs - veryLateMinMs - veryLateSpreadMs - minuteMs
	marked := 0
	for tries := 0; marked < m.cfg.VeryLateCount && tries < 100*m.cfg.VeryLateCount && len(m.calls) > 0; tries++ {
		c := &m.calls[m.r.IntN(len(m.calls))]
		if c.kind != kindOrdinary || c.flags != 0 || c.start > latest {
			continue
		}
		c.flags |= flagVeryLate
		marked++
	}
}

// farFutureCalls plans the records dated FarFutureOffset after the window,
// each from a random ordinary subscriber to one of its contacts.
func (m *model) farFutureCalls() {
	base := m.endMs + FarFutureOffset.Milliseconds()
	for i := range m.cfg.FarFuture {
		sub := m.r.IntN(len(m.subs))
		c := call{
			start:  base + int64(i)*2*secondMs + m.r.Int64N(secondMs),
			caller: m.subs[sub],
			callee: m.pickContact(sub),
			flags:  flagFarFuture,
		}
		m.ordinaryOutcome(&c)
		m.future = append(m.future, c)
	}
}
