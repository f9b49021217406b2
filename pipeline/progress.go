package pipeline

import (
	"time"
)

// What a running pipeline tells the operator: gauges, a progress line
// every ten seconds, and switches whose clocks are off.

// progressEvery is how often a running pipeline logs its counters.
const progressEvery = 10 * time.Second

// gauges updates the metrics that describe the present.
func (r *Runner) gauges(queued int) {
	if r.opts.Stage == Route {
		r.m.FetchQueue.Store(int64(queued))
		return // the second stage's gauges
	}
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
	if r.opts.Stage == Detect {
		return // the first stage judges the switches' clocks
	}
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
