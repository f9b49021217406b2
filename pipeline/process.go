package pipeline

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/privacy"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// One micro-batch: decode in parallel, decide lateness per record in
// partition order, run the engine, buffer the outputs, track what may be
// committed.

// process decodes, counts and buffers one micro-batch; ctx bounds the
// first stage's waiting for the brokers.
func (r *Runner) process(ctx context.Context, msgs []kafka.Message, b *sink.Batch) {
	switch r.opts.Stage {
	case Route:
		r.route(ctx, msgs, b)
		return
	case Detect:
		r.detect(msgs, b)
		return
	}
	now := r.opts.Now()
	recs := make([]*engine.Record, 0, len(msgs))
	r.read(msgs, now, b, func(_ *kafka.Message, rec *engine.Record) { recs = r.admit(recs, rec, b) })
	// Windows close on the watermark from before this batch, which never
	// passes a partition's progress, so records on time for their
	// partition never fall in a closed window (unless their partition
	// was idle and released meanwhile: those are late too).
	r.run(recs, b)
	r.advance(now)
}

// read decodes msgs, stores the rejects, and hands each valid record to
// take in partition order, its lateness decided and its offset tracked
// for commits.
func (r *Runner) read(msgs []kafka.Message, now time.Time, b *sink.Batch, take func(m *kafka.Message, rec *engine.Record)) {
	r.decode(msgs, now)
	r.m.Records.Add(int64(len(msgs)))
	var valid int64
	for i := range msgs {
		m := &msgs[i]
		if err := r.rejected[i]; err != nil {
			r.reject(m, err, now, b)
			continue
		}
		rec := &r.records[i]
		r.track(m, rec)
		// Lateness is decided here, record by record in each partition's
		// order, against that partition's own progress: the same input
		// gives the same late records however partitions interleave.
		rec.Late = r.et.Observe(m.Partition, r.srcKeys[i], rec.CDR.SwitchID, rec.CDR.StartTime, now)
		if rec.CDR.Withheld {
			r.m.Withheld.Add(1)
		}
		valid++
		take(m, rec)
	}
	r.m.Valid.Add(valid)
}

// admit appends rec to recs for the engine, or holds it: too far ahead
// of the watermark for the engine's rings, or read before the watermark
// is known, it waits until the watermark catches up (the run loop stops
// reading a partition that leads by much, so few do). A held record's
// row is stored now, in offset order with its partition's others, as
// Stored needs; rec itself may be reused, so the held one is a copy.
func (r *Runner) admit(recs []*engine.Record, rec *engine.Record, b *sink.Batch) []*engine.Record {
	if r.wmKnown && rec.CDR.StartTime.Unix() < r.eng.Horizon(r.wmNow) {
		return append(recs, rec)
	}
	if r.eng.Claim(rec, r.wmNow, r.wmKnown) {
		r.store(b, rec)
	} else if rec.Side.Stores() {
		r.m.Duplicates.Add(1) // the twin of another side's copy is the one counted
	}
	r.held = append(r.held, *rec)
	return recs
}

// track notes that m, decoded into rec, was processed, for commits.
func (r *Runner) track(m *kafka.Message, rec *engine.Record) {
	// A record far ahead of its partition (a broken clock) must not hold
	// commits back until the stream catches up with it: past this limit
	// it is not protected by replay, and only its own windows suffer.
	sec := rec.CDR.StartTime.Unix()
	if f, ok := r.wm.Frontier(m.Partition); ok {
		sec = min(sec, f+int64(r.cfg.Window.MaxJump/time.Second))
	}
	// A record that starts a commit segment takes the partition's
	// progress before it along, to be committed with its offset.
	var snap string
	if r.trk.starts(m.Partition, sec) {
		snap = r.wm.Snapshot(m.Partition)
	}
	r.trk.add(m.Partition, m.Offset, sec, snap)
}

// advance moves the watermark to the partitions' progress; the engine
// applies it at the next run.
func (r *Runner) advance(now time.Time) {
	r.wmNow, r.wmKnown = r.wm.Advance(now)
}

// run runs the engine on recs at the current watermark, buffers what it
// writes, and lets commits pass the records it no longer needs: those it
// needs at the watermark it has applied, not at the one just computed,
// whose closed windows it writes only on the next run.
func (r *Runner) run(recs []*engine.Record, b *sink.Batch) {
	r.unhold(b, !r.flushing)
	r.collect(r.eng.Process(recs, r.wmNow, r.wmKnown), b)
	r.applied, r.appliedKnown = r.wmNow, r.wmKnown
	// The first stage's records are released once published (publish).
	if r.wmKnown && r.opts.Stage != Route {
		r.trk.release(r.eng.Needs(r.wmNow))
	}
}

// unhold gives the engine the held records it can now take (all of them
// unless bounded), in start order and in steps: each step runs at the
// watermark of its earliest record, capped by the current one, so no
// record lands in a window the watermark closed while it was held, and
// none lies further ahead of its step's watermark than the rings reach.
// The watermark the engine runs at only grows, from the one it last
// applied to the current one, which the batch's own records then get.
func (r *Runner) unhold(b *sink.Batch, bounded bool) {
	if len(r.held) == 0 || bounded && !r.wmKnown {
		return
	}
	r.sortHeld()
	// The engine's outputs point into the records until they are
	// collected, so released ones move to a buffer of their own, which
	// grows only while a run lasts.
	r.released = r.released[:0]
	var steps []int
	at, known := r.applied, r.appliedKnown
	i := 0
	for i < len(r.held) {
		w := r.held[i].CDR.StartTime.Truncate(time.Second)
		if r.wmKnown && w.After(r.wmNow) {
			w = r.wmNow
		}
		if known && w.Before(at) {
			w = at
		}
		limit := r.eng.Horizon(w)
		j := i
		for j < len(r.held) && r.held[j].CDR.StartTime.Unix() < limit {
			j++
		}
		if j == i {
			if bounded {
				break
			}
			j = len(r.held) // flushing: the rest go in at the last step
		}
		r.released = append(r.released, r.held[i:j]...)
		steps = append(steps, len(r.released))
		r.stepAt = append(r.stepAt, w)
		at, known, i = w, true, j
	}
	r.held = append(r.held[:0], r.held[i:]...)
	r.heldSorted = len(r.held)
	from := 0
	for k, to := range steps {
		out := make([]*engine.Record, 0, to-from)
		for n := from; n < to; n++ {
			out = append(out, &r.released[n])
		}
		r.collect(r.eng.Process(out, r.stepAt[k], true), b)
		from = to
	}
	r.stepAt = r.stepAt[:0]
}

// sortHeld puts the held records in start order, stably: those already
// in order stay before the new ones they tie with, as a stable sort of
// all of them would leave them.
func (r *Runner) sortHeld() {
	head, tail := r.held[:r.heldSorted], r.held[r.heldSorted:]
	if len(tail) == 0 {
		return
	}
	order := r.heldOrder[:0]
	for i := range tail {
		order = append(order, int32(i))
	}
	slices.SortStableFunc(order, func(x, y int32) int { return tail[x].CDR.StartTime.Compare(tail[y].CDR.StartTime) })
	r.heldOrder = order
	merged := r.heldSpare[:0]
	i := 0
	for _, j := range order {
		for i < len(head) && !tail[j].CDR.StartTime.Before(head[i].CDR.StartTime) {
			merged = append(merged, head[i])
			i++
		}
		merged = append(merged, tail[j])
	}
	merged = append(merged, head[i:]...)
	old := r.held
	clear(old) // the spare buffer must not keep the records' strings alive
	r.held, r.heldSpare = merged, old[:0]
	r.heldSorted = len(r.held)
}

// reject stores a message that could not be decoded, with its reason.
// Its time is the Kafka message's, so a replay stores it once.
func (r *Runner) reject(m *kafka.Message, err error, now time.Time, b *sink.Batch) {
	reason := decode.ReasonOf(err)
	r.m.reject(reason)
	var snap string
	if r.trk.starts(m.Partition, noTime) {
		snap = r.wm.Snapshot(m.Partition)
	}
	r.trk.add(m.Partition, m.Offset, noTime, snap)
	if r.stored.Reject(m.Partition, m.Offset) {
		return // stored by an earlier run
	}
	at := m.Time
	if at.IsZero() {
		at = now
	}
	b.AddReject(&schemas.Reject{
		Origin: schemas.Origin{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Received: at},
		Raw:    string(m.Value), Reason: reason, Error: err.Error(),
	})
}

// advanceIdle lets the watermark move when no messages arrive, so idle
// partitions stop holding windows open, and writes what closed.
func (r *Runner) advanceIdle(ctx context.Context, b *sink.Batch) {
	r.advance(r.opts.Now())
	if r.opts.Stage == Route {
		r.publish(ctx, false) // partitions gone silent, for the second stage
		return
	}
	if r.wmKnown {
		r.run(nil, b)
	}
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
		var callees *privacy.Pseudonyms
		if r.callees != nil {
			callees = r.callees[w]
		}
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				m := &msgs[i]
				c, err := d.Decode(m.Value, now)
				r.rejected[i] = err
				r.records[i] = engine.Record{CDR: c, Partition: m.Partition, Offset: m.Offset}
				if err != nil {
					continue
				}
				r.srcKeys[i] = eventtime.SourceKey(c.SwitchID)
				if r.opts.Stage == Route {
					continue // detection and storing are the second stage's
				}
				r.eng.Prepare(&r.records[i])
				if callees != nil {
					r.records[i].StoredCallee = callees.Of(c.Callee)
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
			r.store(b, rec)
		}
		for j := range o.Flags {
			b.AddFlag(&o.Flags[j])
		}
		for j := range o.Stats {
			b.AddStats(&o.Stats[j])
		}
		for j := range o.Groups {
			b.AddGroup(&o.Groups[j])
		}
		for j := range o.Days {
			b.AddDay(&o.Days[j])
		}
		r.m.Duplicates.Add(int64(o.Duplicates))
		r.m.Late.Add(int64(o.Late))
		r.m.Flags.Add(int64(len(o.Flags)))
		r.m.Stats.Add(int64(len(o.Stats)))
		r.m.GroupFlags.Add(int64(len(o.Groups)))
	}
}

// store adds rec to the cdrs rows of b, its callee as the pseudonym
// decoding made when pseudonyms are on, unless an earlier run stored it
// already (it is re-read to rebuild windows). Detection has read the
// number by now; the engine's record is left as it is.
func (r *Runner) store(b *sink.Batch, rec *engine.Record) {
	if r.stored.CDR(rec.Partition, rec.Offset) {
		r.m.Restored.Add(1)
		return
	}
	c := &rec.CDR
	if rec.StoredCallee != "" {
		cc := rec.CDR
		cc.Callee = rec.StoredCallee
		c = &cc
	}
	if r.opts.Stage == Detect {
		b.AddCDRVia(c, r.cfg.Kafka.Topic, rec.Input.Partition, rec.Input.Offset, r.opts.Internal, rec.Partition, rec.Offset)
		return
	}
	b.AddCDR(c, r.cfg.Kafka.Topic, rec.Partition, rec.Offset)
}

// final adds provisional stats for windows still open at the end of a
// bounded run, after the held records.
func (r *Runner) final(b *sink.Batch) {
	r.flushing = true
	r.run(nil, b)
	r.flushing = false
	r.collect(r.eng.Flush(), b)
}
