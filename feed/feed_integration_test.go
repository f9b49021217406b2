package feed_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
