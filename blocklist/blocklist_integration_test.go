package blocklist_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/blocklist"
	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestVerdictAllowlistAndLifecycle drives the verdict views and the
// lifecycle on the real server: rules decide, one mild trait does not
// block, the allowlist wins, manual overrides work, and every change lands
// in blocklist_changes.
func TestVerdictAllowlistAndLifecycle(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_blocklist")
	db := cfg.ClickHouse.Database
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC().Truncate(time.Second)
	const (
		mild      = "+8613800000001" // fan_out alone: a call centre
		robocall  = "+8613800000002" // fan_out + short_calls
		scanner   = "+8613800000003" // sequential_dialing blocks alone
		emergency = "+86110"         // allowlisted by default
		hospital  = "+8675588880000" // allowlisted through the table
		manual    = "+8613800000006" // blocked by hand, no flags
		old       = "+8613800000007" // flagged before the TTL
	)
	var b sink.Batch
	// A flag counts from its window's start (its flagged_at).
	flag := func(n, d string, at time.Time) {
		b.AddFlag(&schemas.Flag{Number: n, Detector: d, WindowStart: at, WindowEnd: at.Add(time.Hour), Score: 0.7,
			Value: 100, Evidence: d + " evidence", FlaggedAt: at, Final: true})
	}
	before := now.Add(-time.Minute)
	flag(mild, "fan_out", before)
	flag(robocall, "fan_out", before)
	flag(robocall, "short_calls", before)
	flag(scanner, "sequential_dialing", before)
	flag(emergency, "sequential_dialing", before)
	flag(hospital, "sequential_dialing", before)
	flag(old, "sequential_dialing", now.Add(-cfg.Blocklist.TTL-time.Hour))
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	clock := now
	st := blocklist.New(s.Conn(), db, func() time.Time { return clock })
	if err := st.Allow(ctx, "+86755888*", "ops", "hospital switchboard", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Add(ctx, manual, "analyst", "complaints"); err != nil {
		t.Fatal(err)
	}

	blocked := func() []string {
		t.Helper()
		es, err := st.List(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, e := range es {
			ns = append(ns, e.Number)
		}
		slices.Sort(ns)
		return ns
	}
	if got, want := blocked(), []string{robocall, scanner, manual}; !sameSet(got, want) {
		t.Fatalf("blocklist %v, want %v", got, want)
	}
	var risk float64
	if err := s.Conn().QueryRow(ctx, "SELECT risk FROM "+db+".verdicts WHERE number = ?", mild).Scan(&risk); err != nil || risk >= cfg.Blocklist.MinScore {
		t.Errorf("a lone fan_out has risk %v (%v), want under %v", risk, err, cfg.Blocklist.MinScore)
	}
	var allowed uint8
	if err := s.Conn().QueryRow(ctx, "SELECT allowlisted FROM "+db+".verdicts WHERE number = ?", emergency).Scan(&allowed); err != nil || allowed != 1 {
		t.Errorf("emergency number allowlisted = %d (%v), want 1; its flag is kept for audit", allowed, err)
	}

	added, removed, err := st.Sync(ctx)
	if err != nil || added != 2 || removed != 0 {
		t.Fatalf("first sync: +%d -%d %v; want +2 -0", added, removed, err)
	}
	if added, removed, err := st.Sync(ctx); err != nil || added+removed != 0 {
		t.Fatalf("second sync changed +%d -%d %v", added, removed, err)
	}

	clock = now.Add(2 * time.Second)
	if err := st.Remove(ctx, scanner, "analyst", "appeal upheld"); err != nil {
		t.Fatal(err)
	}
	if err := st.Remove(ctx, manual, "analyst", "resolved"); err != nil {
		t.Fatal(err)
	}
	if got, want := blocked(), []string{robocall}; !sameSet(got, want) {
		t.Fatalf("after manual removals: %v, want %v", got, want)
	}
	clock = now.Add(3 * time.Second)
	if _, removed, err := st.Sync(ctx); err != nil || removed != 1 {
		t.Fatalf("sync after release removed %d (%v), want 1", removed, err)
	}
	cs, err := st.Changes(ctx, scanner)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, c := range cs {
		trail = append(trail, c.Source+" "+c.Action+" by "+c.Actor)
	}
	if want := []string{"auto add by cdrpipe", "manual remove by analyst", "auto remove by cdrpipe"}; !slices.Equal(trail, want) {
		t.Errorf("audit trail of %s: %v, want %v", scanner, trail, want)
	}

	// A new flag after the release counts again.
	b.Reset()
	flag(scanner, "sequential_dialing", now.Add(5*time.Second))
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if got, want := blocked(), []string{robocall, scanner}; !sameSet(got, want) {
		t.Errorf("after a new flag: %v, want %v", got, want)
	}
	// Taking the hospital off the allowlist exposes its flag.
	if err := st.Disallow(ctx, "+86755888*", "ops", "number reassigned"); err != nil {
		t.Fatal(err)
	}
	if got := blocked(); !slices.Contains(got, hospital) {
		t.Errorf("after leaving the allowlist the hospital's number is not blocked: %v", got)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
