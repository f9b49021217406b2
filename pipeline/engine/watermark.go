package engine

import (
	"time"
)

// frontierRank is how many of a partition's latest event times are
// ignored when computing its frontier: the frontier is the rank-th
// largest start time seen, so fewer than rank outliers dated in the future
// cannot drag the watermark forward for everyone.
const frontierRank = 8

// partitionClock tracks one partition's event-time progress.
type partitionClock struct {
	// top holds the largest start times seen, ascending, in Unix seconds.
	top      [frontierRank]int64
	n        int
	lastSeen time.Time
	done     bool
}

// observe records an event time.
func (p *partitionClock) observe(sec int64) {
	if p.n < frontierRank {
		i := p.n
		for i > 0 && p.top[i-1] > sec {
			p.top[i] = p.top[i-1]
			i--
		}
		p.top[i] = sec
		p.n++
		return
	}
	if sec <= p.top[0] {
		return
	}
	i := 0
	for i+1 < frontierRank && p.top[i+1] < sec {
		p.top[i] = p.top[i+1]
		i++
	}
	p.top[i] = sec
}

// frontier is the partition's event-time progress, in Unix seconds; ok is
// false until enough records were seen to trust it.
func (p *partitionClock) frontier() (sec int64, ok bool) {
	if p.n < frontierRank {
		return 0, false
	}
	return p.top[0], true
}

// Watermark tracks event-time progress across partitions. The watermark
// is the slowest active partition's frontier minus the allowed lateness;
// records older than it are late. It never moves backwards.
type Watermark struct {
	lateness time.Duration
	idle     time.Duration
	parts    map[int]*partitionClock
	current  int64 // Unix seconds; math.MinInt64 until known
	known    bool
}

// NewWatermark returns a watermark allowing lateness, where a partition
// silent for idle stops holding it back.
func NewWatermark(lateness, idle time.Duration) *Watermark {
	return &Watermark{lateness: lateness, idle: idle, parts: make(map[int]*partitionClock)}
}

// Observe records that partition delivered a record with event time t at
// wall-clock time now.
func (w *Watermark) Observe(partition int, t time.Time, now time.Time) {
	p := w.parts[partition]
	if p == nil {
		p = &partitionClock{}
		w.parts[partition] = p
	}
	p.observe(t.Unix())
	p.lastSeen = now
}

// Expect registers partitions that hold the watermark back from now on,
// even before they deliver anything, until they finish or stay silent
// for the idle timeout. Without this, a partition read early and fast
// would make every record of the others late.
func (w *Watermark) Expect(partitions []int, now time.Time) {
	for _, p := range partitions {
		if w.parts[p] == nil {
			w.parts[p] = &partitionClock{lastSeen: now}
		}
	}
}

// Frontier returns partition's progress (Unix seconds), which outliers
// dated in the future cannot move; ok is false until it is known.
func (w *Watermark) Frontier(partition int) (sec int64, ok bool) {
	if p := w.parts[partition]; p != nil {
		return p.frontier()
	}
	return 0, false
}

// Done marks a partition as finished (caught up), so it no longer holds
// the watermark back.
func (w *Watermark) Done(partition int) {
	if p := w.parts[partition]; p != nil {
		p.done = true
	}
}

// Advance recomputes the watermark at wall-clock time now and returns it.
// ok is false while no partition has a trusted frontier.
func (w *Watermark) Advance(now time.Time) (time.Time, bool) {
	var low int64
	found := false
	var fallback int64
	haveFallback := false
	for _, p := range w.parts {
		active := !p.done && now.Sub(p.lastSeen) <= w.idle
		f, ok := p.frontier()
		if !ok {
			if active {
				// An active partition whose progress is not known yet
				// holds everything back.
				return time.Unix(w.current, 0).UTC(), w.known
			}
			continue
		}
		if !haveFallback || f > fallback {
			fallback, haveFallback = f, true
		}
		if !active {
			continue
		}
		if !found || f < low {
			low, found = f, true
		}
	}
	if !found && haveFallback {
		// Every partition is idle or done: the furthest one decides.
		low, found = fallback, true
	}
	if found {
		wm := low - int64(w.lateness/time.Second)
		if !w.known || wm > w.current {
			w.current, w.known = wm, true
		}
	}
	return time.Unix(w.current, 0).UTC(), w.known
}
