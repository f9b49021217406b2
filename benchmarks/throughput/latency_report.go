package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// latencyResult is everything the latency mode measured.
type latencyResult struct {
	machine  machine
	f        *latencyFlags
	settings settings
	load     loadResult

	seen          []time.Time     // per abuser, when visible; zero if never
	latencies     []time.Duration // visible - produced, of the abusers seen
	othersFlagged int             // numbers flagged fan_out that were not planted
	polls         []time.Duration

	records  int64 // cdrpipe_records_total, warm-up included
	commits  int64 // cdrpipe_offset_commits_total: one per insert cycle
	usage    usage
	stopTook time.Duration
	summary  string
}

// latencyKeys are the settings that decide how soon a flag is visible.
var latencyKeys = []string{"kafka.max_wait", "sink.flush_interval", "sink.batch_size", "engine.shards", "detectors.fan_out.min_callees"}

// settingsText names the latency-relevant settings the child ran with.
func (r latencyResult) settingsText(sep string) string {
	parts := make([]string, 0, len(latencyKeys))
	for _, k := range latencyKeys {
		parts = append(parts, k+"="+r.settings[k])
	}
	return strings.Join(parts, sep)
}

// passedText lists the --set values, or says there were none.
func (r latencyResult) passedText() string {
	if len(r.f.sets) == 0 {
		return "defaults (no --set)"
	}
	return "--set " + strings.Join(r.f.sets, " --set ")
}

// print writes the results for a reader.
func (r latencyResult) print(w io.Writer) {
	ld := r.load
	fmt.Fprintf(w, "machine: %s, %s\n", r.machine, r.machine.Date.Format(time.RFC3339))
	fmt.Fprintf(w, "cdrpipe settings (from `cdrpipe config` with the child's environment): %s; %s\n", r.settingsText(", "), r.passedText())
	fmt.Fprintf(w, "produce: %s CDRs in %s: %s CDR/s (target %s); WriteMessages p50 %s, p99 %s, max %s over %d calls\n",
		thousands(ld.sent), ld.elapsed.Round(time.Millisecond), rate(perSecond(ld.sent, ld.elapsed)), thousands(int64(r.f.rate)),
		ms(percentile(ld.writes, 50)), ms(percentile(ld.writes, 99)), ms(percentile(ld.writes, 100)), len(ld.writes))
	fmt.Fprintf(w, "abusers: %d planted, %d seen, %d missed; numbers flagged fan_out that were not planted: %d\n",
		len(r.seen), len(r.latencies), len(r.seen)-len(r.latencies), r.othersFlagged)
	fmt.Fprintf(w, "latency to visible in flagged_numbers: p50 %s, p99 %s, max %s, min %s\n",
		ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 99)), ms(percentile(r.latencies, 100)), ms(percentile(r.latencies, 0.001)))
	fmt.Fprintf(w, "  produced = just before the WriteMessages call carrying the crossing CDR began; visible = when the %s poll that first returned the number came back (%d polls, query p50 %s, max %s)\n",
		pollEvery, len(r.polls), ms(percentile(r.polls, 50)), ms(percentile(r.polls, 100)))
	fmt.Fprintf(w, "cdrpipe: consumed %s of %s CDRs (%s warm-up included); %d offset commits, one per insert cycle\n",
		thousands(r.records), thousands(ld.sent+warmUpCDRs), thousands(warmUpCDRs), r.commits)
	fmt.Fprintf(w, "cdrpipe: exited 0 %s after SIGTERM; peak RSS %s MiB; CPU %s (%s s per M CDRs)\n",
		r.stopTook.Round(time.Millisecond), mib(r.usage.MaxRSS), r.usage.CPU.Round(time.Millisecond), cpuPerMillion(r.usage.CPU, r.records))
	if r.summary != "" {
		fmt.Fprintf(w, "cdrpipe summary: %s\n", r.summary)
	}
}

// table is the markdown row of this run.
func (r latencyResult) table() table {
	ld := r.load
	return table{
		header: []string{"date", "target CDR/s", "achieved CDR/s", "duration s", "abusers seen/planted",
			"p50", "p99", "max", "cdrpipe settings", "cdrpipe peak RSS MiB", "cdrpipe CPU s per M CDRs", "machine"},
		row: []string{r.machine.Date.Format("2006-01-02 15:04"), thousands(int64(r.f.rate)), rate(perSecond(ld.sent, ld.elapsed)),
			fmt.Sprintf("%.0f", r.f.duration.Seconds()), fmt.Sprintf("%d/%d", len(r.latencies), len(r.seen)),
			ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 99)), ms(percentile(r.latencies, 100)),
			r.settingsText(", ") + "; " + r.passedText(), mib(r.usage.MaxRSS), cpuPerMillion(r.usage.CPU, r.records), r.machine.String()},
	}
}
