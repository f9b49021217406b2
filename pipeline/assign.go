package pipeline

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
	"github.com/cdrpipe/cdrpipe/pipeline/repartition"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Assignments: each time the group assigns partitions, the runner either
// carries on where it was (the same partitions came back and nobody
// committed them meanwhile) or starts afresh: an empty engine, and every
// partition read again from its committed offset with the event-time
// progress committed with it, which rebuilds exactly the windows that
// were open there.

// reset empties the engine, the watermark and the commit tracker.
func (r *Runner) reset() error {
	eng, err := engine.New(engine.Config{Window: r.cfg.Window, Detectors: r.cfg.Detectors, Stats: r.cfg.Stats,
		Engine: r.cfg.Engine, Numbering: r.cfg.Numbering, Verdict: r.cfg.Verdict()})
	if err != nil {
		return err
	}
	r.eng = eng
	if r.opts.Stage == Detect {
		r.et, r.prog = nil, repartition.NewProgress(r.cfg.Window.AllowedLateness)
		r.wm = r.prog
	} else {
		r.et, r.prog = eventtime.New(eventtime.SettingsFrom(r.cfg.Window)), nil
		r.wm = r.et
	}
	r.trk = newTracker()
	r.wmNow, r.wmKnown = time.Time{}, false
	r.applied, r.appliedKnown = time.Time{}, false
	r.owned = nil
	r.held, r.heldSorted = r.held[:0], 0
	r.startKnown = false
	return nil
}

// begin takes over assignment a and starts its readers, which fill q.
func (r *Runner) begin(ctx context.Context, a *source.Assignment, q *queue) error {
	starts := a.Partitions()
	parts := make([]int, 0, len(starts))
	for _, st := range starts {
		parts = append(parts, st.Partition)
	}
	slices.Sort(parts)
	from := make(map[int]int64, len(starts))
	if r.carriesOn(starts, parts) {
		for _, p := range parts {
			from[p] = r.trk.processed(p)
		}
		r.log.Info("assignment: the same partitions back, carrying on", "partitions", parts)
	} else {
		if err := r.reset(); err != nil {
			return err
		}
		r.owned = parts
		for _, st := range starts {
			from[st.Partition] = kafka.FirstOffset
			if st.Offset >= 0 {
				from[st.Partition] = st.Offset
			}
			if err := r.wm.Restore(st.Partition, st.Metadata); err != nil {
				r.log.Warn("saved event-time progress unreadable; the partition's first records decide it afresh", "partition", st.Partition, "err", err)
			}
		}
		r.wm.Expect(parts, r.opts.Now())
		if r.sink != nil {
			var err error
			if r.stored, err = r.sink.Stored(ctx, r.readTopic(), parts); err != nil {
				return err
			}
		}
		if err := r.restoreDays(ctx, parts); err != nil {
			return err
		}
		r.log.Info("assignment: reading from the committed offsets", "partitions", parts, "from", from)
	}
	for _, p := range parts {
		if end, ok := r.ends[p]; ok && from[p] >= end {
			r.wm.Done(p) // nothing to read in a bounded run
		}
	}
	r.from = from
	if r.opts.Stage == Detect {
		r.ends = nil // read for this assignment's partitions (detectEnds)
	}
	a.Read(from, q.put)
	return nil
}

// carriesOn reports whether the runner can keep its state for a new
// assignment: the same partitions, each committed last by this runner
// (nobody else read them meanwhile).
func (r *Runner) carriesOn(starts []source.Start, parts []int) bool {
	if r.owned == nil || !slices.Equal(r.owned, parts) {
		return false
	}
	for _, st := range starts {
		c, ok := r.committed[st.Partition]
		if !ok || c.Offset != st.Offset || c.Metadata != st.Metadata || r.trk.processed(st.Partition) < 0 {
			return false
		}
	}
	return true
}

// owns reports whether partition p is in the current assignment.
func (r *Runner) owns(p int) bool {
	_, ok := slices.BinarySearch(r.owned, p)
	return ok
}

// caughtUp reports whether every partition of the assignment was read to
// where a bounded run ends; finished partitions stop holding the
// watermark back.
func (r *Runner) caughtUp() bool {
	if r.opts.Stage == Detect && (!r.prog.AllDone() || r.ends == nil) {
		return false // ends are read once every input partition is done
	}
	all := true
	for _, p := range r.owned {
		end, ok := r.ends[p]
		if !ok || end == 0 || max(r.trk.processed(p), r.from[p]) >= end {
			r.wm.Done(p)
			continue
		}
		all = false
	}
	return all
}

// aheadBuckets is how far, in slides, a partition may lead the watermark
// and still be read: the engine keeps this much room ahead of the
// windows it must keep (params.ring).
const aheadBuckets = 3

// eligible reports whether the run loop may take partition p's messages
// now: not while its progress leads the reference (the watermark, or
// before it is known the slowest known partition) by more than
// aheadBuckets slides; its reader waits meanwhile. The partition that
// holds the watermark back is never that far ahead, so reading always
// goes on.
func (r *Runner) eligible(p int) bool {
	ref, ok := r.reference()
	if !ok {
		return true
	}
	f, known := r.wm.Frontier(p)
	return !known || f <= ref+aheadBuckets*int64(r.cfg.Window.Slide/time.Second)
}

// reference is the event time (Unix seconds) that reading follows: the
// watermark the engine runs at, or before it is known (some partition's
// progress is not), the progress of the first partition whose progress
// became known, less the allowed lateness.
func (r *Runner) reference() (int64, bool) {
	if r.wmKnown {
		return r.wmNow.Unix(), true
	}
	if !r.startKnown {
		r.startFloor, r.startKnown = r.wm.Floor()
	}
	return r.startFloor, r.startKnown
}

// snapshot returns partition p's event-time progress for a commit.
func (r *Runner) snapshot(p int) string { return r.wm.Snapshot(p) }

// readTopic is the topic the runner reads: the carriers', or the
// internal one in the second stage.
func (r *Runner) readTopic() string {
	if r.opts.Stage == Detect {
		return r.opts.Internal
	}
	return r.cfg.Kafka.Topic
}

// detectEnds reads, once the second stage has every input partition's
// end in the marks, where its internal partitions end: whatever was
// written before the marks is read to there. Anything written later is a
// copy written again by a first stage that re-read after a restart, a
// duplicate.
func (r *Runner) detectEnds(ctx context.Context) {
	if r.opts.Stage != Detect || !r.opts.UntilCaughtUp || r.ends != nil || !r.prog.AllDone() {
		return
	}
	ends, err := r.src.EndOffsets(ctx, r.owned)
	if err != nil {
		r.log.Warn("read the internal partitions' ends; trying again", "err", err)
		return
	}
	r.ends = ends
}

// restoreDays gives the fresh engine what earlier runs added to the days
// still open (the day-long window), for the callers of parts: those of
// their internal partitions in the second of two stages; in one stage,
// all of them when parts is the whole topic, none otherwise.
func (r *Runner) restoreDays(ctx context.Context, parts []int) error {
	if r.opts.Stage == Route || !r.eng.DaysOn() {
		return nil
	}
	read := r.opts.Days
	if read == nil && r.sink != nil {
		read = r.sink.Days
	}
	floor, ok := r.wm.Floor()
	if read == nil || !ok {
		return nil // nothing read before, or nowhere to read it from
	}
	rows, err := read(ctx, time.Unix(floor, 0))
	if err != nil {
		return err
	}
	if r.src != nil {
		all, err := r.src.Partitions(ctx)
		if err != nil {
			return fmt.Errorf("restore days: %w", err)
		}
		switch {
		case r.opts.Stage == Detect:
			rows = slices.DeleteFunc(rows, func(d schemas.DayWindow) bool {
				_, mine := slices.BinarySearch(parts, repartition.PartitionOf(d.Caller, len(all)))
				return !mine
			})
		case len(parts) < len(all):
			// One stage cannot tell whose callers are whose: another
			// instance judging a day it holds part of would write other
			// rows for it.
			r.log.Warn("assignment: part of the topic in one stage; the days of the low-and-slow window start afresh (use two stages with several instances)",
				"partitions", parts)
			return nil
		}
	}
	r.eng.RestoreDays(rows)
	if len(rows) > 0 {
		r.log.Info("assignment: days of the low-and-slow window restored", "windows", len(rows))
	}
	return nil
}
