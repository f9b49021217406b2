// Package engine runs the detectors over sliding event-time windows per
// calling number. Callers are spread over shards by a hash of the number;
// each shard is owned by one goroutine at a time, so the per-CDR path takes
// no locks. State is small for the many callers who make a call or two an
// hour and bounded for the few who make thousands.
package engine

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/internal/mix"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Record is a decoded CDR with its place in Kafka.
type Record struct {
	CDR       schemas.CDR
	Partition int
	Offset    int64
	// Late says the record started too long before its partition's
	// progress to be counted (eventtime decides); it is still stored.
	Late bool
	// StoredCallee, when set, is what the cdrs table keeps instead of
	// CDR.Callee (its pseudonym, made by the pipeline where it decodes,
	// in parallel). The engine reads CDR.Callee only.
	StoredCallee string
	// Stored says the record was claimed early (Claim): its row is
	// stored already, and counted says whether the engine counts it.
	Stored  bool
	counted bool
	// Side is the role the record plays: both of the call's (one stage
	// reading the input), or one of them (a copy routed by caller or by
	// callee through a repartitioned topic). Set it before Prepare. A
	// callee-side copy is never stored: its caller-side twin is.
	Side Side
	// Input is where the call was read from the carriers' topic, for a
	// record that came through the internal topic (Partition and Offset
	// then name the internal message that carried it).
	Input struct {
		Partition int
		Offset    int64
	}

	callerKey uint64
	calleeKey uint64
	keyHash   uint64
	flags     uint8  // per-call traits (flagOneRing, ...), set by Prepare
	src       uint16 // switchTag of the switch that wrote it, set by Prepare
	caller    int32  // index+1 of the caller's state in its shard, 0 if not known yet
}

// Side is which of a call's roles a record plays in the engine.
type Side uint8

const (
	// Both counts the call for its caller's windows and on the callee
	// side (callbacks, floods of one callee).
	Both Side = iota
	// CallerSide counts it for its caller only: the copy routed by caller.
	CallerSide
	// CalleeSide counts it on the callee side only: the copy routed by
	// callee, which reaches the engine holding the callee's own calls.
	CalleeSide
	// GroupSide counts it for its trunk's (or switch's) campaign traits
	// only: the copy routed by group (GroupOf).
	GroupSide
)

// Stores reports whether a record of side s is stored in cdrs: the other
// sides' copies are counted and stored with their caller-side twin.
func (s Side) Stores() bool { return s == Both || s == CallerSide }

// counts reports whether a record of side s counts for its caller.
func (s Side) counts() bool { return s == Both || s == CallerSide }

// received reports whether a record of side s counts for its callee.
func (s Side) received() bool { return s == Both || s == CalleeSide }

// calleeSalt sets a callee-side copy's de-duplication key apart from its
// caller-side twin, which the same engine may hold when caller and callee
// route to the same partition.
const calleeSalt = 0x9e3779b97f4a7c15

// groupSalt does the same for a group-side copy.
const groupSalt = 0xc2b2ae3d27d4eb4f

// Output is what the engine produced from one batch.
type Output struct {
	// CDRs are the records to store: all but duplicates.
	CDRs  []*Record
	Flags []schemas.Flag
	Stats []schemas.CallerStats
	// Groups are the flags of trunks and number blocks (campaigns).
	Groups []schemas.GroupFlag
	// Days are the windows added to callers' days (day_windows).
	Days []schemas.DayWindow

	// Counters for this batch.
	Duplicates int // re-sent CDRs dropped
	Late       int // stored but too late to count
	TooOld     int // on time, but older than the caller's ring holds
	Promoted   int // callers given full window state
	Overflowed int // callees counted by sketch, past engine.max_callees
}

func (o *Output) reset() {
	*o = Output{CDRs: o.CDRs[:0], Flags: o.Flags[:0], Stats: o.Stats[:0], Days: o.Days[:0]}
}

// params is the resolved, read-only configuration shared by the shards.
type params struct {
	slide       int64 // seconds
	size        time.Duration
	w           int32 // buckets per window
	ring        int32 // buckets of state kept per heavy caller
	lateBuckets int32
	smallCap    int
	maxCallees  int
	statsMin    int
	shortTalk   float64

	detectors  []detectors.Detector
	allFlagged uint16
	seq        detectors.Sequential
	seqMin     int
	seqStep    uint64
	bombing    *detectors.CallBombing // nil when switched off
	bombSpan   int64                  // seconds
	// noCallback is the index of no_callback in detectors (-1: off); it is
	// judged graceBuckets after its window closes, not at the close.
	noCallback int
	// spoofed is the index of spoofed_origin in detectors (-1: off);
	// robotic that of robotic_timing.
	spoofed      int
	robotic      int
	graceBuckets int32

	minutesPerBucket int
	oneRingMax       float64 // seconds
	plan             plan
	day              *dayParams // nil when the day window is off
}

func (p *params) bucket(sec int64) int32 {
	b := sec / p.slide
	if sec < 0 && sec%p.slide != 0 {
		b--
	}
	return int32(b)
}

func (p *params) bombingSpan() time.Duration { return time.Duration(p.bombSpan) * time.Second }

func (p *params) time(b int32) time.Time {
	return time.Unix(int64(b)*p.slide, 0).UTC()
}

// Config is what the engine needs from the configuration.
type Config struct {
	Window    config.Window
	Detectors config.Detectors
	Stats     config.Stats
	Engine    config.Engine
	Numbering config.Numbering
	// Verdict holds the rules that decide whether a trunk's traits are
	// worth a flagged_trunks row.
	Verdict schemas.Verdict
}

// Engine holds all shards.
type Engine struct {
	p      *params
	groups *groups // nil when campaign detection is off
	shards []*shard
	outs   []Output
	parts  [][]*Record
}

// New builds an engine. It reads no clock: what it writes is a function
// of the records and the watermarks it is given.
func New(cfg Config) (*Engine, error) {
	p, err := newParams(cfg)
	if err != nil {
		return nil, err
	}
	n := cfg.Engine.Shards
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	e := &Engine{p: p, outs: make([]Output, n), parts: make([][]*Record, n)}
	for range n {
		e.shards = append(e.shards, newShard(p, n))
	}
	if g := newGroupParams(cfg); g != nil {
		e.groups = newGroups(p, g)
		for _, s := range e.shards {
			s.groups = e.groups
		}
	}
	return e, nil
}

func newParams(cfg Config) (*params, error) {
	slide := int64(cfg.Window.Slide / time.Second)
	if slide <= 0 || cfg.Window.Size%cfg.Window.Slide != 0 {
		return nil, fmt.Errorf("engine: window size %s is not a multiple of slide %s", cfg.Window.Size, cfg.Window.Slide)
	}
	w := int32(cfg.Window.Size / cfg.Window.Slide)
	late := int32((cfg.Window.AllowedLateness + cfg.Window.Slide - 1) / cfg.Window.Slide)
	// Windows stay in the ring through the callback grace, so no_callback
	// can be judged after callees had time to call back.
	grace := int32((cfg.Detectors.NoCallback.Grace + cfg.Window.Slide - 1) / cfg.Window.Slide)
	if slices.Contains(cfg.Detectors.Disabled, "no_callback") {
		grace = 0
	}
	ring := w + late + 4 + grace
	if ring > maxRing {
		return nil, fmt.Errorf("engine: window of %d slides plus %d of lateness and %d of callback grace exceeds %d", w, late, grace, maxRing-4)
	}
	d := cfg.Detectors
	seq := detectors.Sequential{MinCallees: d.Sequential.MinCallees, MinRun: d.Sequential.MinRun, MaxStep: d.Sequential.MaxStep}
	all := []detectors.Detector{
		detectors.FanOut{MinCallees: d.FanOut.MinCallees},
		detectors.ShortCalls{MinAnswered: d.ShortCalls.MinAnswered, MaxTalk: d.ShortCalls.MaxTalk, MinShare: d.ShortCalls.MinShare},
		seq,
		detectors.OneRing{MinAttempts: d.OneRing.MinAttempts, MinShare: d.OneRing.MinShare},
		detectors.LowAnswerRate{MinAttempts: d.LowAnswerRate.MinAttempts, MaxRate: d.LowAnswerRate.MaxRate},
		detectors.Burst{MinPerMinute: d.Burst.MinPerMinute},
		detectors.ConcurrentCalls{MinConcurrent: d.Concurrent.MinConcurrent},
		detectors.InvalidCallees{MinAttempts: d.InvalidCallees.MinAttempts, MinShare: d.InvalidCallees.MinShare},
		detectors.RoboticTiming{MinCalls: d.RoboticTiming.MinCalls, MaxCV: d.RoboticTiming.MaxCV},
		detectors.NoCallback{MinCallees: d.NoCallback.MinCallees, MaxShare: d.NoCallback.MaxShare},
		detectors.SpoofedOrigin{MinCalls: d.SpoofedOrigin.MinCalls, MinCalleesAbroad: d.SpoofedOrigin.MinCalleesAbroad},
	}
	var dets []detectors.Detector
	for _, det := range all {
		if !slices.Contains(d.Disabled, det.Name()) {
			dets = append(dets, det)
		}
	}
	var bombing *detectors.CallBombing
	if !slices.Contains(d.Disabled, "call_bombing") {
		bombing = &detectors.CallBombing{MinCalls: d.CallBombing.MinCalls, MinPerCaller: d.CallBombing.MinPerCaller,
			MinCallsPerCaller: d.CallBombing.MinCallsPerCaller}
	}
	if len(dets) > maxDetectors {
		return nil, fmt.Errorf("BUG: %d detectors, at most %d fit a window's flag bits", len(dets), maxDetectors)
	}
	// A caller stays small while it cannot reach any volume threshold or
	// the stats volume; only then is skipping window bookkeeping exact.
	// Traits that a few calls can show (a spoofed caller ID, calls that
	// overlap) promote the caller when they appear (shard.count).
	small := min(maxSmall, d.FanOut.MinCallees-1, d.ShortCalls.MinAnswered-1, d.Sequential.MinCallees-1, cfg.Stats.MinCalls-1,
		d.OneRing.MinAttempts-1, d.LowAnswerRate.MinAttempts-1, d.Burst.MinPerMinute-1,
		d.InvalidCallees.MinAttempts-1, d.RoboticTiming.MinCalls-1, d.NoCallback.MinCallees-1)
	return &params{
		slide:        slide,
		size:         cfg.Window.Size,
		w:            w,
		ring:         ring,
		lateBuckets:  late,
		smallCap:     max(small, 0),
		maxCallees:   cfg.Engine.MaxCallees,
		statsMin:     cfg.Stats.MinCalls,
		shortTalk:    d.ShortCalls.MaxTalk.Seconds(),
		detectors:    dets,
		allFlagged:   uint16(1)<<len(dets) - 1,
		seq:          seq,
		seqMin:       d.Sequential.MinCallees,
		seqStep:      d.Sequential.MaxStep,
		bombing:      bombing,
		bombSpan:     int64(d.CallBombing.Span / time.Second),
		noCallback:   slices.IndexFunc(dets, func(d detectors.Detector) bool { return d.Name() == "no_callback" }),
		spoofed:      slices.IndexFunc(dets, func(d detectors.Detector) bool { return d.Name() == "spoofed_origin" }),
		robotic:      slices.IndexFunc(dets, func(d detectors.Detector) bool { return d.Name() == "robotic_timing" }),
		graceBuckets: grace,

		minutesPerBucket: int(max(1, slide/60)),
		oneRingMax:       d.OneRing.MaxRing.Seconds(),
		plan:             newPlan(cfg.Numbering),
		day:              newDayParams(cfg),
	}, nil
}

// Needs returns the earliest start time (Unix seconds) a record may have
// and still be needed once the engine has run at watermark wm: records
// of windows not yet closed, of windows closed but whose no_callback is
// not yet judged, and those whose re-sent copies are still recognised.
// A restart that re-reads every record from there rebuilds the same
// state and writes the same rows; offsets are committed no further.
func (e *Engine) Needs(wm time.Time) int64 {
	p := e.p
	closedThrough := p.bucket(wm.Unix()) - p.w
	oldest := closedThrough + 1
	if p.noCallback >= 0 {
		oldest -= p.graceBuckets
	}
	oldest = min(oldest, closedThrough-p.lateBuckets)
	return int64(oldest) * p.slide
}

// Claim de-duplicates r now, for a record the pipeline holds back from
// the engine for a while (Horizon) but whose row it stores at once: the
// rows of a partition must be stored in offset order. It reports whether
// to store the row (its first copy); when the engine gets the record
// later, it counts it as the claim decided.
func (e *Engine) Claim(r *Record, wm time.Time, wmKnown bool) (store bool) {
	s := e.shards[mix.Mix64(r.callerKey)%uint64(len(e.shards))]
	sec := r.CDR.StartTime.Unix()
	late := r.Late || wmKnown && sec < wm.Unix()
	store, r.counted = s.dedup.claim(s.p.bucket(sec), r.keyHash, !late)
	r.Stored = true
	return store && r.Side.Stores()
}

// Horizon returns the latest start time (Unix seconds, exclusive) of a
// record the engine can take at watermark wm: each caller keeps a ring of
// buckets, from the oldest window it must still write to the newest it
// saw, and a record further ahead would overwrite windows still open.
// Such records are held back until the watermark catches up.
func (e *Engine) Horizon(wm time.Time) int64 {
	p := e.p
	return int64(p.bucket(wm.Unix())+p.lateBuckets+4) * p.slide
}

// Prepare fills a record's derived keys and classifies the call's own
// traits (one-ring, invalid callee, spoofed caller ID, mobile caller). It
// only reads the engine's settings, so decoders call it in parallel.
func (e *Engine) Prepare(r *Record) {
	c := &r.CDR
	r.callerKey = decode.NumberKey(c.Caller)
	r.calleeKey = decode.NumberKey(c.Callee)
	r.keyHash = fnv64a(c.Key)
	switch r.Side {
	case CalleeSide:
		r.keyHash ^= calleeSalt
	case GroupSide:
		r.keyHash ^= groupSalt
	}
	r.flags = e.p.classify(c)
	r.src = switchTag(c.SwitchID)
}

// fnv64a is FNV-1a over s, without the copy hash.Hash's Write needs.
func fnv64a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// classify returns the per-call trait flags of c.
func (p *params) classify(c *schemas.CDR) uint8 {
	var f uint8
	if !c.Answered() && c.RingDuration > 0 && c.RingDuration <= p.oneRingMax &&
		(c.Disposition == schemas.Cancelled || c.Disposition == schemas.NoAnswer) {
		f |= flagOneRing
	}
	if c.Cause == 1 || c.Cause == 28 || p.plan.outside(c.Callee) {
		f |= flagInvalid
	}
	if p.plan.spoofed(c.Caller, c.TrunkID) {
		f |= flagSpoofed
		if p.plan.outside(c.Caller) {
			f |= flagBadID
		}
	}
	if p.plan.mobile(c.Caller) {
		f |= flagMobile
	}
	return f
}

// Process runs one batch through the shards in parallel after moving the
// watermark to wm (ok false while it is unknown). The returned outputs
// belong to the engine until the next call.
func (e *Engine) Process(batch []*Record, wm time.Time, wmKnown bool) []Output {
	n := len(e.shards)
	for i := range e.parts {
		e.parts[i] = e.parts[i][:0]
	}
	for _, r := range batch {
		i := mix.Mix64(r.callerKey) % uint64(n)
		e.parts[i] = append(e.parts[i], r)
	}
	e.each(func(i int, s *shard) {
		if wmKnown {
			// The calls received in buckets the watermark sealed first,
			// so that windows closing now have their callbacks.
			s.seal(wm.Unix())
			s.advance(wm.Unix())
		}
		s.processAll(e.parts[i])
	})
	// Second phase: each shard takes the calls its numbers received, to
	// handle once their buckets are sealed.
	var wg sync.WaitGroup
	for j, s := range e.shards {
		wg.Go(func() {
			for _, from := range e.shards {
				s.hold(from.outbox[j])
			}
			e.outs[j] = s.out
		})
	}
	wg.Wait()
	for _, s := range e.shards {
		for j := range s.outbox {
			s.outbox[j] = s.outbox[j][:0]
		}
	}
	e.group(wm, wmKnown)
	return e.outs
}

// group moves the groups to watermark wm, then gives them the calls the
// shards counted; the flags of windows that closed go out with the first
// shard's output.
func (e *Engine) group(wm time.Time, wmKnown bool) {
	g := e.groups
	if g == nil {
		return
	}
	if wmKnown {
		g.advance(wm.Unix())
		e.outs[0].Groups = g.out
	}
	for _, s := range e.shards {
		for _, r := range s.grouped {
			g.add(r)
		}
		s.grouped = s.grouped[:0]
	}
}

// Flush writes provisional stats for every open window, for the end of a
// bounded run.
func (e *Engine) Flush() []Output {
	e.each(func(_ int, s *shard) {
		s.seal(sealAll)
		s.flush()
	})
	return e.outs
}

// each runs f on every shard in parallel, each shard's output reset first.
func (e *Engine) each(f func(i int, s *shard)) {
	var wg sync.WaitGroup
	for i, s := range e.shards {
		wg.Go(func() {
			s.out.reset()
			f(i, s)
			e.outs[i] = s.out
		})
	}
	wg.Wait()
}

// Size reports the callers held and how many have full window state.
func (e *Engine) Size() (callers, heavy int) {
	for _, s := range e.shards {
		callers += s.index.len()
		heavy += len(s.heavies) - len(s.hfree)
	}
	return callers, heavy
}
