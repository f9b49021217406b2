package pipeline

import (
	"fmt"
	"io"
	"sync/atomic"
)

// Metrics are a run's counters and gauges, safe to read while it runs
// (for a /metrics endpoint). Names follow Prometheus conventions with the
// cdrpipe_ prefix; no phone number ever appears in them.
type Metrics struct {
	Records    atomic.Int64 // messages fetched and processed
	Valid      atomic.Int64 // decoded CDRs
	Rejects    atomic.Int64 // messages rejected to cdr_rejects
	Duplicates atomic.Int64 // re-sent CDRs dropped
	Late       atomic.Int64 // CDRs stored but too late to count
	Flags      atomic.Int64 // flag rows written
	Stats      atomic.Int64 // caller_stats rows written
	Written    atomic.Int64 // rows inserted into ClickHouse, all tables
	Commits    atomic.Int64 // offset commits

	FetchQueue   atomic.Int64 // messages fetched, waiting to be processed
	Watermark    atomic.Int64 // Unix seconds
	Callers      atomic.Int64 // callers with state
	HeavyCallers atomic.Int64 // callers with full window state
}

// metric describes one exposed value.
type metric struct {
	name, kind, help string
	v                *atomic.Int64
}

func (m *Metrics) list() []metric {
	return []metric{
		{"cdrpipe_records_total", "counter", "Kafka messages processed.", &m.Records},
		{"cdrpipe_cdrs_valid_total", "counter", "Messages decoded into valid CDRs.", &m.Valid},
		{"cdrpipe_rejects_total", "counter", "Messages rejected to cdr_rejects.", &m.Rejects},
		{"cdrpipe_duplicates_total", "counter", "Re-sent CDRs dropped.", &m.Duplicates},
		{"cdrpipe_late_total", "counter", "CDRs stored but older than the watermark, not counted by detectors.", &m.Late},
		{"cdrpipe_flags_total", "counter", "Rows written to flagged_numbers.", &m.Flags},
		{"cdrpipe_caller_stats_total", "counter", "Rows written to caller_stats.", &m.Stats},
		{"cdrpipe_clickhouse_rows_written_total", "counter", "Rows inserted into ClickHouse, all tables.", &m.Written},
		{"cdrpipe_offset_commits_total", "counter", "Offset commits after durable writes.", &m.Commits},
		{"cdrpipe_fetch_queue_messages", "gauge", "Messages fetched and waiting to be processed; at engine.queue_size times 512 fetching pauses.", &m.FetchQueue},
		{"cdrpipe_watermark_seconds", "gauge", "Event-time watermark, Unix seconds.", &m.Watermark},
		{"cdrpipe_callers", "gauge", "Callers the engine holds state for.", &m.Callers},
		{"cdrpipe_heavy_callers", "gauge", "Callers with full window state.", &m.HeavyCallers},
	}
}

// WriteText writes the metrics in the Prometheus text format.
func (m *Metrics) WriteText(w io.Writer) error {
	for _, x := range m.list() {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", x.name, x.help, x.name, x.kind, x.name, x.v.Load()); err != nil {
			return err
		}
	}
	return nil
}
