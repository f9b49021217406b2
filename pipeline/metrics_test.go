package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
)

func TestMetricsText(t *testing.T) {
	var m Metrics
	m.Records.Add(12)
	m.reject(decode.ReasonBadTime)
	m.reject(decode.ReasonBadTime)
	m.reject("something new")
	m.Watermark.Store(1795935603)
	m.setSkews([]eventtime.Skew{{Source: "SW-07", Offset: 3 * time.Minute}, {Source: `odd"id`, Offset: -90 * time.Second}})
	var b strings.Builder
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE cdrpipe_records_total counter\ncdrpipe_records_total 12\n",
		"cdrpipe_rejects_total{reason=\"bad_time\"} 2\n",
		"cdrpipe_rejects_total{reason=\"broken_json\"} 0\n",
		"cdrpipe_rejects_total{reason=\"other\"} 1\n",
		"# TYPE cdrpipe_watermark_seconds gauge\ncdrpipe_watermark_seconds 1795935603\n",
		"cdrpipe_skewed_sources 2\n",
		"cdrpipe_source_clock_offset_seconds{source=\"SW-07\"} 180\n",
		"cdrpipe_source_clock_offset_seconds{source=\"odd\\\"id\"} -90\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
	if m.Rejects.Load() != 3 || m.RejectsBy(decode.ReasonBadTime) != 2 {
		t.Errorf("rejects %d, bad_time %d; want 3 and 2", m.Rejects.Load(), m.RejectsBy(decode.ReasonBadTime))
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if !strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "cdrpipe_") {
			t.Errorf("line without the cdrpipe_ prefix: %q", line)
		}
	}
	for _, r := range decode.Reasons {
		if !strings.Contains(b.String(), `reason="`+r+`"`) {
			t.Errorf("reason %s has no series", r)
		}
	}
}
