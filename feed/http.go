package feed

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/blocklist"
)

// The HTTP API: GET /v1/blocklist, GET /v1/numbers/{number}, GET /healthz.

// listFormats are the formats /v1/blocklist serves, with their types.
var listFormats = map[string]string{
	"json":    "application/json",
	"csv":     "text/csv; charset=utf-8",
	"numbers": "text/plain; charset=utf-8",
}

// number is what /v1/numbers takes: E.164 digits, with or without '+'.
var number = regexp.MustCompile(`^\+?[0-9]{3,15}$`)

// Handler serves the feed.
func (f *Feed) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/blocklist", f.serveList)
	mux.HandleFunc("GET /v1/numbers/{number}", f.serveNumber)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		msg, ok := f.status()
		if !ok {
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, msg)
	})
	return mux
}

// problem answers a bad request with a clear message.
func problem(w http.ResponseWriter, code int, format string, args ...any) {
	http.Error(w, fmt.Sprintf(format, args...), code)
}

// formatOf picks the list's format: ?format=, else the Accept header,
// else JSON.
func formatOf(r *http.Request) (string, error) {
	if f := r.URL.Query().Get("format"); f != "" {
		if _, ok := listFormats[f]; !ok {
			return "", fmt.Errorf("format %q: want json, csv or numbers", f)
		}
		return f, nil
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/json", "*/*", "application/*":
			return "json", nil
		case "text/csv":
			return "csv", nil
		case "text/plain":
			return "numbers", nil
		}
	}
	return "json", nil
}

func (f *Feed) serveList(w http.ResponseWriter, r *http.Request) {
	for k := range r.URL.Query() {
		if k != "format" && k != "since" {
			problem(w, http.StatusBadRequest, "unknown parameter %q: want format or since", k)
			return
		}
	}
	format, err := formatOf(r)
	if err != nil {
		problem(w, http.StatusBadRequest, "%v", err)
		return
	}
	s := f.cur.Load()
	if s.version == 0 {
		problem(w, http.StatusServiceUnavailable, "no list read from ClickHouse yet")
		return
	}
	if v := r.URL.Query().Get("since"); v != "" {
		f.serveSince(w, s, v, format)
		return
	}
	etag := fmt.Sprintf(`"%d-%s"`, s.version, format)
	w.Header().Set("ETag", etag)
	w.Header().Set("X-Blocklist-Version", strconv.FormatInt(s.version, 10))
	if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b, err := s.body(format)
	if err != nil {
		problem(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", listFormats[format])
	w.Write(b)
}

// delta is the answer to ?since=VERSION.
type delta struct {
	Version int64                `json:"version"`
	Since   int64                `json:"since"`
	Added   []blocklist.JSONItem `json:"added"`
	Removed []string             `json:"removed"`
}

func (f *Feed) serveSince(w http.ResponseWriter, s *snapshot, v, format string) {
	if format != "json" {
		problem(w, http.StatusBadRequest, "since: changes come as JSON only")
		return
	}
	since, err := strconv.ParseInt(v, 10, 64)
	if err != nil || since < 0 || since > s.version {
		problem(w, http.StatusBadRequest, "since %q: want a version from 0 to %d", v, s.version)
		return
	}
	added, removed, ok := f.since(s, since)
	if !ok {
		problem(w, http.StatusGone, "since %d: changes are kept from version %d on; fetch the whole list", since, s.oldest-1)
		return
	}
	d := delta{Version: s.version, Since: since, Added: []blocklist.JSONItem{}, Removed: removed}
	if d.Removed == nil {
		d.Removed = []string{}
	}
	for _, it := range added {
		d.Added = append(d.Added, it.JSON())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Blocklist-Version", strconv.FormatInt(s.version, 10))
	json.NewEncoder(w).Encode(d)
}

// verdict is the answer to /v1/numbers/{number}.
type verdict struct {
	Number  string              `json:"number"`
	Blocked bool                `json:"blocked"`
	Version int64               `json:"version"`
	Entry   *blocklist.JSONItem `json:"entry,omitempty"`
	// Range is the blocked prefix the number falls under, when it is
	// blocked as part of a block.
	Range string `json:"range,omitempty"`
	// History is every change of its blocklist state (and of its
	// range's) in the last 30 days, oldest first.
	History []changeJSON `json:"history"`
}

// changeJSON is one row of blocklist_changes.
type changeJSON struct {
	Entry  string    `json:"entry"`
	Action string    `json:"action"`
	Source string    `json:"source"`
	Actor  string    `json:"actor"`
	Reason string    `json:"reason"`
	Score  float64   `json:"score"`
	At     time.Time `json:"at"`
}

func (f *Feed) serveNumber(w http.ResponseWriter, r *http.Request) {
	n := r.PathValue("number")
	if !number.MatchString(n) {
		problem(w, http.StatusBadRequest, "number %q: want an E.164 number, digits with or without '+'", n)
		return
	}
	if len(r.URL.Query()) > 0 {
		problem(w, http.StatusBadRequest, "/v1/numbers takes no parameters")
		return
	}
	if n[0] != '+' {
		n = "+" + n
	}
	s := f.cur.Load()
	if s.version == 0 {
		problem(w, http.StatusServiceUnavailable, "no list read from ClickHouse yet")
		return
	}
	v := verdict{Number: n, Version: s.version, History: []changeJSON{}}
	if it, prefix := s.lookup(n); it != nil {
		e := it.JSON()
		v.Blocked, v.Entry, v.Range = true, &e, prefix
	}
	if h := f.hist.Load(); h != nil {
		keys := []string{n}
		if v.Range != "" {
			keys = append(keys, blocklist.RangeEntry(v.Range))
		}
		for _, k := range keys {
			for _, c := range (*h)[k] {
				v.History = append(v.History, changeJSON{Entry: c.Number, Action: c.Action, Source: c.Source, Actor: c.Actor,
					Reason: c.Reason, Score: c.Score, At: c.At})
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
