package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/mix"
	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// batchSize is how many records go to the engine per Process call, about
// what the pipeline hands it per fetch.
const batchSize = 8192

// t0 starts the hour of traffic; it is aligned to the window slide, so
// the hour is exactly one window.
var t0 = time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC)

// closeAfter is how far past the hour the watermark is moved to close
// every window, the callback grace and the lateness included.
const closeAfter = 3 * time.Hour

// Text of one record: a 16-digit hex key, then caller and callee as
// "+" and 13 digits.
const (
	keyLen    = 16
	numberLen = 14
	textLen   = keyLen + 2*numberLen
)

// measure feeds one scenario to a fresh engine and samples memory before,
// after feeding and after every window closed.
func measure(sc scenario, shards int, progress io.Writer) (result, error) {
	cfg := config.Default()
	cfg.Engine.Shards = shards
	cfg.Numbering.InternationalTrunks = []string{internationalTrunk}
	if err := cfg.Validate(); err != nil {
		return result{}, fmt.Errorf("default configuration with %d shards: %w", shards, err)
	}
	// The harness's own buffers exist before the baseline, so they are
	// not counted as engine memory.
	f := newFeeder(sc, progress)
	res := result{Scenario: sc.name, Callers: sc.callers, Shards: shards, GOGC: gogc()}
	var err error
	if res.Baseline, err = sample(true); err != nil {
		return result{}, err
	}
	// The engine's clock only stamps flags and stats; fixed, so runs are
	// comparable.
	now := t0.Add(4 * time.Hour)
	eng, err := engine.New(engine.Config{Window: cfg.Window, Detectors: cfg.Detectors, Stats: cfg.Stats,
		Engine: cfg.Engine, Numbering: cfg.Numbering, Verdict: cfg.Verdict()})
	if err != nil {
		return result{}, fmt.Errorf("build engine: %w", err)
	}
	f.start(eng, eventtime.New(eventtime.SettingsFrom(cfg.Window)), now)

	start := time.Now()
	for c := range sc.calls(t0) {
		f.add(c)
	}
	f.flush()
	res.FeedSeconds = time.Since(start).Seconds()
	res.EngineSeconds = f.engineTime.Seconds()
	res.CDRs = f.seq
	if err := f.tally.check(res.CDRs); err != nil {
		return result{}, err
	}
	if res.Fed, err = sample(false); err != nil {
		return result{}, err
	}
	res.FedCallers, res.FedHeavy = eng.Size()
	res.Feed = f.tally
	fmt.Fprintf(progress, "%s: fed %d CDRs in %.1fs; engine holds %d callers (%d heavy); heap %s, RSS %s\n",
		sc.name, res.CDRs, res.FeedSeconds, res.FedCallers, res.FedHeavy, mib(res.Fed.HeapAlloc), mib(res.Fed.RSS))

	start = time.Now()
	f.tally = tally{}
	f.closeAll(t0.Add(time.Hour+closeAfter), cfg.Window.Slide)
	res.CloseSeconds = time.Since(start).Seconds()
	res.Close = f.tally
	if res.Closed, err = sample(true); err != nil {
		return result{}, err
	}
	res.ClosedCallers, res.ClosedHeavy = eng.Size()
	// The engine must outlive the last sample, or the collector would
	// free it and make memory seem to fall back.
	runtime.KeepAlive(eng)
	fmt.Fprintf(progress, "%s: windows closed in %.1fs; engine holds %d callers (%d heavy); heap %s, RSS %s\n",
		sc.name, res.CloseSeconds, res.ClosedCallers, res.ClosedHeavy, mib(res.Closed.HeapAlloc), mib(res.Closed.RSS))
	return res, nil
}

// feeder turns generated calls into batches of records and runs them
// through the engine with a watermark that follows the stream, as
// pipeline.Runner does.
type feeder struct {
	sc       scenario
	progress io.Writer
	eng      *engine.Engine
	wm       *eventtime.Watermark
	now      time.Time

	calls []call
	// recs and ptrs are reused for every batch: the engine only reads a
	// record during Process. It does keep pointers to the last batch's
	// records (in its per-shard lists and in Output.CDRs) until the next
	// call, but never reads them through those.
	recs []engine.Record
	ptrs []*engine.Record
	text []byte

	wmAt       time.Time
	wmKnown    bool
	seq        int
	engineTime time.Duration
	tally      tally
	lastReport time.Time
}

func newFeeder(sc scenario, progress io.Writer) *feeder {
	f := &feeder{
		sc:       sc,
		progress: progress,
		calls:    make([]call, 0, batchSize),
		recs:     make([]engine.Record, batchSize),
		ptrs:     make([]*engine.Record, batchSize),
		text:     make([]byte, 0, batchSize*textLen),
	}
	for i := range f.recs {
		f.ptrs[i] = &f.recs[i]
	}
	return f
}

func (f *feeder) start(eng *engine.Engine, wm *eventtime.Watermark, now time.Time) {
	f.eng, f.wm, f.now = eng, wm, now
	f.lastReport = time.Now()
}

// add queues a call and runs a full batch.
func (f *feeder) add(c call) {
	f.calls = append(f.calls, c)
	if len(f.calls) == batchSize {
		f.flush()
	}
}

// flush runs the queued calls through the engine, as pipeline.Runner
// does: lateness decided per record, windows closed on the watermark from
// before the batch.
func (f *feeder) flush() {
	n := len(f.calls)
	if n == 0 {
		return
	}
	// One string per batch holds every record's key and numbers: the
	// records' strings are slices of it, so the harness allocates per
	// batch, not per field, and its garbage does not swamp the figures.
	f.text = f.text[:0]
	for i, c := range f.calls {
		f.text = appendText(f.text, uint64(f.seq+i+1), c)
	}
	text := string(f.text)
	for i, c := range f.calls {
		f.seq++
		r := &f.recs[i]
		*r = engine.Record{Partition: 0, Offset: int64(f.seq)}
		fillCDR(&r.CDR, c, uint64(f.seq), text[i*textLen:(i+1)*textLen])
		r.Late = f.wm.Observe(0, eventtime.SourceKey(r.CDR.SwitchID), r.CDR.SwitchID, r.CDR.StartTime, f.now)
	}
	start := time.Now()
	for _, r := range f.ptrs[:n] {
		f.eng.Prepare(r)
	}
	outs := f.eng.Process(f.ptrs[:n], f.wmAt, f.wmKnown)
	f.engineTime += time.Since(start)
	f.tally.add(outs)
	f.wmAt, f.wmKnown = f.wm.Advance(f.now)
	f.calls = f.calls[:0]
	f.report()
}

// report prints progress every ten seconds, so a slow scenario is seen
// to move.
func (f *feeder) report() {
	if time.Since(f.lastReport) < 10*time.Second {
		return
	}
	f.lastReport = time.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(f.progress, "%s: %d of %d CDRs, heap %s\n", f.sc.name, f.seq, f.sc.cdrs(), mib(ms.HeapAlloc))
}

// closeAll moves the watermark one slide at a time to until with empty
// batches, as the pipeline's idle ticks would, so every window closes
// and its state may be dropped.
func (f *feeder) closeAll(until time.Time, slide time.Duration) {
	wm := t0
	if f.wmKnown {
		wm = f.wmAt
	}
	for wm.Before(until) {
		wm = wm.Truncate(slide).Add(slide)
		if wm.After(until) {
			wm = until
		}
		f.tally.add(f.eng.Process(nil, wm, true))
	}
}

// appendText appends the key and numbers of call seq.
func appendText(b []byte, seq uint64, c call) []byte {
	const hex = "0123456789abcdef"
	for shift := 4 * (keyLen - 1); shift >= 0; shift -= 4 {
		b = append(b, hex[seq>>uint(shift)&0xf])
	}
	b = strconv.AppendUint(append(b, '+'), c.caller, 10)
	return strconv.AppendUint(append(b, '+'), c.callee, 10)
}

// internationalTrunk carries the spoofed scenario's calls.
const internationalTrunk = "INTL-GW1"

// fillCDR sets the exported fields a decoder would, from the call and its
// text (key, caller, callee). Outcomes are drawn from the call's sequence
// number: mostly answered calls of ten seconds to five minutes, some
// unanswered, busy or cancelled; no one-ring calls and no invalid release
// causes, so light callers show no trait that would promote them.
func fillCDR(c *schemas.CDR, cl call, seq uint64, text string) {
	h := mix.Mix64(seq ^ 0x9e3779b97f4a7c15)
	start := time.UnixMilli(cl.at).UTC()
	*c = schemas.CDR{
		CallID:    text[:keyLen],
		Key:       text[:keyLen],
		Caller:    text[keyLen : keyLen+numberLen],
		Callee:    text[keyLen+numberLen:],
		StartTime: start,
		SwitchID:  "sw1",
	}
	if cl.spoofed {
		c.TrunkID = internationalTrunk
	}
	switch p := h % 100; {
	case p < 65:
		c.Disposition, c.Cause = schemas.Answered, 16
		c.RingDuration = float64(3 + h>>8%13)
		c.Duration = float64(10 + h>>16%291)
		c.AnswerTime = start.Add(seconds(c.RingDuration))
	case p < 85:
		c.Disposition, c.Cause = schemas.NoAnswer, 19
		c.RingDuration = float64(20 + h>>8%21)
	case p < 95:
		c.Disposition, c.Cause = schemas.Busy, 17
		c.RingDuration = 1
	default:
		c.Disposition, c.Cause = schemas.Cancelled, 16
		c.RingDuration = float64(5 + h>>8%11)
	}
	c.EndTime = start.Add(seconds(c.RingDuration + c.Duration))
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// tally sums the engine's per-batch counters.
type tally struct {
	Stored     int
	Duplicates int
	Late       int
	TooOld     int
	Promoted   int
	Overflowed int
	Flags      int
	Stats      int
}

func (t *tally) add(outs []engine.Output) {
	for i := range outs {
		o := &outs[i]
		t.Stored += len(o.CDRs)
		t.Duplicates += o.Duplicates
		t.Late += o.Late
		t.TooOld += o.TooOld
		t.Promoted += o.Promoted
		t.Overflowed += o.Overflowed
		t.Flags += len(o.Flags)
		t.Stats += len(o.Stats)
	}
}

// check fails the run when the engine did not count every generated
// record: that would be a fault of the generator or its watermark, and
// the figures would describe less state than the scenario says.
func (t *tally) check(cdrs int) error {
	if t.Stored != cdrs || t.Duplicates != 0 || t.Late != 0 || t.TooOld != 0 {
		return fmt.Errorf("engine did not count every generated record: %d generated, %d stored, %d duplicates, %d late, %d too old",
			cdrs, t.Stored, t.Duplicates, t.Late, t.TooOld)
	}
	return nil
}
