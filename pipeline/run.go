package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/pipeline/sink"
)

// The run loop: fetch into a bounded queue, process micro-batches, hand
// full batches to the writer, which inserts and then commits; drain on a
// stop.

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
	if r.sink != nil {
		if r.stored, err = r.sink.Stored(ctx, r.cfg.Kafka.Topic, parts); err != nil {
			return Summary{}, err
		}
	}
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
				// The input is read: write what the latest watermark
				// closed, then what is still open, provisionally.
				r.run(nil, cur)
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
	if cur != nil && !done {
		// Windows the latest watermark closed are written now, so the
		// next start re-reads less.
		r.run(nil, cur)
	}
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
