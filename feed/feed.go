// Package feed serves the blocklist over HTTP to switches and SIP proxies
// that poll it: the whole list (JSON, CSV or plain numbers) with an ETag so
// an unchanged list costs nothing, what changed since a version, and the
// verdict on one number for real-time lookups. Every answer comes from a
// snapshot in memory, refreshed from ClickHouse on an interval with one
// read however many clients there are; no request reaches SQL.
package feed

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cdrpipe/cdrpipe/blocklist"
)

// Source reads the lists and the audit trail: blocklist.Store.
type Source interface {
	Snapshot(ctx context.Context, q blocklist.Query) (*blocklist.List, error)
	History(ctx context.Context, since time.Time) (map[string][]blocklist.Change, error)
}

// historyDays is how far back a lookup's history goes.
const historyDays = 30

// keepVersions is how many versions' changes ?since= can still answer.
const keepVersions = 1000

// Feed holds the current snapshot and the changes between versions.
type Feed struct {
	src   Source
	query blocklist.Query
	log   *slog.Logger
	cur   atomic.Pointer[snapshot]
	// hist is the audit trail of the last historyDays, per number or
	// block entry, as of the last refresh.
	hist atomic.Pointer[map[string][]blocklist.Change]

	mu      sync.Mutex // refreshes, and the change log
	changes []change   // oldest first, versions ascending
	health  health     // under mu
}

// health is how the last refreshes went, for /healthz.
type health struct {
	readAt  time.Time // the last refresh that read ClickHouse
	lastErr error     // the last refresh's failure, nil once one succeeds
	failing time.Time // since when refreshes fail; zero when they do not
}

// change is an entry added or removed at a version.
type change struct {
	version int64
	key     string // number, or prefix with '*'
	removed bool
}

// snapshot is one version of the list, read-only once published.
type snapshot struct {
	version int64
	list    *blocklist.List
	byKey   map[string]*blocklist.Item // number, or prefix with '*'
	// prefixes are the blocked ranges' prefixes, longest first.
	prefixes []*blocklist.Item
	// oldest is the oldest version whose changes are still kept.
	oldest int64

	bodies sync.Map // format → []byte, made on first request
}

// New returns a feed reading src with q; Refresh fills it.
func New(src Source, q blocklist.Query, log *slog.Logger) *Feed {
	f := &Feed{src: src, query: q, log: log}
	f.cur.Store(&snapshot{list: &blocklist.List{}, byKey: map[string]*blocklist.Item{}})
	return f
}

func key(it *blocklist.Item) string {
	if it.Prefix {
		return blocklist.RangeEntry(it.Number)
	}
	return it.Number
}

// Refresh reads the lists once and, when they changed, publishes them as
// the next version with what was added and removed.
func (f *Feed) Refresh(ctx context.Context) error {
	err := f.refresh(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case err == nil:
		f.health = health{readAt: time.Now()}
	case f.health.failing.IsZero():
		f.health.failing, f.health.lastErr = time.Now(), err
	default:
		f.health.lastErr = err
	}
	return err
}

func (f *Feed) refresh(ctx context.Context) error {
	l, err := f.src.Snapshot(ctx, f.query)
	if err != nil {
		return fmt.Errorf("refresh the feed: %w", err)
	}
	hist, err := f.src.History(ctx, time.Now().Add(-historyDays*24*time.Hour))
	if err != nil {
		return fmt.Errorf("refresh the feed: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.cur.Load()
	f.hist.Store(&hist)
	next := &snapshot{version: old.version + 1, list: l, byKey: make(map[string]*blocklist.Item, len(l.Items))}
	for i := range l.Items {
		it := &l.Items[i]
		next.byKey[key(it)] = it
		if it.Prefix {
			next.prefixes = append(next.prefixes, it)
		}
	}
	slices.SortFunc(next.prefixes, func(a, b *blocklist.Item) int { return len(b.Number) - len(a.Number) })
	var diff []change
	for k, it := range next.byKey {
		if was, ok := old.byKey[k]; !ok || !same(was, it) {
			diff = append(diff, change{version: next.version, key: k})
		}
	}
	for k := range old.byKey {
		if _, ok := next.byKey[k]; !ok {
			diff = append(diff, change{version: next.version, key: k, removed: true})
		}
	}
	if len(diff) == 0 && old.version > 0 {
		return nil // unchanged: same version, same ETag
	}
	f.changes = append(f.changes, diff...)
	for len(f.changes) > 0 && f.changes[0].version <= next.version-keepVersions {
		f.changes = f.changes[1:]
	}
	next.oldest = max(1, next.version-keepVersions+1)
	f.cur.Store(next)
	return nil
}

// same reports whether an entry is unchanged for a switch: its score and
// reasons may be read again, the same.
func same(a, b *blocklist.Item) bool {
	return a.Score == b.Score && a.Source == b.Source && a.Expires.Equal(b.Expires) && slices.Equal(a.Detectors, b.Detectors)
}

// Run refreshes at once, then every interval until ctx ends. A failed
// refresh keeps the last list and is logged; before the first list is read
// (ClickHouse down when the feed starts) requests get 503 and the refresh
// is retried every second, so switches get a list as soon as there is one.
func (f *Feed) Run(ctx context.Context, every time.Duration) {
	var quietUntil time.Time // failures before it are not logged again
	for {
		wait := every
		if err := f.Refresh(ctx); err != nil && ctx.Err() == nil {
			first := f.cur.Load().version == 0
			if first {
				wait = min(every, time.Second)
			}
			// An outage at start would log every second: once a minute
			// says as much (and /healthz says it at any time).
			if now := time.Now(); !now.Before(quietUntil) {
				quietUntil = now.Add(time.Minute)
				if first {
					f.log.Warn("blocklist feed: no list read yet; answering 503 and retrying", "err", err)
				} else {
					f.log.Warn("blocklist feed: refresh failed; serving the last list", "err", err)
				}
			}
		} else if err == nil {
			quietUntil = time.Time{}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// status says how the feed is: the list it serves and how old it is, and
// why refreshes fail if they do; ok is false until a list has been read.
func (f *Feed) status() (msg string, ok bool) {
	s := f.cur.Load()
	f.mu.Lock()
	h := f.health
	f.mu.Unlock()
	if s.version == 0 {
		if h.lastErr != nil {
			return fmt.Sprintf("no list read yet: %v", h.lastErr), false
		}
		return "no list read yet", false
	}
	msg = fmt.Sprintf("ok: version %d, %d entries, read %s ago", s.version, len(s.list.Items), time.Since(h.readAt).Round(time.Second))
	if h.lastErr != nil {
		msg = fmt.Sprintf("ok: version %d, %d entries; refreshes failing since %s (%v), serving the last list",
			s.version, len(s.list.Items), h.failing.UTC().Format(time.RFC3339), h.lastErr)
	}
	return msg, true
}

// since returns what changed after version v, and false when v is older
// than the changes kept.
func (f *Feed) since(s *snapshot, v int64) (added []*blocklist.Item, removed []string, ok bool) {
	if v < s.oldest-1 {
		return nil, nil, false
	}
	f.mu.Lock()
	last := map[string]bool{} // key → removed, by its latest change
	for _, c := range f.changes {
		if c.version > v && c.version <= s.version {
			last[c.key] = c.removed
		}
	}
	f.mu.Unlock()
	keys := make([]string, 0, len(last))
	for k := range last {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if last[k] {
			removed = append(removed, k)
		} else if it := s.byKey[k]; it != nil {
			added = append(added, it)
		}
	}
	return added, removed, true
}

// lookup returns the entry blocking number: its own, or the longest
// blocked prefix it starts with.
func (s *snapshot) lookup(number string) (*blocklist.Item, string) {
	if it := s.byKey[number]; it != nil {
		return it, ""
	}
	for _, it := range s.prefixes {
		if strings.HasPrefix(number, it.Number) {
			return it, it.Number
		}
	}
	return nil, ""
}

// body returns the list in format, made once per version.
func (s *snapshot) body(format string) ([]byte, error) {
	if b, ok := s.bodies.Load(format); ok {
		return b.([]byte), nil
	}
	var buf bytes.Buffer
	if err := blocklist.Write(&buf, format, s.list); err != nil {
		return nil, err
	}
	b, _ := s.bodies.LoadOrStore(format, buf.Bytes())
	return b.([]byte), nil
}
