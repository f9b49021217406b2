package feed_test

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
	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/feed"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
)

// TestFeedFromClickHouse serves what the views say: a number flagged with
// a blocking combination, one blocked by hand, a blocked block; a manual
// release shows in the next version's changes.
func TestFeedFromClickHouse(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_feed")
	db := cfg.ClickHouse.Database
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	var b sinkBatch
	b.flag("+8613800000001", "fan_out", now)
	b.flag("+8613800000001", "short_calls", now)
	b.group("+86216000100", "number_rotation", now)
	b.group("+86216000100", "short_calls", now)
	if err := s.Write(ctx, &b.Batch); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	st := blocklist.New(s.Conn(), db, func() time.Time { return clock })
	if err := st.Add(ctx, "+8613800000009", "ops", "complaints"); err != nil {
		t.Fatal(err)
	}
	f := feed.New(st, blocklist.Query{TTL: cfg.Blocklist.TTL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	lookup := func(n string) (blocked bool, rng string) {
		t.Helper()
		r, err := http.Get(srv.URL + "/v1/numbers/" + n)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var v struct {
			Blocked bool   `json:"blocked"`
			Range   string `json:"range"`
		}
		if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		return v.Blocked, v.Range
	}
	r0, err := http.Get(srv.URL + "/v1/numbers/+8613800000009")
	if err != nil {
		t.Fatal(err)
	}
	var hv struct {
		History []struct {
			Action, Source, Actor, Reason string
		} `json:"history"`
	}
	if err := json.NewDecoder(r0.Body).Decode(&hv); err != nil || len(hv.History) != 1 || hv.History[0].Actor != "ops" || hv.History[0].Reason != "complaints" {
		t.Errorf("history of the number blocked by hand: %+v %v", hv, err)
	}
	r0.Body.Close()
	for n, want := range map[string]bool{"+8613800000001": true, "+8613800000009": true, "+862160001004": true, "+8613800000002": false} {
		if got, _ := lookup(n); got != want {
			t.Errorf("%s blocked %v, want %v", n, got, want)
		}
	}
	clock = clock.Add(2 * time.Second)
	if err := st.Remove(ctx, "+8613800000001", "ops", "appeal upheld"); err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := http.Get(srv.URL + "/v1/blocklist?since=1")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var d struct {
		Version int64    `json:"version"`
		Removed []string `json:"removed"`
	}
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil || d.Version != 2 || len(d.Removed) != 1 || d.Removed[0] != "+8613800000001" {
		t.Errorf("changes since version 1: %+v %v, want the released number", d, err)
	}
}

// TestFeedOutlivesClickHouse: a feed started while ClickHouse is away
// answers 503 saying why, serves the list as soon as ClickHouse answers,
// and keeps serving the last list when ClickHouse goes away again.
func TestFeedOutlivesClickHouse(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stack := e2e.Require(t)
	p := e2e.StartProxy(t, stack.ClickHouseAddr)
	stack.ClickHouseAddr = p.Addr
	s, cfg := stack.Sink(t, config.Default(), "cdrpipe_feed_outage")
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	st := blocklist.New(s.Conn(), cfg.ClickHouse.Database, time.Now)
	if err := st.Add(ctx, "+8613800000009", "ops", "complaints"); err != nil {
		t.Fatal(err)
	}
	p.Down()
	f := feed.New(st, blocklist.Query{TTL: cfg.Blocklist.TTL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		r, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	go f.Run(ctx, 200*time.Millisecond)
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited 30s for %s", what)
			}
		}
	}
	waitFor("a failed first read", func() bool {
		code, body := get("/healthz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "no list read yet: refresh the feed")
	})
	if code, _ := get("/v1/blocklist"); code != http.StatusServiceUnavailable {
		t.Errorf("list before any read: %d, want 503", code)
	}
	p.Up(t)
	waitFor("the first list", func() bool { code, _ := get("/healthz"); return code == http.StatusOK })
	if code, body := get("/v1/blocklist?format=numbers"); code != http.StatusOK || body != "+8613800000009\n" {
		t.Errorf("list once ClickHouse answers: %d %q", code, body)
	}
	p.Down()
	waitFor("failing refreshes", func() bool {
		_, body := get("/healthz")
		return strings.Contains(body, "refreshes failing since")
	})
	if code, body := get("/v1/blocklist?format=numbers"); code != http.StatusOK || body != "+8613800000009\n" {
		t.Errorf("list while ClickHouse is away again: %d %q; want the last list", code, body)
	}
}
