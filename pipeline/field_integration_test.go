package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline"
)

// Tests of what switches in the field send, through the real broker and
// server: each record is written by hand in the form a switch writes.

// linesFixture puts lines on a fresh 4-partition topic and returns a
// fixture whose configuration reads it into a fresh database.
func linesFixture(t *testing.T, lines []string) *fixture {
	t.Helper()
	f := emptyFixture(t, "cdrpipe_field")
	f.produce(t, strings.NewReader(strings.Join(lines, "\n")+"\n"))
	return f
}

// query returns the rows of a query as strings, one per row, the columns
// joined by spaces.
func query(t *testing.T, f *fixture, q string) []string {
	t.Helper()
	conn := f.stack.ClickHouse(t)
	rows, err := conn.Query(context.Background(), strings.ReplaceAll(q, "DB.", f.cfg.ClickHouse.Database+"."))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	cols := rows.ColumnTypes()
	for rows.Next() {
		vals := make([]any, len(cols))
		for i, c := range cols {
			vals[i] = newOf(c.ScanType())
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			parts = append(parts, fmt.Sprint(deref(v)))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// TestSwitchesAsTheyWrite sends one of each quirk and checks what is
// stored: every real call once, at the right instant, with its numbers
// right; every reject counted by kind.
func TestSwitchesAsTheyWrite(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	beijing, _ := time.LoadLocation("Asia/Shanghai")
	newYork, _ := time.LoadLocation("America/New_York")
	local := func(at time.Time, loc *time.Location) string { return at.In(loc).Format("2006-01-02 15:04:05") }
	start := now.Add(-20 * time.Minute)
	// The quirks below come after the live traffic in each partition, so
	// they start near its end: earlier ones would be late.
	quirks := start.Add(14 * time.Minute)
	rfc := func(at time.Time) string { return at.Format(time.RFC3339Nano) }
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }

	// Live traffic from three switches in the same minutes: a UTC one, one
	// writing Beijing local time, one writing New York local time. Read as
	// UTC, Beijing's would be "in the future" and New York's late.
	for i := range 300 {
		at := start.Add(time.Duration(i) * 3 * time.Second)
		add(`{"call_id":"u%d","switch_id":"UTC-SW","caller":"+8613900%06d","callee":"+8613800%06d","start_time":%q,"duration":30,"disposition":"answered"}`, i, i, i, rfc(at))
		add(`{"call_id":"b%d","switch_id":"BJ-PBX","caller":"+8613901%06d","callee":"+8613800%06d","start_time":%q,"end_time":%q,"answer_time":%q}`,
			i, i, i, local(at, beijing), local(at.Add(40*time.Second), beijing), local(at.Add(5*time.Second), beijing))
		add(`{"call_id":"n%d","switch_id":"NY-GW","caller":"+1212555%04d","callee":"+8613800%06d","start_time":%q,"duration":12,"disposition":"answered"}`, i, i, i, local(at, newYork))
	}
	// Call id 100231 from two switches: two calls. SW-A re-sends its own.
	add(`{"call_id":"100231","switch_id":"SW-A","caller":"+8613911111111","callee":"+8613822222222","start_time":%q,"duration":5,"disposition":"answered"}`, rfc(quirks))
	add(`{"call_id":"100231","switch_id":"SW-B","caller":"+8613933333333","callee":"+8613844444444","start_time":%q,"duration":7,"disposition":"answered"}`, rfc(quirks.Add(time.Minute)))
	add(`{"call_id":"100231","switch_id":"SW-A","caller":"+8613911111111","callee":"+8613822222222","start_time":%q,"duration":5,"disposition":"answered"}`, rfc(quirks))
	// Milliseconds on the start, whole seconds on the end: "ends" 400 ms
	// before it starts.
	add(`{"call_id":"ms1","switch_id":"SW-MS","caller":"+8613955555555","callee":"+8613866666666","start_time":%q,"end_time":%q,"cause":34}`,
		rfc(quirks.Add(2*time.Minute+400*time.Millisecond)), rfc(quirks.Add(2*time.Minute)))
	// An international caller without prefix, marked by its nature of
	// address; withheld caller IDs with and without a number.
	add(`{"call_id":"intl1","switch_id":"GW","caller":"442079460000","caller_noa":"international","callee":"13877777777","callee_noa":"national","start_time":%q}`, rfc(quirks.Add(3*time.Minute)))
	add(`{"call_id":"anon1","switch_id":"GW","caller":"anonymous","callee":"+8613888888888","start_time":%q}`, rfc(quirks.Add(4*time.Minute)))
	add(`{"call_id":"clir1","switch_id":"GW","caller":"+8613999999999","caller_presentation":"restricted","callee":"+8613888888888","start_time":%q}`, rfc(quirks.Add(5*time.Minute)))
	// Rejects, two of each kind, with values that differ.
	for i := range 2 {
		add(`{"caller":"+86139%08d","callee":"+8613800000001","start_time":"yesterday %d"}`, i, i)
		add(`{"caller":"+86139%08d","callee":"+8613800000001"`, i)
		add(`{"caller":"+86139%08d","callee":"+8613800000001","start_time":%q,"end_time":%q}`, i, rfc(start), rfc(start.Add(-time.Duration(5+i)*time.Second)))
		add(`{"caller":"+86139%08d","callee":"not a number %d","start_time":%q}`, i, i, rfc(start))
	}
	f := linesFixture(t, lines)
	f.cfg.Input.SwitchZones = []string{"BJ-PBX=Asia/Shanghai", "NY-GW=America/New_York"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := f.run(t, ctx, f.cfg, pipeline.Options{UntilCaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run: %s", sum)
	const valid = 900 + 2 + 1 + 3
	if sum.Valid != valid+1 || sum.Duplicates != 1 || sum.Rejects != 8 || sum.Late != 0 || sum.Withheld != 2 {
		t.Errorf("valid %d duplicates %d rejects %d late %d withheld %d; want %d, 1, 8, 0, 2", sum.Valid, sum.Duplicates, sum.Rejects, sum.Late, sum.Withheld, valid+1)
	}
	f.check1(t, "SELECT count() FROM DB.cdrs", fmt.Sprint(valid))
	f.check1(t, "SELECT count() FROM DB.cdrs WHERE call_id = '100231'", "2")
	// Local times land at the instant they name.
	f.check1(t, "SELECT count() FROM DB.cdrs WHERE switch_id IN ('UTC-SW', 'BJ-PBX', 'NY-GW') GROUP BY start_time ORDER BY count() LIMIT 1", "3")
	f.check1(t, "SELECT toString(min(start_time)) FROM DB.cdrs WHERE switch_id = 'BJ-PBX'", start.Format(time.DateTime))
	f.check1(t, "SELECT sum(duration) FROM DB.cdrs WHERE switch_id = 'BJ-PBX'", fmt.Sprint(300*35))
	f.check1(t, "SELECT toString(end_time) FROM DB.cdrs WHERE call_id = 'ms1'", quirks.Add(2*time.Minute).Format(time.DateTime))
	f.check1(t, "SELECT caller, callee FROM DB.cdrs WHERE call_id = 'intl1'", "+442079460000 +8613877777777")
	f.check1(t, "SELECT caller, withheld FROM DB.cdrs WHERE call_id IN ('anon1', 'clir1') ORDER BY call_id", " 1", "+8613999999999 1")
	f.check1(t, "SELECT reason, count() FROM DB.cdr_rejects FINAL GROUP BY reason ORDER BY reason",
		"bad_number 2", "bad_time 2", "broken_json 2", "time_order 2")
}

// check1 asserts the rows a query returns.
func (f *fixture) check1(t *testing.T, q string, want ...string) {
	t.Helper()
	got := query(t, f, q)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", q, got, want)
	}
}

// TestRejectsStoredOnceAcrossMonths: a reject replayed a month later (by
// another consumer group, or after a reset) is the same row in the same
// partition, so it is stored once.
func TestRejectsStoredOnceAcrossMonths(t *testing.T) {
	f := linesFixture(t, []string{`{"caller":"1","callee":"2"`, `[1,2,3]`, `{"caller":"+8613900000001","callee":"+8613800000001"}`})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := f.run(t, ctx, f.cfg, pipeline.Options{UntilCaughtUp: true}); err != nil {
		t.Fatal(err)
	}
	later := f.cfg
	later.Kafka.Group = e2e.Name("replay")
	sum, err := f.run(t, ctx, later, pipeline.Options{UntilCaughtUp: true,
		Now: func() time.Time { return time.Now().Add(40 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejects != 3 {
		t.Fatalf("replay rejected %d, want 3", sum.Rejects)
	}
	conn := f.stack.ClickHouse(t)
	if err := conn.Exec(ctx, "OPTIMIZE TABLE "+f.cfg.ClickHouse.Database+".cdr_rejects FINAL"); err != nil {
		t.Fatal(err)
	}
	f.check1(t, "SELECT count() FROM DB.cdr_rejects", "3")
	f.check1(t, "SELECT reason FROM DB.cdr_rejects ORDER BY reason", "broken_json", "missing_field", "not_object")
}

// newOf returns a pointer to a new value of t, to scan a column into.
func newOf(t reflect.Type) any { return reflect.New(t).Interface() }

// deref returns what p points to, through Nullable's pointers.
func deref(p any) any {
	v := reflect.ValueOf(p).Elem()
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	return v.Interface()
}

// TestSkewedSwitchesCountEveryCall runs the traffic model's fleet (one
// switch 3 min fast, one 90 s slow, records out of order by up to 4 min):
// only the records sent half an hour late are late, every planted caller
// is flagged, and both skewed switches are reported with their offsets, in
// the log and in the metrics.
func TestSkewedSwitchesCountEveryCall(t *testing.T) {
	f := newFixture(t, 20000, 1, 31)
	var logs strings.Builder
	f.log = slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f.migrate(t, ctx, f.cfg)
	r, closeAll, err := f.runner(ctx, f.cfg, pipeline.Options{UntilCaughtUp: true})
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	sum, err := r.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run: %s; truth: %d very late, %d skewed, %d local times", sum, f.truth.VeryLate, f.truth.Skewed, f.truth.LocalTimes)
	if sum.Late > f.truth.VeryLate+f.truth.LateDuplicates {
		t.Errorf("%d late records; only the %d sent half an hour late (and %d late copies) should be", sum.Late, f.truth.VeryLate, f.truth.LateDuplicates)
	}
	f.check(t)
	skews := map[string]time.Duration{}
	for _, sk := range r.Metrics().Skews() {
		skews[sk.Source] = sk.Offset
	}
	for sw, want := range map[string]time.Duration{"SH-MSC-01": 3 * time.Minute, "WH-MSC-02": -90 * time.Second} {
		if got, ok := skews[sw]; !ok || (got-want).Abs() > 45*time.Second {
			t.Errorf("switch %s reported %v (found %v), want about %v; all: %v", sw, got, ok, want, skews)
		}
		if !strings.Contains(logs.String(), "switch="+sw) {
			t.Errorf("no log line names %s:\n%s", sw, logs.String())
		}
	}
	if len(skews) != 2 {
		t.Errorf("reported %v, want only the two skewed switches", skews)
	}
}

// syncWriter lets a log handler write to a builder from several
// goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
