package pipeline

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

// The run loop: for each assignment of partitions, fetch into a bounded
// queue, process micro-batches, hand full batches to the writer, which
// inserts and then commits; when the assignment is revoked or the run
// stops, write and commit what was processed before handing the
// partitions back.

// flushJob is a filled batch on its way to ClickHouse, with the offsets
// that may be committed once it is written.
type flushJob struct {
	batch  *sink.Batch
	commit map[int]source.Commit
}

// Run consumes until ctx ends (or, with UntilCaughtUp, until the
// partitions assigned to it are caught up), assignment after assignment.
// A stop by ctx is not an error.
func (r *Runner) Run(ctx context.Context) (Summary, error) {
	start := r.opts.Now()
	if r.opts.UntilCaughtUp && r.opts.Stage != Detect {
		parts, err := r.src.Partitions(ctx)
		if err != nil {
			return Summary{}, err
		}
		if r.ends, err = r.src.EndOffsets(ctx, parts); err != nil {
			return Summary{}, err
		}
		r.log.Info("reading until caught up", "end_offsets", r.ends)
	}
	var runErr error
	for ctx.Err() == nil {
		a, err := r.src.Next(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, io.EOF) {
				runErr = err
			}
			break
		}
		done, err := r.runAssignment(ctx, a)
		a.Close()
		if err != nil {
			runErr = err
			break
		}
		if done {
			break
		}
		if ctx.Err() == nil {
			r.log.Info("partitions revoked by a rebalance; processed records written and committed", "partitions", r.owned)
		}
	}
	r.reportSkews()
	return r.summary(r.opts.Now().Sub(start)), runErr
}

// runAssignment reads assignment a until it is revoked, ctx ends, or a
// bounded run is caught up (done), then writes and commits what was
// processed.
func (r *Runner) runAssignment(ctx context.Context, a *source.Assignment) (done bool, err error) {
	q := newQueue(max(r.cfg.Engine.QueueSize*queueUnit/max(len(a.Partitions()), 1), minPartQueue))
	if err := r.begin(ctx, a, q); err != nil {
		return false, err
	}
	// Work stops when the run is stopped or the partitions are taken
	// back; writing what was processed goes on until the drain deadline.
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	go func() {
		select {
		case <-a.Revoked():
			stopWork()
		case <-work.Done():
		}
	}()

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
	wg.Go(func() { writerErr = r.write(drainCtx, a, jobs, free) })

	cur, runErr := r.loop(work, q, a.Err(), jobs, free, &done)
	if done && r.opts.Stage == Route {
		// The input is read (perhaps by an earlier run): say so to the
		// second stage.
		r.publish(drainCtx, true)
	}

	// Drain: what was processed is written and committed within the
	// deadline; fetched but unprocessed messages are simply not committed.
	drain := time.AfterFunc(r.opts.DrainTimeout, cancelDrain)
	defer drain.Stop()
	if cur != nil && !done {
		// Windows the latest watermark closed are written now, so whoever
		// reads the partitions next re-reads less.
		r.run(nil, cur)
	}
	if cur != nil && (cur.Rows() > 0 || !done) {
		if !done {
			r.log.Info("stopping: flushing processed records", "rows", cur.Rows())
		}
		jobs <- flushJob{batch: cur, commit: r.trk.commitable(r.snapshot)}
	}
	close(jobs)
	wg.Wait()
	if writerErr != nil {
		return done, writerErr
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, source.ErrRevoked) {
		return done, runErr
	}
	return done, nil
}

// loop processes micro-batches of the queue into batches handed to the
// writer, until work ends, fetching fails or (bounded runs) everything
// assigned is read. It returns the batch being filled (nil if the stop
// came while waiting for one).
func (r *Runner) loop(work context.Context, q *queue, fetchErr <-chan error, jobs chan<- flushJob, free chan *sink.Batch, done *bool) (*sink.Batch, error) {
	cur := <-free
	lastFlush, lastLog := r.opts.Now(), r.opts.Now()
	r.h.turn(lastFlush)
	r.h.running.Store(true)
	defer r.h.running.Store(false)
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	var taken []kafka.Message // messages taken from the queue, from next on not yet processed
	next := 0
	r.detectEnds(work)
	*done = r.opts.UntilCaughtUp && r.caughtUp()
	for !*done && work.Err() == nil {
		r.h.turn(r.opts.Now())
		if next == len(taken) {
			taken, next = q.take(taken, r.eligible), 0
		}
		if len(taken) == 0 {
			select {
			case <-work.Done():
				return cur, nil
			case err := <-fetchErr:
				return cur, err
			case <-q.ready:
				taken, next = q.take(taken, r.eligible), 0
			case <-ticker.C:
			}
		}
		buf := taken[next:min(next+microBatch, len(taken))]
		next += len(buf)
		if len(buf) > 0 {
			r.process(work, buf, cur)
		} else {
			r.advanceIdle(work, cur)
		}
		r.detectEnds(work)
		*done = r.opts.UntilCaughtUp && r.caughtUp()
		queued := len(taken) - next + q.len()
		r.gauges(queued)
		if now := r.opts.Now(); now.Sub(lastLog) >= progressEvery {
			lastLog = now
			r.logProgress(queued)
			r.reportSkews()
		}
		if cur.Rows() >= r.cfg.Sink.BatchSize || r.opts.Now().Sub(lastFlush) >= r.cfg.Sink.FlushInterval || *done {
			if *done && r.opts.Stage != Route {
				// The input is read: give the engine the records held
				// back, write what the partitions' progress closes, then
				// what is still open, provisionally.
				r.flushing = true
				r.run(nil, cur)
				r.flushing = false
				r.final(cur)
			}
			if !r.send(work, jobs, cur) {
				return cur, nil
			}
			// Waiting for the other batch is the back-pressure; a stop
			// must not wait for ClickHouse beyond the drain deadline.
			r.h.waiting.Store(true)
			select {
			case cur = <-free:
			case <-work.Done():
				cur = nil
			}
			r.h.waiting.Store(false)
			if cur == nil {
				return nil, nil
			}
			lastFlush = r.opts.Now()
		}
	}
	return cur, nil
}

// send hands a batch to the writer, blocking while the previous one is
// still being written: that is the back-pressure that pauses fetching.
func (r *Runner) send(ctx context.Context, jobs chan<- flushJob, b *sink.Batch) bool {
	job := flushJob{batch: b, commit: r.trk.commitable(r.snapshot)}
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

// write inserts batches and commits their offsets, in order. A commit
// refused because the group moved on means the partitions may belong to
// another member now: nothing more is committed, and whoever reads them
// next re-reads from the last commit without storing anything twice.
func (r *Runner) write(ctx context.Context, a *source.Assignment, jobs <-chan flushJob, free chan<- *sink.Batch) error {
	var firstErr error
	var lastHook time.Time
	fenced := false
	defer func() {
		if firstErr == nil && !fenced {
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
		r.m.Written.Add(int64(rows))
		job.batch.Reset()
		free <- job.batch
		if fenced {
			continue
		}
		switch err := a.Commit(ctx, job.commit); {
		case errors.Is(err, source.ErrFenced):
			fenced = true
			r.log.Info("the group moved on: this member's partitions were revoked; stopping its commits", "err", err)
		case err != nil:
			// Rows are written; a lost commit only means a replay, which
			// the idempotent tables absorb.
			r.log.Warn("commit failed; messages will be re-read after a restart", "err", err)
		default:
			r.m.Commits.Add(1)
			for p, c := range job.commit {
				r.committed[p] = c
			}
		}
		if now := r.opts.Now(); r.opts.AfterWriteEvery > 0 && now.Sub(lastHook) >= r.opts.AfterWriteEvery {
			lastHook = now
			r.afterWrite(ctx)
		}
	}
	return firstErr
}

// afterWrite runs the after-write hook (the blocklist's audit sync) on the
// one member that owns partition 0, so that with several instances its
// rows are written once.
func (r *Runner) afterWrite(ctx context.Context) {
	if r.opts.AfterWrite == nil || !r.owns(0) {
		return
	}
	if err := r.opts.AfterWrite(ctx); err != nil {
		r.log.Warn("after-write hook failed", "err", err)
	}
}

// queueUnit is how many messages one unit of engine.queue_size holds,
// shared out among the assigned partitions; minPartQueue is the least a
// partition gets.
const (
	queueUnit    = 512
	minPartQueue = 1024
)
