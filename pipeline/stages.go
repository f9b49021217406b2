package pipeline

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
	"github.com/cdrpipe/cdrpipe/pipeline/repartition"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
)

// Two stages (kafka.repartition): the first (Route) decodes the carriers'
// topic, judges lateness per input partition, stores rejects and routes
// each call's two sides to the internal topic by number; the second
// (Detect) reads the internal topic in a group of its own, stores calls
// and runs the detectors, at the watermark the first stage's marks give.
// Each instance runs both, so however the carrier keys its topic, the
// instance that owns a number's internal partition sees every call that
// number's traits depend on.

// Stage is which part of the work a runner does.
type Stage int

const (
	// Whole reads the carriers' topic and detects, in one stage: exact
	// when one instance reads every partition, or producers key by caller
	// and no callee-side trait matters.
	Whole Stage = iota
	// Route is the first of two stages.
	Route
	// Detect is the second of two stages.
	Detect
)

// progress is the event-time progress a runner follows: the input
// partitions' own (eventtime.Watermark), or, in the second stage, the
// first stage's marks (repartition.Progress).
type progress interface {
	Frontier(p int) (int64, bool)
	Floor() (int64, bool)
	Done(p int)
	Expect(parts []int, now time.Time)
	Advance(now time.Time) (time.Time, bool)
	Snapshot(p int) string
	Restore(p int, s string) error
	Skews() []eventtime.Skew
}

// route handles one micro-batch of the first stage: every decoded call
// goes to the publisher with its lateness, rejects are stored, and once
// the brokers have the copies every offset may be committed.
func (r *Runner) route(ctx context.Context, msgs []kafka.Message, b *sink.Batch) {
	now := r.opts.Now()
	// Late calls are counted as late where they are stored: the second
	// stage.
	r.read(msgs, now, b, func(m *kafka.Message, rec *engine.Record) {
		group, grouped := r.eng.GroupOf(&rec.CDR)
		r.pub.Add(&rec.CDR, group, grouped, rec.Late, m.Partition, m.Offset)
	})
	r.advance(now)
	r.publish(ctx, false)
}

// publish writes what the first stage routed, with the owned input
// partitions' progress, retrying while the brokers do not take it. Once
// written, everything read may be committed; a publish cut short by a
// stop leaves it uncommitted, to be read again.
func (r *Runner) publish(ctx context.Context, final bool) {
	now := r.opts.Now()
	marks := make([]repartition.Mark, 0, len(r.owned))
	for _, p := range r.owned {
		f, known := r.et.Frontier(p)
		idle, done := r.et.Released(p, now)
		done = done || final
		if !known && !idle && !done {
			continue // holds the second stage back until known
		}
		marks = append(marks, repartition.Mark{Partition: p, Frontier: f, Idle: idle, Done: done})
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := r.pub.Flush(ctx, marks)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			r.log.Warn("stopping before the internal topic took the last records; they will be read again", "err", err)
			return
		}
		r.log.Warn("the internal topic does not take the routed records; retrying", "err", err, "wait", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	r.trk.release(math.MaxInt64)
}

// detect handles one micro-batch of the second stage: each message's
// copies, then its marks. Records go to the engine at the watermark from
// before the batch, as in one stage.
func (r *Runner) detect(msgs []kafka.Message, b *sink.Batch) {
	now := r.opts.Now()
	r.copies = r.copies[:0]
	ends := make([]int, len(msgs)) // where each message's copies end
	for i := range msgs {
		m := &msgs[i]
		start := len(r.copies)
		copies, inputs, marks, err := repartition.Read(r.copies, m)
		if err != nil {
			r.reject(m, fmt.Errorf("internal topic: %w", err), now, b)
			ends[i] = start
			continue
		}
		sec := int64(noTime)
		for _, c := range copies[start:] {
			sec = max(sec, c.CDR.StartTime.Unix())
		}
		var snap string
		if r.trk.starts(m.Partition, sec) {
			snap = r.wm.Snapshot(m.Partition)
		}
		r.trk.add(m.Partition, m.Offset, sec, snap)
		// Copies written again by a first stage that restarted were
		// counted and stored the first time.
		fresh := copies[:start]
		for j := start; j < len(copies); j++ {
			if r.prog.Fresh(m.Partition, &copies[j]) {
				fresh = append(fresh, copies[j])
			} else if copies[j].Side == engine.CallerSide {
				r.m.Duplicates.Add(1)
			}
		}
		r.copies, ends[i] = fresh, len(fresh)
		// The marks say where the input stood after these copies.
		r.prog.Apply(m.Partition, inputs, marks)
	}
	if cap(r.detected) < len(r.copies) {
		r.detected = make([]engine.Record, 0, len(r.copies))
	}
	r.detected = r.detected[:0]
	recs := make([]*engine.Record, 0, len(r.copies))
	from := 0
	for i := range msgs {
		for j := from; j < ends[i]; j++ {
			recs = r.take(recs, &msgs[i], &r.copies[j], b)
		}
		from = ends[i]
	}
	r.run(recs, b)
	r.advance(now)
}

// take turns a copy into a record for the engine (r.detected has room
// for it), held or not as admit decides.
func (r *Runner) take(recs []*engine.Record, m *kafka.Message, c *repartition.Copy, b *sink.Batch) []*engine.Record {
	r.detected = append(r.detected, engine.Record{CDR: c.CDR, Side: c.Side, Late: c.Late, Partition: m.Partition, Offset: m.Offset})
	rec := &r.detected[len(r.detected)-1]
	rec.Input.Partition, rec.Input.Offset = c.Partition, c.Offset
	r.eng.Prepare(rec)
	if c.Side == engine.CallerSide && r.callees != nil {
		rec.StoredCallee = r.callees[0].Of(c.CDR.Callee)
	}
	return r.admit(recs, rec, b)
}
