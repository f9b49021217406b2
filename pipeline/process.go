package pipeline

import (
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

// process decodes, counts and buffers one micro-batch.
func (r *Runner) process(msgs []kafka.Message, b *sink.Batch) {
	now := r.opts.Now()
	r.decode(msgs, now)
	r.m.Records.Add(int64(len(msgs)))

	recs := make([]*engine.Record, 0, len(msgs))
	var valid int64
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
		sec := rec.CDR.StartTime.Unix()
		if f, ok := r.wm.Frontier(m.Partition); ok {
			sec = min(sec, f+maxJump)
		}
		// A record that starts a commit segment takes the partition's
		// progress before it along, to be committed with its offset.
		var snap string
		if r.trk.starts(m.Partition, sec) {
			snap = r.wm.Snapshot(m.Partition)
		}
		r.trk.add(m.Partition, m.Offset, sec, snap)
		// Lateness is decided here, record by record in each partition's
		// order, against that partition's own progress: the same input
		// gives the same late records however partitions interleave.
		rec.Late = r.wm.Observe(m.Partition, r.srcKeys[i], rec.CDR.SwitchID, rec.CDR.StartTime, now)
		if rec.CDR.Withheld {
			r.m.Withheld.Add(1)
		}
		valid++
		if !r.wmKnown || rec.CDR.StartTime.Unix() >= r.eng.Horizon(r.wmNow) {
			// Too far ahead of the watermark for the engine's rings, or
			// read before the watermark is known: held until it catches
			// up (the run loop stops reading a partition that leads by
			// much, so few are). Its row is stored now, in offset order
			// with the partition's others, as Stored needs.
			if r.eng.Claim(rec, r.wmNow, r.wmKnown) {
				r.store(b, rec)
			} else {
				r.m.Duplicates.Add(1)
			}
			r.held = append(r.held, *rec)
			continue
		}
		recs = append(recs, rec)
	}
	r.m.Valid.Add(valid)
	// Windows close on the watermark from before this batch, which never
	// passes a partition's progress, so records on time for their
	// partition never fall in a closed window (unless their partition
	// was idle and released meanwhile: those are late too).
	r.run(recs, b)
	r.advance(now)
}

// advance moves the watermark the engine runs at: the partitions'
// progress, but never past a record held back, whose windows must stay
// open until the engine has it.
func (r *Runner) advance(now time.Time) {
	r.wmNow, r.wmKnown = r.wm.Advance(now)
	for i := range r.held {
		if t := r.held[i].CDR.StartTime; t.Before(r.wmNow) {
			r.wmNow = t.Truncate(time.Second)
		}
	}
}

// run runs the engine on recs at the current watermark, buffers what it
// writes, and lets commits pass the records it no longer needs: those it
// needs at the watermark it has applied, not at the one just computed,
// whose closed windows it writes only on the next run.
func (r *Runner) run(recs []*engine.Record, b *sink.Batch) {
	recs = r.unhold(recs, !r.flushing)
	r.collect(r.eng.Process(recs, r.wmNow, r.wmKnown), b)
	if r.wmKnown {
		r.trk.release(r.eng.Needs(r.wmNow))
	}
}

// unhold adds to recs the held records the engine can now take (all of
// them unless bounded), keeping the others held.
func (r *Runner) unhold(recs []*engine.Record, bounded bool) []*engine.Record {
	if len(r.held) == 0 {
		return recs
	}
	// The engine's outputs point into the records until they are
	// collected, so released ones move to a buffer of their own.
	if bounded && !r.wmKnown {
		return recs
	}
	r.released = r.released[:0]
	keep := r.held[:0]
	limit := r.eng.Horizon(r.wmNow)
	for _, h := range r.held {
		if bounded && h.CDR.StartTime.Unix() >= limit {
			keep = append(keep, h)
			continue
		}
		r.released = append(r.released, h)
	}
	r.held = keep
	for i := range r.released {
		recs = append(recs, &r.released[i])
	}
	return recs
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
func (r *Runner) advanceIdle(b *sink.Batch) {
	r.advance(r.opts.Now())
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
				if err == nil {
					r.eng.Prepare(&r.records[i])
					r.srcKeys[i] = eventtime.SourceKey(c.SwitchID)
					if callees != nil {
						r.records[i].StoredCallee = callees.Of(c.Callee)
					}
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
		r.m.Duplicates.Add(int64(o.Duplicates))
		r.m.Late.Add(int64(o.Late))
		r.m.Flags.Add(int64(len(o.Flags)))
		r.m.Stats.Add(int64(len(o.Stats)))
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
	topic := r.cfg.Kafka.Topic
	if rec.StoredCallee == "" {
		b.AddCDR(&rec.CDR, topic, rec.Partition, rec.Offset)
		return
	}
	c := rec.CDR
	c.Callee = rec.StoredCallee
	b.AddCDR(&c, topic, rec.Partition, rec.Offset)
}

// final adds provisional stats for windows still open at the end of a
// bounded run, after the held records.
func (r *Runner) final(b *sink.Batch) {
	r.flushing = true
	r.run(nil, b)
	r.flushing = false
	r.collect(r.eng.Flush(), b)
}
