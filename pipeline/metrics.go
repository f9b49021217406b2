package pipeline

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
)

// Metrics are a run's counters and gauges, safe to read while it runs
// (for a /metrics endpoint). Names follow Prometheus conventions with the
// cdrpipe_ prefix; no phone number ever appears in them or their labels.
type Metrics struct {
	Records    atomic.Int64 // messages fetched and processed
	Valid      atomic.Int64 // decoded CDRs
	Rejects    atomic.Int64 // messages rejected to cdr_rejects
	Duplicates atomic.Int64 // re-sent CDRs dropped
	Late       atomic.Int64 // CDRs stored but too late to count
	Withheld   atomic.Int64 // valid CDRs whose caller withheld its caller ID
	Restored   atomic.Int64 // CDRs re-read after a restart that an earlier run stored
	Flags      atomic.Int64 // flag rows written
	Stats      atomic.Int64 // caller_stats rows written
	GroupFlags atomic.Int64 // flagged_trunks and range_flags rows written
	Written    atomic.Int64 // rows inserted into ClickHouse, all tables
	Commits    atomic.Int64 // offset commits

	FetchQueue   atomic.Int64 // messages fetched, waiting to be processed
	Watermark    atomic.Int64 // Unix seconds
	Callers      atomic.Int64 // callers with state
	HeavyCallers atomic.Int64 // callers with full window state

	// Sink counters, read from the sink when exposed (nil: none).
	Retries     *atomic.Int64
	Quarantined *atomic.Int64

	// rejectsBy counts rejects per reason, in reasonLabels order.
	rejectsBy [maxReasons]atomic.Int64

	mu    sync.Mutex
	skews []eventtime.Skew // sources whose clocks are off, as last reported
}

// reasonLabels are the reason label values of the rejects counter: the
// decoder's reason codes, then "other" for anything else.
var reasonLabels = append(slices.Clone(decode.Reasons), "other")

// maxReasons bounds the reason labels a Metrics value has room for.
const maxReasons = 32

func init() {
	if len(reasonLabels) > maxReasons {
		panic("BUG: more reject reasons than Metrics.rejectsBy holds")
	}
}

// reject counts one rejected message of reason.
func (m *Metrics) reject(reason string) {
	m.Rejects.Add(1)
	i := slices.Index(reasonLabels, reason)
	if i < 0 {
		i = len(reasonLabels) - 1
	}
	m.rejectsBy[i].Add(1)
}

// RejectsBy returns the rejects counted for reason.
func (m *Metrics) RejectsBy(reason string) int64 {
	if i := slices.Index(reasonLabels, reason); i >= 0 {
		return m.rejectsBy[i].Load()
	}
	return 0
}

// setSkews records the sources whose clocks are off.
func (m *Metrics) setSkews(s []eventtime.Skew) {
	m.mu.Lock()
	m.skews = slices.Clone(s)
	m.mu.Unlock()
}

// Skews returns the sources whose clocks were last found off.
func (m *Metrics) Skews() []eventtime.Skew {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.skews)
}

// metric describes one exposed value.
type metric struct {
	name, kind, help string
	v                *atomic.Int64
}

func (m *Metrics) list() []metric {
	out := []metric{
		{"cdrpipe_records_total", "counter", "Kafka messages processed.", &m.Records},
		{"cdrpipe_cdrs_valid_total", "counter", "Messages decoded into valid CDRs.", &m.Valid},
		{"cdrpipe_duplicates_total", "counter", "Re-sent CDRs dropped.", &m.Duplicates},
		{"cdrpipe_late_total", "counter", "CDRs stored but older than their partition's progress minus the allowed lateness, not counted by detectors.", &m.Late},
		{"cdrpipe_withheld_total", "counter", "Valid CDRs whose caller withheld its caller ID (stored; counted for the caller only when a number came with it).", &m.Withheld},
		{"cdrpipe_reread_stored_total", "counter", "CDRs re-read to rebuild windows after a restart or a rebalance, already stored by an earlier run and not stored again.", &m.Restored},
		{"cdrpipe_flags_total", "counter", "Rows written to flags (flagged_numbers).", &m.Flags},
		{"cdrpipe_group_flags_total", "counter", "Rows written to flagged_trunks and range_flags (trunks and number blocks).", &m.GroupFlags},
		{"cdrpipe_caller_stats_total", "counter", "Rows written to window_stats (caller_stats).", &m.Stats},
		{"cdrpipe_clickhouse_rows_written_total", "counter", "Rows inserted into ClickHouse, all tables.", &m.Written},
		{"cdrpipe_offset_commits_total", "counter", "Offset commits after durable writes.", &m.Commits},
		{"cdrpipe_fetch_queue_messages", "gauge", "Messages fetched and waiting to be processed; at engine.queue_size times 512 fetching pauses.", &m.FetchQueue},
		{"cdrpipe_watermark_seconds", "gauge", "Event-time watermark, Unix seconds.", &m.Watermark},
		{"cdrpipe_callers", "gauge", "Callers the engine holds state for.", &m.Callers},
		{"cdrpipe_heavy_callers", "gauge", "Callers with full window state.", &m.HeavyCallers},
	}
	if m.Retries != nil {
		out = append(out, metric{"cdrpipe_clickhouse_retries_total", "counter", "Failed ClickHouse inserts retried (transient errors).", m.Retries})
	}
	if m.Quarantined != nil {
		out = append(out, metric{"cdrpipe_quarantined_rows_total", "counter", "Rows ClickHouse refused for good, kept in the quarantine table.", m.Quarantined})
	}
	return out
}

// labelEscaper escapes a label value as the text format wants.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// maxSkewSeries bounds the per-source series exposed, whatever the
// input sends as switch ids.
const maxSkewSeries = 64

// WriteText writes the metrics in the Prometheus text format.
func (m *Metrics) WriteText(w io.Writer) error {
	for _, x := range m.list() {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", x.name, x.help, x.name, x.kind, x.name, x.v.Load()); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprint(w, "# HELP cdrpipe_rejects_total Messages rejected to cdr_rejects, by reason.\n# TYPE cdrpipe_rejects_total counter\n"); err != nil {
		return err
	}
	for i, reason := range reasonLabels {
		if _, err := fmt.Fprintf(w, "cdrpipe_rejects_total{reason=%q} %d\n", reason, m.rejectsBy[i].Load()); err != nil {
			return err
		}
	}
	skews := m.Skews()
	if _, err := fmt.Fprintf(w, "# HELP cdrpipe_skewed_sources Sources (switches) whose clocks differ from the others' by window.report_skew or more.\n"+
		"# TYPE cdrpipe_skewed_sources gauge\ncdrpipe_skewed_sources %d\n", len(skews)); err != nil {
		return err
	}
	if _, err := fmt.Fprint(w, "# HELP cdrpipe_source_clock_offset_seconds How far ahead of the other sources a skewed source's records start (negative: behind).\n"+
		"# TYPE cdrpipe_source_clock_offset_seconds gauge\n"); err != nil {
		return err
	}
	for _, s := range skews[:min(len(skews), maxSkewSeries)] {
		if _, err := fmt.Fprintf(w, "cdrpipe_source_clock_offset_seconds{source=\"%s\"} %s\n",
			labelEscaper.Replace(s.Source), strconv.FormatFloat(s.Offset.Seconds(), 'f', -1, 64)); err != nil {
			return err
		}
	}
	return nil
}
