// Package pipeline moves CDRs from Kafka to ClickHouse: source fetches,
// decode parses and validates, engine runs the windowed detectors, sink
// writes. This file wires the stages into one run loop with bounded
// queues, back-pressure, commits after durable writes, and a draining
// shutdown.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
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
}

// Source is where a run reads: a consumer group (source.Source) or a
// stretch of the topic for shadow runs (source.Replay).
type Source interface {
	// Fetch returns the next message.
	Fetch(ctx context.Context) (kafka.Message, error)
	// Commit records, per partition, the next offset to read.
	Commit(ctx context.Context, next map[int]int64) error
	// Partitions lists the topic's partitions.
	Partitions(ctx context.Context) ([]int, error)
	// EndOffsets says where a bounded run ends.
	EndOffsets(ctx context.Context, parts []int) (map[int]int64, error)
	// Committed says where reading starts.
	Committed(ctx context.Context, parts []int) (map[int]int64, error)
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

// Runner is one pipeline instance.
type Runner struct {
	cfg  config.Config
	opts Options
	log  *slog.Logger
	src  Source
	sink *sink.Sink
	eng  *engine.Engine
	wm   *eventtime.Watermark
	trk  *tracker

	wmNow   time.Time // watermark after the last batch
	wmKnown bool
	m       Metrics
	h       health
	// skewed holds the sources reported as skewed, with the offset
	// reported, so a log line is written when that changes.
	skewed map[string]time.Duration

	decoders []*decode.Decoder
	records  []engine.Record
	rejected []error
	srcKeys  []uint64 // eventtime.SourceKey of each record's switch
}

// Metrics exposes the run's counters and gauges while it runs.
func (r *Runner) Metrics() *Metrics { return &r.m }

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
	eng, err := engine.New(engine.Config{Window: cfg.Window, Detectors: cfg.Detectors, Stats: cfg.Stats, Engine: cfg.Engine, Numbering: cfg.Numbering}, opts.Now)
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: cfg, opts: opts, log: log, src: src, sink: snk, eng: eng, skewed: map[string]time.Duration{},
		wm:  eventtime.New(eventtime.SettingsFrom(cfg.Window)),
		trk: newTracker()}
	for range runtime.GOMAXPROCS(0) {
		r.decoders = append(r.decoders, decode.NewDecoder(decode.OptionsFrom(cfg)))
	}
	if snk != nil {
		r.m.Retries, r.m.Quarantined = &snk.Retries, &snk.Quarantined
	}
	return r, nil
}

// flushJob is a filled batch on its way to ClickHouse, with the offsets
// that may be committed once it is written.
type flushJob struct {
	batch  *sink.Batch
	commit map[int]int64
}

// Run consumes until ctx ends (or, with UntilCaughtUp, until caught up),
// then drains: the last batch is written and offsets committed. A stop
// by ctx is not an error.
func (r *Runner) Run(ctx context.Context) (Summary, error) {
	start := r.opts.Now()
	parts, err := r.src.Partitions(ctx)
	if err != nil {
		return Summary{}, err
	}
	r.wm.Expect(parts, start)
	var ends map[int]int64
	if r.opts.UntilCaughtUp {
		if ends, err = r.endOffsets(ctx, parts); err != nil {
			return Summary{}, err
		}
		r.log.Info("reading until caught up", "end_offsets", ends)
	}

	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	q := newQueue(r.cfg.Engine.QueueSize * queueUnit)
	fetchErr := make(chan error, 1)
	go func() { fetchErr <- r.fetch(fetchCtx, q) }()

	// Two batches alternate: one fills while the other is written, so
	// memory stays at two batches however slow ClickHouse is.
	free := make(chan *sink.Batch, 2)
	free <- new(sink.Batch)
	free <- new(sink.Batch)
	jobs := make(chan flushJob)
	drainCtx, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	var writerErr error
	var wg sync.WaitGroup
	wg.Go(func() { writerErr = r.write(drainCtx, jobs, free) })

	cur := <-free
	lastFlush, lastLog := r.opts.Now(), r.opts.Now()
	r.h.turn(lastFlush)
	r.h.running.Store(true)
	defer r.h.running.Store(false)
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	var taken []kafka.Message // messages taken from the queue, from next on not yet processed
	next := 0
	var runErr error
	done := r.opts.UntilCaughtUp && r.caughtUp(ends)

loop:
	for !done && ctx.Err() == nil {
		r.h.turn(r.opts.Now())
		if next == len(taken) {
			taken, next = q.take(taken), 0
		}
		if len(taken) == 0 {
			select {
			case <-ctx.Done():
				break loop
			case err := <-fetchErr:
				runErr = err
				break loop
			case <-q.ready:
				taken, next = q.take(taken), 0
			case <-ticker.C:
			}
		}
		buf := taken[next:min(next+microBatch, len(taken))]
		next += len(buf)
		if len(buf) > 0 {
			r.process(buf, cur)
		} else {
			r.advanceIdle(cur)
		}
		done = r.opts.UntilCaughtUp && r.caughtUp(ends)
		queued := len(taken) - next + q.len()
		r.gauges(queued)
		if now := r.opts.Now(); now.Sub(lastLog) >= progressEvery {
			lastLog = now
			r.logProgress(queued)
			r.reportSkews()
		}
		if cur.Rows() >= r.cfg.Sink.BatchSize || r.opts.Now().Sub(lastFlush) >= r.cfg.Sink.FlushInterval || done {
			if done {
				r.final(cur)
			}
			if !r.send(ctx, jobs, cur) {
				break loop
			}
			// Waiting for the other batch is the back-pressure; a stop
			// must not wait for ClickHouse beyond the drain deadline.
			r.h.waiting.Store(true)
			select {
			case cur = <-free:
			case <-ctx.Done():
				cur = nil
			}
			r.h.waiting.Store(false)
			if cur == nil {
				break loop
			}
			lastFlush = r.opts.Now()
		}
	}
	stopFetch()

	// Drain: what was processed is written and committed within the
	// deadline; fetched but unprocessed messages are simply not committed.
	drain := time.AfterFunc(r.opts.DrainTimeout, cancelDrain)
	defer drain.Stop()
	if cur != nil && (cur.Rows() > 0 || !done) {
		if !done {
			r.log.Info("stopping: flushing processed records", "rows", cur.Rows())
		}
		jobs <- flushJob{batch: cur, commit: r.trk.commitable()}
	}
	close(jobs)
	wg.Wait()
	r.reportSkews()
	sum := r.summary(r.opts.Now().Sub(start))
	if writerErr != nil {
		return sum, writerErr
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return sum, runErr
	}
	return sum, nil
}

// progressEvery is how often a running pipeline logs its counters.
const progressEvery = 10 * time.Second

// gauges updates the metrics that describe the present.
func (r *Runner) gauges(queued int) {
	callers, heavy := r.eng.Size()
	r.m.FetchQueue.Store(int64(queued))
	r.m.Callers.Store(int64(callers))
	r.m.HeavyCallers.Store(int64(heavy))
	if r.wmKnown {
		r.m.Watermark.Store(r.wmNow.Unix())
	}
}

// logProgress tells the operator how far the run is.
func (r *Runner) logProgress(queued int) {
	r.log.Info("progress", "records", r.m.Records.Load(), "rejects", r.m.Rejects.Load(), "duplicates", r.m.Duplicates.Load(),
		"late", r.m.Late.Load(), "flags", r.m.Flags.Load(), "watermark", r.wmNow.Format(time.RFC3339),
		"callers", r.m.Callers.Load(), "heavy_callers", r.m.HeavyCallers.Load(), "fetch_queue", queued,
		"clickhouse_retries", r.sink.Retries.Load())
}

// reportSkews tells the operator about switches whose clocks are off,
// once when one is found, again when its offset moved by the report
// threshold, and once when it is back in line.
func (r *Runner) reportSkews() {
	skews := r.wm.Skews()
	r.m.setSkews(skews)
	seen := make(map[string]bool, len(skews))
	for _, sk := range skews {
		seen[sk.Source] = true
		prev, ok := r.skewed[sk.Source]
		if ok && (sk.Offset-prev).Abs() < r.cfg.Window.ReportSkew {
			continue
		}
		r.log.Warn("switch clock is off: its records start "+aheadBehind(sk.Offset)+" the other switches'; "+
			"records more than window.allowed_lateness behind are not counted",
			"switch", sourceName(sk.Source), "offset", sk.Offset.String(), "partitions", sk.Partitions)
		r.skewed[sk.Source] = sk.Offset
	}
	for src := range r.skewed {
		if !seen[src] {
			r.log.Info("switch clock back in line with the others", "switch", sourceName(src))
			delete(r.skewed, src)
		}
	}
}

func aheadBehind(d time.Duration) string {
	if d < 0 {
		return (-d).String() + " behind"
	}
	return d.String() + " ahead of"
}

// sourceName names a source in logs.
func sourceName(s string) string {
	if s == "" {
		return "(records without switch_id)"
	}
	return s
}

// send hands a batch to the writer, blocking while the previous one is
// still being written: that is the back-pressure that pauses fetching.
func (r *Runner) send(ctx context.Context, jobs chan<- flushJob, b *sink.Batch) bool {
	job := flushJob{batch: b, commit: r.trk.commitable()}
	r.h.waiting.Store(true)
	defer r.h.waiting.Store(false)
	select {
	case jobs <- job:
		return true
	case <-ctx.Done():
		// Keep the batch: the drain writes it.
		return false
	}
}

// write inserts batches and commits their offsets, in order.
func (r *Runner) write(ctx context.Context, jobs <-chan flushJob, free chan<- *sink.Batch) error {
	var firstErr error
	var lastHook time.Time
	defer func() {
		if firstErr == nil {
			r.afterWrite(ctx)
		}
	}()
	for job := range jobs {
		if firstErr != nil {
			continue
		}
		rows := job.batch.Rows()
		if err := r.sink.Write(ctx, job.batch); err != nil {
			firstErr = err
			continue
		}
		if err := r.src.Commit(ctx, job.commit); err != nil {
			// Rows are written; a lost commit only means a replay, which
			// the idempotent tables absorb.
			r.log.Warn("commit failed; messages will be re-read after a restart", "err", err)
		} else {
			r.m.Commits.Add(1)
		}
		r.m.Written.Add(int64(rows))
		job.batch.Reset()
		free <- job.batch
		if now := r.opts.Now(); r.opts.AfterWriteEvery > 0 && now.Sub(lastHook) >= r.opts.AfterWriteEvery {
			lastHook = now
			r.afterWrite(ctx)
		}
	}
	return firstErr
}

func (r *Runner) afterWrite(ctx context.Context) {
	if r.opts.AfterWrite == nil {
		return
	}
	if err := r.opts.AfterWrite(ctx); err != nil {
		r.log.Warn("after-write hook failed", "err", err)
	}
}

// queueUnit is how many messages one unit of engine.queue_size holds.
const queueUnit = 512

// fetch feeds q until ctx ends.
func (r *Runner) fetch(ctx context.Context, q *queue) error {
	for {
		m, err := r.src.Fetch(ctx)
		if err == nil {
			err = q.put(ctx, m)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// process decodes, counts and buffers one micro-batch.
func (r *Runner) process(msgs []kafka.Message, b *sink.Batch) {
	now := r.opts.Now()
	r.decode(msgs, now)
	r.m.Records.Add(int64(len(msgs)))

	recs := make([]*engine.Record, 0, len(msgs))
	// A record far ahead of its partition (a broken clock) must not hold
	// commits back until the stream catches up with it: past this limit
	// it is not protected by replay, and only its own windows suffer.
	maxJump := int64(r.cfg.Window.MaxJump / time.Second)
	for i := range msgs {
		m := &msgs[i]
		if err := r.rejected[i]; err != nil {
			r.reject(m, err, now, b)
			continue
		}
		rec := &r.records[i]
		// Lateness is decided here, record by record in each partition's
		// order, against that partition's own progress: the same input
		// gives the same late records however partitions interleave.
		rec.Late = r.wm.Observe(m.Partition, r.srcKeys[i], rec.CDR.SwitchID, rec.CDR.StartTime, now)
		if rec.CDR.Withheld {
			r.m.Withheld.Add(1)
		}
		sec := rec.CDR.StartTime.Unix()
		if f, ok := r.wm.Frontier(m.Partition); ok {
			sec = min(sec, f+maxJump)
		}
		r.trk.add(m.Partition, m.Offset, sec)
		recs = append(recs, rec)
	}
	r.m.Valid.Add(int64(len(recs)))
	// Windows close on the watermark from before this batch, which never
	// passes a partition's progress, so records on time for their
	// partition never fall in a closed window (unless their partition
	// was idle and released meanwhile: those are late too).
	r.collect(r.eng.Process(recs, r.wmNow, r.wmKnown), b)
	r.wmNow, r.wmKnown = r.wm.Advance(now)
	if r.wmKnown {
		r.trk.release(r.openFrom(r.wmNow))
	}
}

// reject stores a message that could not be decoded, with its reason.
// Its time is the Kafka message's, so a replay stores it once.
func (r *Runner) reject(m *kafka.Message, err error, now time.Time, b *sink.Batch) {
	reason := decode.ReasonOf(err)
	r.m.reject(reason)
	at := m.Time
	if at.IsZero() {
		at = now
	}
	b.AddReject(&schemas.Reject{
		Origin: schemas.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Received: at},
		Raw:    string(m.Value), Reason: reason, Error: err.Error(),
	})
	r.trk.add(m.Partition, m.Offset, noTime)
}

// advanceIdle lets the watermark move when no messages arrive, so idle
// partitions stop holding windows open.
func (r *Runner) advanceIdle(b *sink.Batch) {
	r.wmNow, r.wmKnown = r.wm.Advance(r.opts.Now())
	if !r.wmKnown {
		return
	}
	r.collect(r.eng.Process(nil, r.wmNow, true), b)
	r.trk.release(r.openFrom(r.wmNow))
}

// openFrom is the start (Unix seconds) of the oldest window still open at
// watermark wm.
func (r *Runner) openFrom(wm time.Time) int64 {
	slide := int64(r.cfg.Window.Slide / time.Second)
	w := int64(r.cfg.Window.Size / r.cfg.Window.Slide)
	b := wm.Unix() / slide
	return (b - w + 1) * slide
}

// decode parses msgs in parallel into r.records and r.rejected.
func (r *Runner) decode(msgs []kafka.Message, now time.Time) {
	n := len(msgs)
	if cap(r.records) < n {
		r.records = make([]engine.Record, n)
		r.rejected = make([]error, n)
		r.srcKeys = make([]uint64, n)
	}
	r.records, r.rejected, r.srcKeys = r.records[:n], r.rejected[:n], r.srcKeys[:n]
	workers := min(len(r.decoders), (n+255)/256)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		d := r.decoders[w]
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				m := &msgs[i]
				c, err := d.Decode(m.Value, now)
				r.rejected[i] = err
				r.records[i] = engine.Record{CDR: c, Partition: m.Partition, Offset: m.Offset}
				if err == nil {
					r.eng.Prepare(&r.records[i])
					r.srcKeys[i] = eventtime.SourceKey(c.SwitchID)
				}
			}
		})
	}
	wg.Wait()
}

// collect moves engine outputs into the batch.
func (r *Runner) collect(outs []engine.Output, b *sink.Batch) {
	for i := range outs {
		o := &outs[i]
		for _, rec := range o.CDRs {
			b.AddCDR(&rec.CDR, rec.Partition, rec.Offset)
		}
		for j := range o.Flags {
			b.AddFlag(&o.Flags[j])
		}
		for j := range o.Stats {
			b.AddStats(&o.Stats[j])
		}
		r.m.Duplicates.Add(int64(o.Duplicates))
		r.m.Late.Add(int64(o.Late))
		r.m.Flags.Add(int64(len(o.Flags)))
		r.m.Stats.Add(int64(len(o.Stats)))
	}
}

// final adds provisional stats for windows still open at the end of a
// bounded run.
func (r *Runner) final(b *sink.Batch) {
	r.collect(r.eng.Flush(), b)
}

// endOffsets reads the end offsets at start and marks partitions with
// nothing left to read (committed at or past the end) as done.
func (r *Runner) endOffsets(ctx context.Context, parts []int) (map[int]int64, error) {
	ends, err := r.src.EndOffsets(ctx, parts)
	if err != nil {
		return nil, err
	}
	committed, err := r.src.Committed(ctx, parts)
	if err != nil {
		return nil, err
	}
	for p, end := range ends {
		if c, ok := committed[p]; ok && c >= end || end == 0 {
			delete(ends, p)
			r.wm.Done(p)
		}
	}
	return ends, nil
}

// caughtUp reports whether every partition was read to its end offset;
// finished partitions stop holding the watermark back.
func (r *Runner) caughtUp(ends map[int]int64) bool {
	all := true
	for p, end := range ends {
		if r.trk.processed(p) >= end {
			r.wm.Done(p)
			continue
		}
		all = false
	}
	return all
}

// String renders a summary for the operator.
func (s Summary) String() string {
	return fmt.Sprintf("records %d (valid %d, rejects %d, duplicates %d, late %d, withheld %d), flags %d, stats rows %d, rows written %d, %.1fs, %.0f CDR/s, clickhouse retries %d",
		s.Records, s.Valid, s.Rejects, s.Duplicates, s.Late, s.Withheld, s.Flags, s.Stats, s.Written, s.Elapsed.Seconds(), s.PerSecond(), s.Retries)
}
