// Package eventtime tracks how far event time has progressed: per source
// (switch) within each Kafka partition, per partition, and across them.
// It decides which records are late and when windows may close, and it
// notices switches whose clocks are off.
//
// Lateness is decided per record against its own partition's progress
// as it stood before that record, and that progress is computed from the
// partition's own records only, so whether a record is late depends on
// the partition's order (which Kafka fixes), not on how partitions
// interleave or how fetches are cut. Windows close on the watermark: the
// slowest partition's progress minus the allowed lateness.
package eventtime

import (
	"time"

	"github.com/cdrpipe/cdrpipe/config"
)

// Settings are what the watermark needs from the configuration.
type Settings struct {
	// Lateness is how far behind its partition's progress a record may
	// start and still count.
	Lateness time.Duration
	// Idle is how long a partition may stay silent (wall clock) before
	// it stops holding the watermark back.
	Idle time.Duration
	// MaxSourceLag is how far a source may fall behind the others of its
	// partition and still hold the partition back.
	MaxSourceLag time.Duration
	// ReportSkew is the clock offset from which a source is reported.
	ReportSkew time.Duration
}

// SettingsFrom takes the settings from the configuration.
func SettingsFrom(w config.Window) Settings {
	return Settings{Lateness: w.AllowedLateness, Idle: w.IdlePartition, MaxSourceLag: w.MaxSourceLag, ReportSkew: w.ReportSkew}
}

// Watermark tracks event-time progress across partitions and sources.
// It is used by one goroutine.
type Watermark struct {
	set      Settings
	lateness int64 // seconds
	maxLag   int64
	parts    []*partition // by partition id; nil for ids not seen
	current  int64        // Unix seconds
	known    bool
	scratch  []int64
}

// New returns a watermark with the given settings.
func New(s Settings) *Watermark {
	return &Watermark{set: s, lateness: seconds(s.Lateness), maxLag: seconds(s.MaxSourceLag)}
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// part returns partition p's state, creating it. Partition ids are small
// and dense (0 to N-1), so they index a slice.
func (w *Watermark) part(p int) *partition {
	if p < len(w.parts) {
		if pc := w.parts[p]; pc != nil {
			return pc
		}
	}
	for len(w.parts) <= p {
		w.parts = append(w.parts, nil)
	}
	pc := newPartition()
	w.parts[p] = pc
	return pc
}

// get returns partition p's state, or nil.
func (w *Watermark) get(p int) *partition {
	if p >= 0 && p < len(w.parts) {
		return w.parts[p]
	}
	return nil
}

// SourceKey is the key Observe finds a source by: a hash of its switch
// id, computed where records are decoded (in parallel), so the run loop,
// which observes every record in turn, does not hash strings.
func SourceKey(switchID string) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(switchID); i++ {
		h = (h ^ uint64(switchID[i])) * 1099511628211
	}
	return h
}

// Observe takes one record of partition from source src (its switch id,
// "" when it has none; key is SourceKey(src)) starting at t, received at
// wall-clock time now. Records of one partition must be observed in the
// partition's order. It reports whether the record is late: older than
// the partition's progress before it, minus the allowed lateness.
func (w *Watermark) Observe(partition int, key uint64, src string, t time.Time, now time.Time) (late bool) {
	pc := w.part(partition)
	sec := t.Unix()
	late = pc.known && sec < pc.frontier-w.lateness
	pc.observeTop(sec)
	s, fresh := pc.source(key, src)
	moved := s.observe(sec)
	if pc.known && pc.current >= 3 {
		s.sample(pc.lead(sec))
	}
	pc.lastSeenUnix = now.UnixNano()
	switch pc.since++; {
	case fresh || !pc.known || pc.since >= medianEvery:
		w.scratch = pc.recompute(w.maxLag, w.scratch)
	case moved:
		pc.moved(s, w.maxLag)
	}
	pc.advance(now.Unix())
	return late
}

// Expect registers partitions that hold the watermark back from now on,
// even before they deliver anything, until they finish or stay silent
// for the idle timeout. Without this, a partition read early and fast
// would make the others' records wait on nothing and close their windows
// before they were read.
func (w *Watermark) Expect(partitions []int, now time.Time) {
	for _, p := range partitions {
		// A partition restored from a commit has progress but was not
		// seen by this process yet: it counts as active from now too.
		if pc := w.part(p); pc.lastSeenUnix == 0 {
			pc.lastSeenUnix = now.UnixNano()
		}
	}
}

// Frontier returns partition's progress (Unix seconds), which outliers
// dated in the future cannot move; ok is false until it is known.
func (w *Watermark) Frontier(partition int) (sec int64, ok bool) {
	if p := w.get(partition); p != nil && p.known {
		return p.frontier, true
	}
	return 0, false
}

// Floor returns the slowest known partition's progress less the allowed
// lateness: the watermark once every partition's progress is known, a
// lower bound of the records still to come before; ok is false while no
// partition's progress is known.
func (w *Watermark) Floor() (sec int64, ok bool) {
	for _, p := range w.parts {
		if p != nil && p.known && !p.done && (!ok || p.frontier-w.lateness < sec) {
			sec, ok = p.frontier-w.lateness, true
		}
	}
	return sec, ok
}

// Done marks a partition as finished (caught up), so it no longer holds
// the watermark back.
func (w *Watermark) Done(partition int) {
	if p := w.get(partition); p != nil {
		p.done = true
	}
}

// Released reports whether partition no longer holds the watermark
// back at wall-clock time now: finished (Done), or silent for longer than
// the idle timeout.
func (w *Watermark) Released(partition int, now time.Time) (idle, done bool) {
	p := w.get(partition)
	if p == nil {
		return false, false
	}
	return !p.done && now.UnixNano()-p.lastSeenUnix > int64(w.set.Idle), p.done
}

// Advance recomputes the watermark at wall-clock time now and returns it:
// the slowest active partition's progress minus the allowed lateness. It
// never moves back; ok is false while no partition's progress is known.
func (w *Watermark) Advance(now time.Time) (time.Time, bool) {
	var low, fallback int64
	found, haveFallback := false, false
	for _, p := range w.parts {
		if p == nil {
			continue
		}
		active := !p.done && now.UnixNano()-p.lastSeenUnix <= int64(w.set.Idle)
		if !p.known {
			if active {
				// An active partition whose progress is not known yet
				// holds everything back.
				return time.Unix(w.current, 0).UTC(), w.known
			}
			continue
		}
		if !haveFallback || p.frontier > fallback {
			fallback, haveFallback = p.frontier, true
		}
		if active && (!found || p.frontier < low) {
			low, found = p.frontier, true
		}
	}
	if !found && haveFallback {
		// Every partition is idle or done: the furthest one decides.
		low, found = fallback, true
	}
	if found {
		if wm := low - w.lateness; !w.known || wm > w.current {
			w.current, w.known = wm, true
		}
	}
	return time.Unix(w.current, 0).UTC(), w.known
}
