package main

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/cdrpipe/cdrpipe/traffic"
)

// Class is what kind of caller a number is. Every calling number of the
// generated traffic has exactly one.
type Class string

// The caller classes. Ordinary subscribers and legitimate heavy callers
// must never be blocked; abusers should be.
const (
	Ordinary         Class = "ordinary"
	ServiceCentre    Class = "service_centre"
	NotificationLine Class = "notification_line"
	Clinic           Class = "clinic"
	Courier          Class = "courier"
	RepeatCaller     Class = "repeat_caller"
	HotlineRedialer  Class = "hotline_redialer"
	WorriedRelative  Class = "worried_relative"
	Roamer           Class = "roamer"
	Robocaller       Class = "robocaller"
	TelemarketerLow  Class = "telemarketer_low"
	TelemarketerSlow Class = "telemarketer_slow"
	ScannerFast      Class = "range_scanner_fast"
	ScannerSlow      Class = "range_scanner_slow"
	Wangiri          Class = "wangiri"
	CallBomber       Class = "call_bomber"
	CallBomberDist   Class = "call_bomber_dist"
	Simbox           Class = "simbox"
	Spoofer          Class = "spoofer"
	SpooferBadID     Class = "spoofer_bad_id"
	InvalidDialer    Class = "invalid_dialer"
	Campaign         Class = "campaign"
	EnterpriseLine   Class = "enterprise_line"
	OfficeLine       Class = "office_line"
)

// Traits are the detector names scored, as written to
// flagged_numbers.detector.
var Traits = []string{
	"fan_out", "short_calls", "sequential_dialing", "one_ring", "low_answer_rate", "burst",
	"concurrent_calls", "invalid_callees", "robotic_timing", "no_callback", "call_bombing", "spoofed_origin",
	"daily_fan_out", "daily_short_calls", "daily_low_answer_rate",
}

// ClassSpec describes a class: whether it should be blocked and which
// traits its traffic is built to show.
type ClassSpec struct {
	Class   Class
	Abuser  bool
	Default int // callers of this class in a default run (ordinary: per Config.Subscribers)
	// Group says Default counts groups of numbers behind one trunk each
	// (call centres, enterprises), not numbers.
	Group bool
	// Always are the traits (all checked by brute force, see check.go)
	// every caller of the class crosses; Maybe are traits some of its
	// callers cross, depending on their drawn rates or on partial windows.
	// The truth of each number is what its own records really cross, so a
	// Maybe never guesses; the model tests hold the classes to these lists.
	Always []string
	Maybe  []string
	// Note is one line on what the traffic looks like.
	Note string
}

// Specs lists every class in report order.
var Specs = []ClassSpec{
	{Class: Ordinary, Note: "contact graph, daily rhythm, log-normal talk (median 60 s), ~75% answered, callbacks"},
	{Class: ServiceCentre, Default: 5, Always: []string{"fan_out", "daily_fan_out"}, Maybe: []string{"no_callback"},
		Note: "landline/400 number, 100–300 distinct callees/h, 60–600 s talk, ~80% answered, many lines at once, customers call back"},
	{Class: NotificationLine, Default: 3, Always: []string{"no_callback", "fan_out", "burst", "daily_fan_out"},
		Note: "bank 95xxx line, 1500–3000 calls/h, 20–40 s messages, ~60% answered, ~1% call back"},
	{Class: Clinic, Default: 3, Always: []string{"fan_out", "daily_fan_out"}, Maybe: []string{"no_callback"},
		Note: "hospital reminder landline, 70–150 patients/h, 15–60 s, ~70% answered, 10% call back"},
	{Class: Courier, Default: 20, Maybe: []string{"fan_out", "daily_fan_out"},
		Note: "mobile, 30–40 or 56–60 calls/h to distinct numbers, 10–40 s, ~70% answered, 40% call back"},
	{Class: RepeatCaller, Default: 20,
		Note: "mobile, 20–40 calls/h to the same 2–3 contacts, short and unanswered mixed"},
	{Class: HotlineRedialer, Default: 40, Maybe: []string{"burst"},
		Note: "mobile, redials a busy 95xxx hotline 3–8 times within minutes until answered; the hotline takes 1,500–2,500 calls/h from other subscribers"},
	{Class: WorriedRelative, Default: 30, Maybe: []string{"burst"},
		Note: "mobile, rings one unanswering relative 6–15 times within 15 minutes, once or twice in the span"},
	{Class: Roamer, Default: 30,
		Note: "mobile subscriber abroad calling home to 1–3 people, 2–6 times in the span, redialling when unanswered: through INTL-GW1/INTL-GW2 with the subscriber's own domestic number"},
	{Class: Robocaller, Abuser: true, Default: 10,
		Always: []string{"no_callback", "fan_out", "short_calls", "burst", "low_answer_rate", "robotic_timing", "daily_fan_out", "daily_short_calls", "daily_low_answer_rate"},
		Note:   "landline/VoIP, 300–800 calls/h in dialer batches, ≤11% answered, fixed 4–8 s message, nobody calls back"},
	{Class: TelemarketerLow, Abuser: true, Default: 15, Always: []string{"no_callback", "short_calls", "daily_short_calls"}, Maybe: []string{"daily_fan_out"},
		Note: "mobile, 35–45 distinct callees/h (under fan_out), ~80% answered, 90% hang up within 10 s, 0.5% call back"},
	{Class: TelemarketerSlow, Abuser: true, Default: 10, Maybe: []string{"no_callback", "daily_fan_out", "daily_short_calls"},
		Note: "mobile, a 12 h shift in one Shanghai day: 19–24 distinct callees/h (under every hourly threshold), 50% answered, 85% hang up within 10 s; " +
			"200+ people a day (daily_fan_out, daily_short_calls in runs of a day)"},
	{Class: ScannerFast, Abuser: true, Default: 5,
		Always: []string{"no_callback", "sequential_dialing", "fan_out", "short_calls", "daily_fan_out", "daily_short_calls"}, Maybe: []string{"low_answer_rate"},
		Note: "mobile, 100–200 numbers/h stepping 1–3 through a range, ~30% answered for 1–6 s"},
	{Class: ScannerSlow, Abuser: true, Default: 10, Always: []string{"sequential_dialing"}, Maybe: []string{"no_callback"},
		Note: "mobile, 13–18 numbers/h stepping 1–3, ~30% answered for 1–6 s"},
	{Class: Wangiri, Abuser: true, Default: 10, Always: []string{"one_ring", "low_answer_rate"}, Maybe: []string{"no_callback", "fan_out", "daily_fan_out", "daily_low_answer_rate"},
		Note: "domestic or foreign number, 40–120 attempts/h, cancelled after 1–2 s ring, never answered, 15% of victims call back"},
	{Class: CallBomber, Abuser: true, Default: 5, Always: []string{"call_bombing", "burst"}, Maybe: []string{"short_calls", "low_answer_rate"},
		Note: "mobile, 1–3 floods of 30–80 calls in 10 min at one victim, redialling every 4–5 s"},
	{Class: CallBomberDist, Abuser: true, Default: 30, Always: []string{"call_bombing"},
		Note: "groups of 10 numbers, each calling the same victim 3–6 times in 10 min"},
	{Class: Simbox, Abuser: true, Default: 8, Always: []string{"concurrent_calls", "fan_out", "daily_fan_out"}, Maybe: []string{"no_callback", "burst"},
		Note: "mobile number in 3–6 calls at once, ~150–300 calls/h, 65% answered, 20% call back"},
	{Class: Spoofer, Abuser: true, Default: 10, Always: []string{"spoofed_origin"}, Maybe: []string{"no_callback"},
		Note: "domestic caller IDs on trunks INTL-GW1/INTL-GW2, 20–40 calls/h, 20% call back"},
	{Class: SpooferBadID, Abuser: true, Default: 5, Always: []string{"no_callback", "spoofed_origin"},
		Note: "caller IDs outside the plan (+86 mobile prefix, 7–9 or 12 digits), 25–40 calls/h"},
	{Class: InvalidDialer, Abuser: true, Default: 8,
		Always: []string{"no_callback", "fan_out", "low_answer_rate", "daily_low_answer_rate"}, Maybe: []string{"invalid_callees", "daily_fan_out"},
		Note: "random numbers, 60–150 attempts/h, ~50% cause 1 and 5% cause 28, ~6% answered; " +
			"behind a switch that writes no cause (Asterisk) the unallocated numbers do not show"},
	{Class: EnterpriseLine, Default: 3, Group: true, Maybe: []string{"no_callback", "daily_fan_out"},
		Note: "a bank's service agents (60–90 lines of a block, 8–12 calls/h each), an insurer's dialler rotating 200 numbers of two blocks (400–600 calls/h), " +
			"a courier firm's dispatch (30–50 lines, 15–25 calls/h each); 55–75% answered, real conversations, 20–40% of the missed call back; each behind its own SIP trunk"},
	{Class: OfficeLine, Group: true,
		Note: "generated with two of the campaigns: an office whose 8–15 lines share the campaign's last block (from the next ten on), " +
			"on the campaign's trunk (a reseller's) or on its own; 3–6 calls/h each, 60% answered, real conversations"},
	{Class: Campaign, Abuser: true, Default: 4, Group: true,
		Note: "call centres behind their own SIP trunk presenting a random number of their block on every call: 25–170 numbers, 100–600 calls/h per trunk, " +
			"3–5 calls per number; 25–35% answered, 65–85% of those hung up within 10 s; 1% call back"},
}

// Spec returns the spec of c.
func Spec(c Class) ClassSpec {
	for _, s := range Specs {
		if s.Class == c {
			return s
		}
	}
	panic("BUG: unknown class " + string(c))
}

// Config is the traffic model's configuration.
type Config struct {
	Seed        int64
	Subscribers int
	// Start is the first call's earliest start; Span how long traffic runs.
	Start time.Time
	Span  time.Duration
	// Counts overrides the number of callers per class (nil: defaults).
	Counts map[Class]int
	// Noise rates, as shares of valid records.
	DuplicateRate  float64
	OutOfOrderRate float64
	VeryLateRate   float64
	MalformedRate  float64
	// WithheldRate is the share of ordinary subscribers' calls made with
	// the caller ID withheld.
	WithheldRate float64
}

// DefaultConfig is a 3 h, 50k-subscriber run starting six hours before
// the current hour, so nothing is in the future.
func DefaultConfig() Config {
	return Config{
		Seed:           1,
		Subscribers:    50000,
		Start:          DefaultStart(time.Now(), 3*time.Hour),
		Span:           3 * time.Hour,
		DuplicateRate:  0.01,
		OutOfOrderRate: 0.05,
		VeryLateRate:   0.0003,
		MalformedRate:  0.002,
		WithheldRate:   0.003,
	}
}

// callbackHorizon is how long after the span callbacks are still made.
const callbackHorizon = 2 * msPerHour

// DefaultStart is the current hour minus 6 h, or further back when the
// span is longer, so the span and the callbacks after it (callbackHorizon)
// lie at least an hour in the past.
func DefaultStart(now time.Time, span time.Duration) time.Time {
	back := 6 * time.Hour
	if span+3*time.Hour > back {
		back = (span + 3*time.Hour).Truncate(time.Hour)
	}
	return now.UTC().Truncate(time.Hour).Add(-back)
}

func (c Config) count(cl Class) int {
	if n, ok := c.Counts[cl]; ok {
		return n
	}
	return Spec(cl).Default
}

// Disposition codes, as the CDR contract spells them (traffic.Disposition).
const (
	DispAnswered  = uint8(traffic.DispAnswered)
	DispNoAnswer  = uint8(traffic.DispNoAnswer)
	DispBusy      = uint8(traffic.DispBusy)
	DispFailed    = uint8(traffic.DispFailed)
	DispRejected  = uint8(traffic.DispRejected)
	DispCancelled = uint8(traffic.DispCancelled)
)

// Call is one generated call. Numbers are indexes into Traffic.Numbers.
type Call struct {
	Start  int64 // Unix ms
	Ring   int32 // ms from attempt to answer or release
	Talk   int32 // ms, 0 unless answered
	Caller uint32
	Callee uint32
	Seq    uint32 // its place among its switch's calls (traffic.Record.Seq)
	Disp   uint8
	Cause  uint8
	Trunk  uint8 // index into trunks
	Switch uint8 // index into traffic.Fleet(): the switch that writes it
	Late   bool  // sent 30+ minutes after its time: stored, never counted
	// Withheld: the caller withheld its caller ID. Hidden (set only in
	// Traffic.Seen): and its switch wrote no number, so nobody can count
	// the call for a caller.
	Withheld bool
	Hidden   bool
}

// End is when the call was released, Unix ms.
func (c *Call) End() int64 { return c.Start + int64(c.Ring) + int64(c.Talk) }

var trunks = []string{"DOM-1", "DOM-2", "DOM-3", "DOM-4", "INTL-GW1", "INTL-GW2",
	"SIPT-0431", "SIPT-0517", "SIPT-0688", "SIPT-0702", // campaigns' (trunkCampaign)
	"SIPT-0112", "SIPT-0256", "SIPT-0374", // enterprises' (trunkEnterprise)
}

// InternationalTrunks are the trunk ids the benchmark configures as
// carrying calls from abroad.
var InternationalTrunks = []string{"INTL-GW1", "INTL-GW2"}

const (
	trunkINTL1 = 4
	msPerSec   = 1000
	msPerMin   = 60 * msPerSec
	msPerHour  = 60 * msPerMin
)

// gen holds generation state.
type gen struct {
	cfg     Config
	r       *rand.Rand
	start   int64
	end     int64
	nums    *numbers
	subs    []uint32   // ordinary subscribers (number indexes)
	contact [][]uint32 // per subscriber position, contacts as number indexes
	subPos  map[uint32]int32
	calls   []Call
	class   map[uint32]Class
	hotline uint32 // the busy hotline redialers call (busyHotline)
}

// Generate builds the traffic of cfg: every call, its truth and its wire
// lines with noise. The same cfg gives byte-identical output.
func Generate(cfg Config) *Traffic {
	g := &gen{
		cfg:    cfg,
		r:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		start:  cfg.Start.UnixMilli(),
		end:    cfg.Start.Add(cfg.Span).UnixMilli(),
		class:  map[uint32]Class{},
		subPos: map[uint32]int32{},
	}
	g.nums = newNumbers(g.r)
	g.subscribers()
	g.ordinaryCalls()
	for _, s := range Specs[1:] {
		for i := 0; i < g.cfg.count(s.Class); i++ {
			g.heavy(s.Class, i)
		}
	}
	g.serialise()
	g.capOrdinary()
	// Callbacks may fall up to callbackHorizon after the span, so the last
	// hour's callees can still call back; anything later is dropped.
	g.calls = slices.DeleteFunc(g.calls, func(c Call) bool { return c.Start < g.start || c.Start >= g.end+callbackHorizon })
	slices.SortStableFunc(g.calls, func(a, b Call) int {
		if a.Start != b.Start {
			return cmp.Compare(a.Start, b.Start)
		}
		return cmp.Compare(int64(a.Caller), int64(b.Caller))
	})
	for i := range g.calls {
		if g.r.Float64() < cfg.VeryLateRate {
			g.calls[i].Late = true
		}
	}
	for i := range g.calls {
		if c := &g.calls[i]; g.class[c.Caller] == Ordinary && g.r.Float64() < cfg.WithheldRate {
			c.Withheld = true
		}
	}
	t := &Traffic{Calls: g.calls, Numbers: g.nums.list, Class: map[string]Class{}}
	for idx, cl := range g.class {
		t.Class[g.nums.list[idx]] = cl
	}
	t.route(cfg.Seed)
	t.expect()
	t.emit(cfg, g.r)
	return t
}

// route gives every call the switch that writes it, as on a real network:
// a call from abroad (on an international trunk) comes in through the
// international gateway, any other goes through its caller's home switch.
// Each switch numbers its calls in start order.
func (t *Traffic) route(seed int64) {
	t.nums = make([]traffic.Number, len(t.Numbers))
	for i, s := range t.Numbers {
		n, err := traffic.ParseNumber(s)
		if err != nil {
			panic("BUG: " + err.Error())
		}
		t.nums[i] = n
	}
	var perSwitch [traffic.NumSwitches]int64
	for i := range t.Calls {
		c := &t.Calls[i]
		sw := traffic.HomeSwitch(t.nums[c.Caller])
		if slices.Contains(InternationalTrunks, trunks[c.Trunk]) {
			sw = traffic.Gateway()
		}
		c.Switch, c.Seq = uint8(sw), uint32(perSwitch[sw])
		perSwitch[sw]++
	}
	t.enc = traffic.NewEncoder(86, seed, perSwitch)
	fleet := traffic.Fleet()
	for i, n := range perSwitch {
		sw := fleet[i]
		if sw.Times.Local() {
			t.LocalTimes += int(n)
		}
		if sw.Skew != 0 {
			t.Skewed += int(n)
		}
	}
	for _, c := range t.Calls {
		if c.Withheld {
			t.Withheld++
			if fleet[c.Switch].Withheld != traffic.WithheldPresentation {
				t.WithheldNoNumber++
			}
		}
	}
	t.CallIDRepeats = int(t.enc.CallIDRepeats())
}

// record is call c as it happened, for its switch to write.
func (t *Traffic) record(c *Call) traffic.Record {
	return traffic.Record{
		Seq: uint64(c.Seq), Start: c.Start, Ring: int64(c.Ring), Talk: int64(c.Talk),
		Disp: traffic.Disposition(c.Disp), Cause: c.Cause,
		Caller: t.nums[c.Caller], Callee: t.nums[c.Callee], Withheld: c.Withheld, Trunk: trunks[c.Trunk],
	}
}

// Seen returns the calls as the pipeline reads them from what their
// switches wrote (traffic.Encoder.Observe): start times on the switch's
// clock (a skewed one moves all its callers' times) and at its precision,
// ring and talk times as written or derived from its times, dispositions
// derived where it writes none; Hidden set where the caller ID was
// withheld without a number. The truth is computed on these.
func (t *Traffic) Seen() []Call {
	out := make([]Call, len(t.Calls))
	for i, c := range t.Calls {
		rec := t.record(&c)
		o := t.enc.Observe(int(c.Switch), &rec)
		c.Start, c.Ring, c.Talk, c.Disp, c.Cause = o.Start, int32(o.Ring), int32(o.Talk), uint8(o.Disp), o.Cause
		c.Hidden = o.Caller == 0
		out[i] = c
	}
	return out
}

// subscribers allocates the ordinary subscribers and their reciprocal
// contact graph: each picks a few others and the edge goes both ways, so
// degrees land between 3 and about 15.
func (g *gen) subscribers() {
	n := g.cfg.Subscribers
	g.subs = make([]uint32, n)
	for i := range g.subs {
		var idx uint32
		if g.r.IntN(100) < 80 {
			idx = g.nums.mobile()
		} else {
			idx = g.nums.landline()
		}
		g.subs[i] = idx
		g.subPos[idx] = int32(i)
		g.class[idx] = Ordinary
	}
	g.contact = make([][]uint32, n)
	if n < 2 {
		return
	}
	for i := range n {
		want := 2 + g.r.IntN(6)
		for len(g.contact[i]) < want {
			j := g.r.IntN(n)
			if j == i || slices.Contains(g.contact[i], g.subs[j]) || len(g.contact[j]) >= 15 {
				if g.r.IntN(4) == 0 { // give up on crowded picks now and then
					break
				}
				continue
			}
			g.contact[i] = append(g.contact[i], g.subs[j])
			g.contact[j] = append(g.contact[j], g.subs[i])
		}
	}
}

// rhythm is the share of the peak calling rate by local hour (CST).
var rhythm = [24]float64{0.10, 0.05, 0.03, 0.02, 0.02, 0.05, 0.15, 0.40, 0.75, 0.95, 1.00, 0.95,
	0.70, 0.75, 0.90, 0.95, 1.00, 0.90, 0.80, 0.85, 0.80, 0.65, 0.45, 0.25}

func rhythmAt(ms int64) float64 {
	h := ((ms/msPerHour)+8)%24 + 0
	return rhythm[h]
}

// ordinaryCalls draws each subscriber's calls hour by hour at a personal
// peak rate scaled by the daily rhythm.
func (g *gen) ordinaryCalls() {
	for i, me := range g.subs {
		peak := math.Min(3, 0.8*math.Exp(0.6*g.r.NormFloat64()))
		for h := g.start; h < g.end; h += msPerHour {
			n := poisson(g.r, peak*rhythmAt(h))
			for range n {
				t := h + g.r.Int64N(msPerHour)
				var callee uint32
				switch p := g.r.IntN(100); {
				case p < 85 && len(g.contact[i]) > 0:
					callee = g.contact[i][g.r.IntN(len(g.contact[i]))]
				case p < 95:
					callee = g.subs[g.r.IntN(len(g.subs))]
				default:
					callee = g.nums.mobile()
				}
				if callee == me {
					continue
				}
				g.personal(me, callee, t, 0.75, true)
			}
		}
	}
}

// personal adds a person-to-person call: log-normal talk, realistic
// failure modes, and (when back is set and the callee is a subscriber)
// sometimes a call back from the callee minutes to hours later.
func (g *gen) personal(caller, callee uint32, t int64, answer float64, back bool) {
	c := Call{Start: t, Caller: caller, Callee: callee, Trunk: uint8(g.r.IntN(4))}
	p := g.r.Float64()
	switch {
	case p < answer:
		c.Disp, c.Cause = DispAnswered, 16
		c.Ring = int32(3000 + g.r.IntN(15000))
		c.Talk = int32(math.Min(3600e3, math.Max(1000, 60e3*math.Exp(1.0*g.r.NormFloat64()))))
	case p < answer+(1-answer)*0.5:
		c.Disp, c.Cause = DispNoAnswer, 19
		c.Ring = int32(15000 + g.r.IntN(25000))
	case p < answer+(1-answer)*0.7:
		c.Disp, c.Cause = DispBusy, 17
		c.Ring = int32(g.r.IntN(2000))
	default:
		c.Disp, c.Cause = DispCancelled, 16
		c.Ring = int32(4000 + g.r.IntN(11000))
	}
	g.calls = append(g.calls, c)
	if !back {
		return
	}
	if _, ok := g.subPos[callee]; !ok {
		return
	}
	pb := 0.05
	if c.Disp != DispAnswered {
		pb = 0.5
	}
	if g.r.Float64() < pb {
		g.personal(callee, caller, c.End()+callbackDelay(g.r), 0.85, false)
	}
}

// callbackDelay is minutes to hours, mostly within the hour.
func callbackDelay(r *rand.Rand) int64 {
	d := int64(r.ExpFloat64() * 20 * msPerMin)
	return max(30*msPerSec, min(d, callbackHorizon))
}

// callback makes a subscriber call a heavy caller back with probability p.
func (g *gen) callback(c *Call, p float64, maxDelay int64) {
	if g.r.Float64() >= p {
		return
	}
	if _, ok := g.subPos[c.Callee]; !ok {
		return
	}
	d := min(callbackDelay(g.r), maxDelay)
	g.personal(c.Callee, c.Caller, c.End()+d, 0.9, false)
}

// serialise moves each call of a mobile handset (SIM boxes aside) to
// start after its previous call ended: a phone holds one call at a time,
// so only a SIM box is ever in three at once.
func (g *gen) serialise() {
	by := map[uint32][]int{}
	for i := range g.calls {
		c := g.calls[i].Caller
		if g.class[c] != Simbox && isMobile(g.nums.list[c]) {
			by[c] = append(by[c], i)
		}
	}
	keys := make([]uint32, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		idx := by[k]
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(g.calls[a].Start, g.calls[b].Start) })
		prevEnd := int64(math.MinInt64)
		for _, i := range idx {
			c := &g.calls[i]
			if c.Start <= prevEnd {
				c.Start = prevEnd + 1000 + g.r.Int64N(9000)
			}
			prevEnd = c.End()
		}
	}
}

// capOrdinary drops an ordinary subscriber's calls that would make more
// than eight in a sliding hour (a person's pace), callbacks included.
func (g *gen) capOrdinary() {
	const maxPerHour = 8
	by := map[uint32][]int{}
	for i := range g.calls {
		if g.class[g.calls[i].Caller] == Ordinary {
			by[g.calls[i].Caller] = append(by[g.calls[i].Caller], i)
		}
	}
	drop := map[int]bool{}
	keys := make([]uint32, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		idx := by[k]
		if len(idx) <= maxPerHour {
			continue
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(g.calls[a].Start, g.calls[b].Start) })
		var kept []int64
		for _, i := range idx {
			s := g.calls[i].Start
			n := 0
			for _, k := range kept {
				if s-k < msPerHour {
					n++
				}
			}
			if n >= maxPerHour {
				drop[i] = true
				continue
			}
			kept = append(kept, s)
		}
	}
	if len(drop) == 0 {
		return
	}
	out := g.calls[:0]
	for i, c := range g.calls {
		if !drop[i] {
			out = append(out, c)
		}
	}
	g.calls = out
}

func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// DayZone is where the model's days run midnight to midnight: its
// subscribers' (and detectors.daily.zone in the benchmark).
const DayZone = "Asia/Shanghai"

// shift returns the first stretch of length d inside the span that lies
// within one local day (DayZone), or the span's end when there is none.
func (g *gen) shift(d int64) (from, to int64) {
	loc, _ := time.LoadLocation(DayZone)
	t := time.UnixMilli(g.start).In(loc)
	midnight := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc).UnixMilli()
	from = g.start
	if from+d > midnight {
		from = midnight
	}
	if from+d > g.end {
		from = g.start // the span is shorter: work what there is
		return from, g.end
	}
	return from, from + d
}

// pick returns a random subscriber.
func (g *gen) pick() uint32 { return g.subs[g.r.IntN(len(g.subs))] }

// paced returns start times at about rate per hour over the span, each gap
// the mean times U(0.6, 1.4): a dialer's pace, never a burst.
func (g *gen) paced(rate float64) []int64 {
	mean := float64(msPerHour) / rate
	var out []int64
	for t := g.start + int64(g.r.Float64()*mean); t < g.end; t += int64(mean * uniform(g.r, 0.6, 1.4)) {
		out = append(out, t)
	}
	return out
}

// sequential calls fn for call after call of one handset: each starts a
// pause after the previous one ended, the pause set so the rate is about
// rate per hour given an average call of avgMs.
func (g *gen) sequential(rate float64, avgMs float64, fn func(t int64) *Call) {
	pause := math.Max(2000, float64(msPerHour)/rate-avgMs)
	t := g.start + int64(g.r.Float64()*pause)
	for t < g.end {
		c := fn(t)
		t = c.End() + int64(pause*uniform(g.r, 0.5, 1.5))
	}
}

func (g *gen) add(c Call) *Call {
	g.calls = append(g.calls, c)
	return &g.calls[len(g.calls)-1]
}

func (g *gen) dom() uint8 { return uint8(g.r.IntN(4)) }

// busyHotline makes a bank's or operator's 95xxx hotline that ordinary
// subscribers call 1,500–2,500 times an hour over the span, and returns
// it: the number redialers keep calling.
func (g *gen) busyHotline() uint32 {
	r := g.r
	me := g.nums.fixed("955", 2)
	rate := uniform(r, 1500, 2500)
	for t := g.start + int64(r.ExpFloat64()*msPerHour/rate); t < g.end; t += int64(r.ExpFloat64() * msPerHour / rate) {
		c := Call{Start: t, Caller: g.pick(), Callee: me, Trunk: g.dom(), Ring: int32(2000 + r.IntN(8000))}
		if r.Float64() < 0.85 {
			c.Disp, c.Cause, c.Talk = DispAnswered, 16, int32(math.Min(900e3, 120e3*math.Exp(0.7*r.NormFloat64())))
		} else {
			c.Disp, c.Cause, c.Ring = DispBusy, 17, int32(r.IntN(2000))
		}
		g.add(c)
	}
	return me
}

// sortedPerm returns k distinct values of [0, n) in ascending order.
func sortedPerm(r *rand.Rand, n, k int) []int {
	p := r.Perm(n)[:k]
	slices.Sort(p)
	return p
}
