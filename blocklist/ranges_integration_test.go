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

// TestRangeVerdictsAllowlistAndLifecycle: number blocks are blocked under
// the numbers' rules, a block holding an allowlisted number is not, a
// block can be added and released by hand, and every automatic change of
// the blocked ranges lands in blocklist_changes under the block's entry.
func TestRangeVerdictsAllowlistAndLifecycle(t *testing.T) {
	ctx := context.Background()
	s, cfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_ranges")
	db := cfg.ClickHouse.Database
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	const (
		campaign = "+8621600010" // number_rotation + short_calls: blocked
		bank     = "+8610950000" // number_rotation + fan_out: a bank's lines, kept
		shared   = "+8621600030" // a campaign's traits, but a hospital number lies under it
		byHand   = "+8675500001" // no flags, blocked by hand
	)
	var b sink.Batch
	block := func(prefix, d string, at time.Time) {
		b.AddGroup(&schemas.GroupFlag{TrunkID: "CC-9", Prefix: prefix, Detector: d, WindowStart: at, WindowEnd: at.Add(time.Hour),
			Score: 0.7, Value: 80, Evidence: d + " evidence", Numbers: []string{prefix + "00", prefix + "01"}})
	}
	before := now.Add(-time.Minute)
	for _, p := range []string{campaign, shared} {
		block(p, "number_rotation", before)
		block(p, "short_calls", before)
	}
	block(bank, "number_rotation", before)
	block(bank, "fan_out", before)
	b.AddGroup(&schemas.GroupFlag{TrunkID: "CC-9", Detector: "number_rotation", WindowStart: before, WindowEnd: before.Add(time.Hour),
		Score: 0.7, Value: 80, Evidence: "trunk CC-9: 240 calls from 80 numbers", Numbers: []string{campaign + "00"}})
	for range 2 { // a replay writes the same rows
		if err := s.Write(ctx, &b); err != nil {
			t.Fatal(err)
		}
	}
	if got := e2e.Count(t, s.Conn(), "SELECT count() FROM "+db+".flagged_trunks FINAL"); got != 1 {
		t.Errorf("flagged_trunks holds %d rows, want 1", got)
	}
	clock := now
	st := blocklist.New(s.Conn(), db, func() time.Time { return clock })
	if err := st.Allow(ctx, shared+"05", "ops", "hospital switchboard", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := st.Add(ctx, blocklist.RangeEntry(byHand), "analyst", "complaints about the whole block"); err != nil {
		t.Fatal(err)
	}
	prefixes := func() []string {
		t.Helper()
		rs, err := st.Ranges(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ps []string
		for _, r := range rs {
			ps = append(ps, r.Prefix)
			if r.Prefix == campaign && (len(r.Numbers) != 2 || r.Score < cfg.Blocklist.MinScore || len(r.Reasons) != 2) {
				t.Errorf("blocked range %+v: want its two numbers, its two reasons and a blocking score", r)
			}
		}
		slices.Sort(ps)
		return ps
	}
	if got, want := prefixes(), []string{campaign, byHand}; !sameSet(got, want) {
		t.Fatalf("blocked ranges %v, want %v", got, want)
	}
	// An export takes both lists once: the numbers, then the blocks.
	l, err := st.Snapshot(ctx, blocklist.Query{TTL: cfg.Blocklist.TTL})
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, it := range l.Items {
		exported = append(exported, it.Number)
		if it.Prefix && it.Source == "auto" && !it.Expires.Equal(it.Last.Add(cfg.Blocklist.TTL)) {
			t.Errorf("%s expires %s, want its last flag plus the TTL", it.Number, it.Expires)
		}
	}
	if !slices.Equal(exported, []string{campaign, byHand}) {
		t.Errorf("snapshot %v, want the two blocks", exported)
	}
	if l, err := st.Snapshot(ctx, blocklist.Query{MinScore: 0.95}); err != nil || len(l.Items) != 1 || l.Items[0].Number != byHand {
		t.Errorf("snapshot over 0.95: %+v %v, want the manual block only", l, err)
	}
	// A shadow database whose rules blocked nothing would release the
	// campaign's block; the block kept by hand is people's, not the rules'.
	shadow, scfg := e2e.Require(t).Sink(t, config.Default(), "cdrpipe_ranges_shadow")
	if _, err := shadow.Migrate(ctx, scfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	d, err := blocklist.Diff(ctx, s.Conn(), db, scfg.ClickHouse.Database, time.Time{}, time.Time{})
	if err != nil || len(d.Released) != 1 || d.Released[0].Number != campaign || !d.Released[0].Prefix || len(d.Blocked) != 0 {
		t.Errorf("diff against an empty shadow: %v %v; want the campaign's block released", d, err)
	}
	// The numbers' blocklist does not list blocks.
	if es, err := st.List(ctx, 0); err != nil || len(es) != 0 {
		t.Errorf("blocklist %v (%v), want no numbers", es, err)
	}
	added, removed, err := st.Sync(ctx)
	if err != nil || added != 1 || removed != 0 {
		t.Fatalf("first sync: +%d -%d %v; want the campaign's block", added, removed, err)
	}
	clock = now.Add(2 * time.Second)
	if err := st.Remove(ctx, blocklist.RangeEntry(campaign), "analyst", "numbers reassigned to a school"); err != nil {
		t.Fatal(err)
	}
	if got, want := prefixes(), []string{byHand}; !sameSet(got, want) {
		t.Fatalf("after releasing the campaign's block: %v, want %v", got, want)
	}
	clock = now.Add(3 * time.Second)
	if _, removed, err := st.Sync(ctx); err != nil || removed != 1 {
		t.Fatalf("sync after the release removed %d (%v), want 1", removed, err)
	}
	cs, err := st.Changes(ctx, blocklist.RangeEntry(campaign))
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, c := range cs {
		trail = append(trail, c.Source+" "+c.Action+" by "+c.Actor)
	}
	if want := []string{"auto add by cdrpipe", "manual remove by analyst", "auto remove by cdrpipe"}; !slices.Equal(trail, want) {
		t.Errorf("audit trail of %s*: %v, want %v", campaign, trail, want)
	}
}
