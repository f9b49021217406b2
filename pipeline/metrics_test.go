package pipeline

import (
	"strings"
	"testing"
)

func TestMetricsText(t *testing.T) {
	var m Metrics
	m.Records.Add(12)
	m.Rejects.Add(2)
	m.Watermark.Store(1795935603)
	var b strings.Builder
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE cdrpipe_records_total counter\ncdrpipe_records_total 12\n",
		"cdrpipe_rejects_total 2\n",
		"# TYPE cdrpipe_watermark_seconds gauge\ncdrpipe_watermark_seconds 1795935603\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if !strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "cdrpipe_") {
			t.Errorf("line without the cdrpipe_ prefix: %q", line)
		}
	}
}
