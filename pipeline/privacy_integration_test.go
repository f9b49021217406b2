package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/privacy"
)

// TestCalleesStoredAsPseudonyms runs with privacy.callee_key: every
// callee a person holds is stored as its keyed pseudonym, service numbers
// stay in clear, and detection, which reads the numbers before they are
// stored, flags the same caller, in clear, with the same distinct count.
func TestCalleesStoredAsPseudonyms(t *testing.T) {
	const key = "test-only-key-0123456789abcdef0123456789"
	start := time.Now().UTC().Truncate(time.Second).Add(-20 * time.Minute)
	var lines []string
	// A caller ringing 60 different numbers in ten minutes (fan_out), in
	// national form, and two calls to service numbers.
	for i := range 60 {
		lines = append(lines, fmt.Sprintf(`{"call_id":"f%d","caller":"+8613900000001","callee":"1380000%04d","start_time":%q,"duration":40,"disposition":"answered"}`,
			i, i, start.Add(time.Duration(i)*10*time.Second).Format(time.RFC3339)))
	}
	lines = append(lines,
		fmt.Sprintf(`{"call_id":"s1","caller":"+8613900000002","callee":"110","start_time":%q,"duration":40,"disposition":"answered"}`, start.Format(time.RFC3339)),
		fmt.Sprintf(`{"call_id":"s2","caller":"+8613900000002","callee":"4001234567","start_time":%q,"duration":40,"disposition":"answered"}`, start.Add(time.Minute).Format(time.RFC3339)))
	f := linesFixture(t, lines)
	cfg := f.cfg
	cfg.Privacy.CalleeKey = key
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := f.run(t, ctx, cfg, pipeline.Options{UntilCaughtUp: true}); err != nil {
		t.Fatal(err)
	}
	p := privacy.New(key, nil)
	f.check1(t, "SELECT callee FROM DB.cdrs FINAL WHERE call_key LIKE '%f7'", p.Of("+8613800000007"))
	f.check1(t, "SELECT count(), uniqExact(callee), countIf(callee LIKE 'hmac:%') FROM DB.cdrs FINAL WHERE caller = '+8613900000001'", "60 60 60")
	f.check1(t, "SELECT callee FROM DB.cdrs FINAL WHERE caller = '+8613900000002' ORDER BY callee", "+86110", "+864001234567")
	f.check1(t, "SELECT DISTINCT number FROM DB.flagged_numbers WHERE detector = 'fan_out'", "+8613900000001")
	f.check1(t, "SELECT max(distinct_callees) FROM DB.caller_stats WHERE caller = '+8613900000001'", "60")
}
