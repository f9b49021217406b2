// Package engine runs the detectors over sliding event-time windows per
// calling number. Callers are spread over shards by a hash of the number;
// each shard is owned by one goroutine at a time, so the per-CDR path takes
// no locks. State is small for the many callers who make a call or two an
// hour and bounded for the few who make thousands.
package engine

import (
	"fmt"
	"hash/fnv"
	"runtime"
	"sync"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Record is a decoded CDR with its place in Kafka.
type Record struct {
	CDR       schemas.CDR
	Partition int
	Offset    int64

	callerKey uint64
	calleeKey uint64
	keyHash   uint64
}

// Output is what the engine produced from one batch.
type Output struct {
	// CDRs are the records to store: all but duplicates.
	CDRs  []*Record
	Flags []schemas.Flag
	Stats []schemas.CallerStats

	// Counters for this batch.
	Duplicates int // re-sent CDRs dropped
	Late       int // stored but too late to count
	TooOld     int // on time, but older than the caller's ring holds
	Promoted   int // callers given full window state
	Overflowed int // callees counted by sketch, past engine.max_callees
}

func (o *Output) reset() {
	*o = Output{CDRs: o.CDRs[:0], Flags: o.Flags[:0], Stats: o.Stats[:0]}
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
	allFlagged uint8
	seq        detectors.Sequential
	seqMin     int
	seqStep    uint64
}

func (p *params) bucket(sec int64) int32 {
	b := sec / p.slide
	if sec < 0 && sec%p.slide != 0 {
		b--
	}
	return int32(b)
}

func (p *params) time(b int32) time.Time {
	return time.Unix(int64(b)*p.slide, 0).UTC()
}

// Config is what the engine needs from the configuration.
type Config struct {
	Window    config.Window
	Detectors config.Detectors
	Stats     config.Stats
	Engine    config.Engine
}

// Engine holds all shards.
type Engine struct {
	p      *params
	shards []*shard
	outs   []Output
	parts  [][]*Record
	now    func() time.Time
}

// New builds an engine. now is the clock used for flagged_at and
// updated_at; pass time.Now outside tests.
func New(cfg Config, now func() time.Time) (*Engine, error) {
	p, err := newParams(cfg)
	if err != nil {
		return nil, err
	}
	n := cfg.Engine.Shards
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	e := &Engine{p: p, now: now, outs: make([]Output, n), parts: make([][]*Record, n)}
	for range n {
		e.shards = append(e.shards, newShard(p))
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
	ring := w + late + 4
	if ring > maxRing {
		return nil, fmt.Errorf("engine: window of %d slides plus %d of lateness exceeds %d", w, late, maxRing-4)
	}
	d := cfg.Detectors
	seq := detectors.Sequential{MinCallees: d.Sequential.MinCallees, MinRun: d.Sequential.MinRun, MaxStep: d.Sequential.MaxStep}
	dets := []detectors.Detector{
		detectors.FanOut{MinCallees: d.FanOut.MinCallees},
		detectors.ShortCalls{MinAnswered: d.ShortCalls.MinAnswered, MaxTalk: d.ShortCalls.MaxTalk, MinShare: d.ShortCalls.MinShare},
		seq,
	}
	if len(dets) > maxDetectors {
		return nil, fmt.Errorf("BUG: %d detectors, at most %d fit a window's flag bits", len(dets), maxDetectors)
	}
	// A caller stays small while it cannot reach any threshold or the
	// stats volume; only then is skipping window bookkeeping exact.
	small := min(smallCap, d.FanOut.MinCallees-1, d.ShortCalls.MinAnswered-1, d.Sequential.MinCallees-1, cfg.Stats.MinCalls-1)
	return &params{
		slide:       slide,
		size:        cfg.Window.Size,
		w:           w,
		ring:        ring,
		lateBuckets: late,
		smallCap:    max(small, 0),
		maxCallees:  cfg.Engine.MaxCallees,
		statsMin:    cfg.Stats.MinCalls,
		shortTalk:   d.ShortCalls.MaxTalk.Seconds(),
		detectors:   dets,
		allFlagged:  uint8(1)<<len(dets) - 1,
		seq:         seq,
		seqMin:      d.Sequential.MinCallees,
		seqStep:     d.Sequential.MaxStep,
	}, nil
}

// Prepare fills a record's derived keys; it is safe to call concurrently
// on different records, so decoders can do it in parallel.
func Prepare(r *Record) {
	r.callerKey = decode.NumberKey(r.CDR.Caller)
	r.calleeKey = decode.NumberKey(r.CDR.Callee)
	h := fnv.New64a()
	h.Write([]byte(r.CDR.Key))
	r.keyHash = h.Sum64()
}

// Process runs one batch through the shards in parallel after moving the
// watermark to wm (ok false while it is unknown). The returned outputs
// belong to the engine until the next call.
func (e *Engine) Process(batch []*Record, wm time.Time, wmKnown bool) []Output {
	now := e.now()
	n := len(e.shards)
	for i := range e.parts {
		e.parts[i] = e.parts[i][:0]
	}
	for _, r := range batch {
		i := mix64(r.callerKey) % uint64(n)
		e.parts[i] = append(e.parts[i], r)
	}
	e.each(func(i int, s *shard) {
		if wmKnown {
			s.advance(wm.Unix(), now)
		}
		for _, r := range e.parts[i] {
			s.process(r, now)
		}
	})
	return e.outs
}

// Flush writes provisional stats for every open window, for the end of a
// bounded run.
func (e *Engine) Flush() []Output {
	now := e.now()
	e.each(func(_ int, s *shard) { s.flush(now) })
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
		callers += len(s.index)
		heavy += len(s.heavies) - len(s.hfree)
	}
	return callers, heavy
}
