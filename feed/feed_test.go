package feed

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/blocklist"
)

// lists hands out the lists it holds, one per Snapshot, the last again.
type lists struct{ ls []*blocklist.List }

func (l *lists) Snapshot(context.Context, blocklist.Query) (*blocklist.List, error) {
	out := l.ls[0]
	if len(l.ls) > 1 {
		l.ls = l.ls[1:]
	}
	return out, nil
}

func (l *lists) History(context.Context, time.Time) (map[string][]blocklist.Change, error) {
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	return map[string][]blocklist.Change{
		"+8613800000001": {{Number: "+8613800000001", Action: "add", Source: "auto", Actor: "cdrpipe", Reason: "fan_out", Score: 0.9, At: at}},
		"+86216000100*":  {{Number: "+86216000100*", Action: "add", Source: "auto", Actor: "cdrpipe", Reason: "rotation", Score: 0.9, At: at}},
	}, nil
}

func list(items ...blocklist.Item) *blocklist.List { return &blocklist.List{Items: items} }

func num(n string, score float64) blocklist.Item {
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	return blocklist.Item{Number: n, Score: score, Detectors: []string{"fan_out", "short_calls"}, Reasons: []string{"fan_out: 412 callees"},
		First: at, Last: at, Expires: at.Add(168 * time.Hour), Source: "auto"}
}

func block(p string) blocklist.Item {
	it := num(p, 0.9)
	it.Prefix = true
	return it
}

func get(t *testing.T, h http.Handler, url string, header ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newFeed(t *testing.T, ls ...*blocklist.List) (*Feed, http.Handler) {
	f := New(&lists{ls: ls}, blocklist.Query{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f, f.Handler()
}

func TestListFormatsAndETag(t *testing.T) {
	_, h := newFeed(t, list(num("+8613800000001", 0.9), block("+86216000100")))
	r := get(t, h, "/v1/blocklist")
	b := body(t, r)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" || !strings.Contains(b, `"prefix": "+86216000100"`) {
		t.Fatalf("GET /v1/blocklist: %d %s %s", r.StatusCode, r.Header.Get("Content-Type"), b)
	}
	etag := r.Header.Get("ETag")
	if r := get(t, h, "/v1/blocklist", "If-None-Match", etag); r.StatusCode != http.StatusNotModified || body(t, r) != "" {
		t.Errorf("unchanged list with its ETag: %d, want 304 and no body", r.StatusCode)
	}
	for _, tc := range []struct{ url, accept, ctype, has string }{
		{"/v1/blocklist?format=csv", "", "text/csv; charset=utf-8", "+86216000100,prefix,"},
		{"/v1/blocklist", "text/csv", "text/csv; charset=utf-8", "number,kind,score"},
		{"/v1/blocklist", "text/plain", "text/plain; charset=utf-8", "+8613800000001\n"},
		{"/v1/blocklist?format=numbers", "application/json", "text/plain; charset=utf-8", "+8613800000001\n"},
	} {
		r := get(t, h, tc.url, "Accept", tc.accept)
		if b := body(t, r); r.StatusCode != 200 || r.Header.Get("Content-Type") != tc.ctype || !strings.Contains(b, tc.has) {
			t.Errorf("%s (Accept %q): %d %s %q", tc.url, tc.accept, r.StatusCode, r.Header.Get("Content-Type"), b)
		}
		if r.Header.Get("ETag") == etag {
			t.Errorf("%s: the JSON list's ETag on another format", tc.url)
		}
	}
}

func TestSinceAVersion(t *testing.T) {
	f, h := newFeed(t,
		list(num("+8613800000001", 0.9), num("+8613800000002", 0.9)),
		list(num("+8613800000001", 0.9), num("+8613800000003", 0.85)),  // 2 released, 3 added
		list(num("+8613800000001", 0.95), num("+8613800000003", 0.85)), // 1 scored again
		list(num("+8613800000001", 0.95), num("+8613800000003", 0.85)), // unchanged
	)
	for range 3 {
		if err := f.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if v := f.cur.Load().version; v != 3 {
		t.Fatalf("version %d after an unchanged refresh, want 3", v)
	}
	var d delta
	r := get(t, h, "/v1/blocklist?since=1")
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, e := range d.Added {
		added = append(added, e.Number)
	}
	if d.Version != 3 || strings.Join(added, " ") != "+8613800000001 +8613800000003" || strings.Join(d.Removed, " ") != "+8613800000002" {
		t.Errorf("since 1: %+v", d)
	}
	r = get(t, h, "/v1/blocklist?since=3")
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil || len(d.Added)+len(d.Removed) != 0 {
		t.Errorf("since the current version: %+v %v, want nothing", d, err)
	}
}

func TestNumberLookups(t *testing.T) {
	_, h := newFeed(t, list(num("+8613800000001", 0.9), block("+86216000100")))
	for _, tc := range []struct {
		n       string
		blocked bool
		rng     string
	}{
		{"+8613800000001", true, ""},
		{"8613800000001", true, ""},
		{"+862160001007", true, "+86216000100"},
		{"+862160001017", false, ""},
		{"+8613800000002", false, ""},
	} {
		var v verdict
		r := get(t, h, "/v1/numbers/"+tc.n)
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil || r.StatusCode != 200 {
			t.Fatalf("%s: %d %v", tc.n, r.StatusCode, err)
		}
		if v.Blocked != tc.blocked || v.Range != tc.rng || v.Blocked != (v.Entry != nil) || v.Blocked != (len(v.History) == 1) {
			t.Errorf("%s: %+v, want blocked %v under %q, with its history", tc.n, v, tc.blocked, tc.rng)
		}
	}
}

// TestBadRequests: every parameter is checked, and answered with a 4xx
// that says what is wrong.
func TestBadRequests(t *testing.T) {
	_, h := newFeed(t, list(num("+8613800000001", 0.9)))
	for _, tc := range []struct {
		url  string
		code int
		says string
	}{
		{"/v1/blocklist?format=xml", 400, "format"},
		{"/v1/blocklist?since=abc", 400, "since"},
		{"/v1/blocklist?since=-1", 400, "since"},
		{"/v1/blocklist?since=99", 400, "since"},
		{"/v1/blocklist?since=0&format=csv", 400, "JSON only"},
		{"/v1/blocklist?number=1%27%20OR%201=1", 400, "unknown parameter"},
		{"/v1/numbers/1'%20OR%20'1'='1", 400, "E.164"},
		{"/v1/numbers/+86abc", 400, "E.164"},
		{"/v1/numbers/12", 400, "E.164"},
		{"/v1/numbers/+8613800000001?x=1", 400, "no parameters"},
		{"/v1/other", 404, ""},
	} {
		r := get(t, h, tc.url)
		if b := body(t, r); r.StatusCode != tc.code || !strings.Contains(b, tc.says) {
			t.Errorf("%s: %d %q, want %d saying %q", tc.url, r.StatusCode, b, tc.code, tc.says)
		}
	}
	r := httptest.NewRecorder()
	h.ServeHTTP(r, httptest.NewRequest("POST", "/v1/blocklist", nil))
	if r.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", r.Code)
	}
	empty := New(&lists{ls: []*blocklist.List{list()}}, blocklist.Query{}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler()
	if r := get(t, empty, "/v1/blocklist"); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("before the first read: %d, want 503", r.StatusCode)
	}
}
