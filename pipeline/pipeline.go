// Package pipeline moves CDRs from Kafka to ClickHouse: source fetches,
// decode parses and validates, eventtime decides lateness, engine runs the
// windowed detectors, sink writes. A Runner wires the stages into one run
// loop (run.go) with bounded queues, back-pressure, commits after durable
// writes and a draining shutdown; process.go handles one micro-batch,
// progress.go and health.go tell the operator how it goes.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
	"github.com/cdrpipe/cdrpipe/pipeline/formats"
	"github.com/cdrpipe/cdrpipe/pipeline/repartition"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/privacy"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// noTime marks a segment without event times (rejects only).
const noTime = -1 << 62

// microBatch is how many messages are decoded and processed together.
const microBatch = 4096

// Options change how a run ends.
type Options struct {
	// UntilCaughtUp stops once every partition has been read up to the end
	// offsets that existed at start.
	UntilCaughtUp bool
	// DrainTimeout bounds the final flush and commit after a stop.
	DrainTimeout time.Duration
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// AfterWrite, when set, runs after a batch is written and committed,
	// at most every AfterWriteEvery and once more at the end; the
	// blocklist's audit sync hangs here. Its errors are logged.
	AfterWrite      func(ctx context.Context) error
	AfterWriteEvery time.Duration
	// Stage says which part of the work the runner does: Whole by
	// default; Route or Detect for one of two stages.
	Stage Stage
	// Publisher takes the first stage's copies (Route only).
	Publisher *repartition.Publisher
	// Internal is the internal topic the second stage reads (Detect
	// only); the configuration's topic is the carriers'.
	Internal string
	// Days, when set, reads what earlier runs wrote to day_windows, in
	// place of the sink (tests without ClickHouse).
	Days func(ctx context.Context, after time.Time) ([]schemas.DayWindow, error)
	// Metrics, when set, are counters to share with another runner: the
	// two stages of one process count into one set (the first counts
	// what it reads and rejects, the second what it detects and stores).
	Metrics *Metrics
}

// Source is where a run reads: a consumer group (source.Group) or a
// stretch of the topic for shadow runs (source.Replay).
type Source interface {
	// Next waits for the next assignment of partitions; io.EOF when
	// there will be none.
	Next(ctx context.Context) (*source.Assignment, error)
	// Partitions lists the topic's partitions.
	Partitions(ctx context.Context) ([]int, error)
	// EndOffsets says where a bounded run ends.
	EndOffsets(ctx context.Context, parts []int) (map[int]int64, error)
	// Probe asks the broker once whether it answers, for readiness.
	Probe(ctx context.Context) error
}

// Summary is what a run did.
type Summary struct {
	Records    int64 // messages fetched
	Valid      int64 // decoded CDRs
	Rejects    int64
	Duplicates int64
	Late       int64
	Withheld   int64 // valid CDRs with the caller ID withheld
	Flags      int64
	Stats      int64
	Written    int64 // rows written to ClickHouse, all tables
	Elapsed    time.Duration
	Retries    int64
}

// PerSecond is the throughput in messages per second.
func (s Summary) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Records) / s.Elapsed.Seconds()
}

// String renders a summary for the operator.
func (s Summary) String() string {
	return fmt.Sprintf("records %d (valid %d, rejects %d, duplicates %d, late %d, withheld %d), flags %d, stats rows %d, rows written %d, %.1fs, %.0f CDR/s, clickhouse retries %d",
		s.Records, s.Valid, s.Rejects, s.Duplicates, s.Late, s.Withheld, s.Flags, s.Stats, s.Written, s.Elapsed.Seconds(), s.PerSecond(), s.Retries)
}

// Runner is one pipeline instance.
type Runner struct {
	cfg  config.Config
	opts Options
	log  *slog.Logger
	src  Source
	sink *sink.Sink
	eng  *engine.Engine
	// wm is the progress the runner follows: et, the input partitions'
	// own (one stage, or the first of two), or prog, the first stage's
	// marks (the second stage).
	wm   progress
	et   *eventtime.Watermark
	prog *repartition.Progress
	pub  *repartition.Publisher
	trk  *tracker

	wmNow   time.Time // watermark after the last batch
	wmKnown bool
	// applied is the watermark the engine last ran at.
	applied      time.Time
	appliedKnown bool
	// m is the run's counters, shared by the two stages of one process.
	m *Metrics
	h health
	// skewed holds the sources reported as skewed, with the offset
	// reported, so a log line is written when that changes.
	skewed map[string]time.Duration

	// callees turns stored callees into pseudonyms (privacy.callee_key),
	// one per decode worker; nil keeps them in clear.
	callees []*privacy.Pseudonyms

	// stored says, per partition, the highest offset whose call and
	// reject an earlier run stored: re-read messages up to it rebuild
	// windows but are not stored again.
	stored sink.Stored

	// owned lists the partitions of the current assignment, sorted;
	// committed holds what was last committed for each, by this runner
	// (written by the writer, read between assignments); ends holds
	// where a bounded run ends.
	owned     []int
	from      map[int]int64 // where each owned partition's reading started
	committed map[int]source.Commit
	ends      map[int]int64

	// held holds records too far ahead of the watermark for the engine
	// yet (copies: records is reused); released those given back to it;
	// flushing gives them all back at the end of a bounded run.
	held, released []engine.Record
	// heldSorted is how many of held are in start order: those left from
	// the last unhold; merging the new ones in moves each record once,
	// where sorting all of them again moved them all many times.
	heldSorted int
	heldOrder  []int32         // scratch: the new held records' order
	heldSpare  []engine.Record // scratch: the merged held records
	stepAt     []time.Time     // watermarks of unhold's steps
	flushing   bool
	// startFloor is what reading follows until the watermark is known.
	startFloor int64
	startKnown bool

	decoders []formats.Decoder // one a worker, for the topic's kafka.format
	// copies and detected are the second stage's: the copies read from a
	// micro-batch's messages, and the records made of them.
	copies   []repartition.Copy
	detected []engine.Record
	records  []engine.Record
	rejected []error
	srcKeys  []uint64 // eventtime.SourceKey of each record's switch
}

// Metrics exposes the run's counters and gauges while it runs.
func (r *Runner) Metrics() *Metrics { return r.m }

// summary reads the counters into a Summary.
func (r *Runner) summary(elapsed time.Duration) Summary {
	s := Summary{
		Records: r.m.Records.Load(), Valid: r.m.Valid.Load(), Rejects: r.m.Rejects.Load(),
		Duplicates: r.m.Duplicates.Load(), Late: r.m.Late.Load(), Withheld: r.m.Withheld.Load(), Flags: r.m.Flags.Load(),
		Stats: r.m.Stats.Load(), Written: r.m.Written.Load(), Elapsed: elapsed,
	}
	if r.sink != nil {
		s.Retries = r.sink.Retries.Load()
	}
	return s
}

// New builds a runner from its parts.
func New(cfg config.Config, opts Options, src Source, snk *sink.Sink, log *slog.Logger) (*Runner, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	r := &Runner{cfg: cfg, opts: opts, log: log, src: src, sink: snk, skewed: map[string]time.Duration{},
		committed: map[int]source.Commit{}, pub: opts.Publisher, m: opts.Metrics}
	if r.m == nil {
		r.m = new(Metrics)
	}
	if opts.Stage == Route && opts.Publisher == nil || opts.Stage == Detect && opts.Internal == "" {
		return nil, fmt.Errorf("BUG: stage %d without its publisher or internal topic", opts.Stage)
	}
	if err := r.reset(); err != nil {
		return nil, err
	}
	for range runtime.GOMAXPROCS(0) {
		d, err := formats.NewDecoder(cfg.Kafka.Format, cfg)
		if err != nil {
			return nil, err
		}
		r.decoders = append(r.decoders, d)
		if key := cfg.Privacy.CalleeKey; key != "" {
			r.callees = append(r.callees, privacy.New(key, cfg.Privacy.ClearCallees))
		}
	}
	if snk != nil {
		r.m.Retries, r.m.Quarantined = &snk.Retries, &snk.Quarantined
	}
	return r, nil
}
