// Package blocklist manages the life of the blocklist in ClickHouse: the
// verdict views decide which numbers to block; this package adds what
// people decide (numbers added or removed by hand, allowlist entries) and
// keeps the audit trail, blocklist_changes, of every change, automatic or
// manual: who, when, why.
package blocklist

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Store is the blocklist tables of one database.
type Store struct {
	conn driver.Conn
	db   string
	now  func() time.Time
}

// New returns a store for database db; now is the wall clock.
func New(conn driver.Conn, db string, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{conn: conn, db: db, now: now}
}

// Change is one row of blocklist_changes.
type Change struct {
	Number string
	Action string // add, remove
	Source string // auto, manual
	Actor  string
	Reason string
	Score  float64
	At     time.Time
}

// Entry is one row of the blocklist view.
type Entry struct {
	Number    string
	Score     float64
	Detectors []string
	Reasons   []string
	First     time.Time
	Last      time.Time
	Source    string
}

// Range is one row of the blocklist_ranges view: a block of numbers to
// block by prefix.
type Range struct {
	Prefix    string // E.164 with '+'
	Score     float64
	Detectors []string
	Reasons   []string
	Numbers   []string // the block's numbers seen calling in its flags
	First     time.Time
	Last      time.Time
	Source    string
}

// RangeEntry is how a block is named where numbers are (the audit trail,
// the manual commands): its prefix followed by '*'.
func RangeEntry(prefix string) string { return prefix + "*" }

// Add blocks number by hand until it is removed by hand; a number
// block's entry (RangeEntry) blocks the block.
func (s *Store) Add(ctx context.Context, number, actor, reason string) error {
	return s.record(ctx, []Change{{Number: number, Action: "add", Source: "manual", Actor: actor, Reason: reason, Score: 1, At: s.now()}})
}

// Remove releases number (or a block's entry) by hand: a manual block
// ends, and the flags written before now no longer count; new flags count
// again.
func (s *Store) Remove(ctx context.Context, number, actor, reason string) error {
	return s.record(ctx, []Change{{Number: number, Action: "remove", Source: "manual", Actor: actor, Reason: reason, At: s.now()}})
}

func (s *Store) record(ctx context.Context, cs []Change) error {
	if len(cs) == 0 {
		return nil
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".blocklist_changes (number, action, source, actor, reason, score, at)")
	if err != nil {
		return fmt.Errorf("insert blocklist_changes: %w", err)
	}
	defer b.Abort()
	for _, c := range cs {
		if err := b.Append(c.Number, c.Action, c.Source, c.Actor, c.Reason, c.Score, c.At); err != nil {
			return fmt.Errorf("insert blocklist_changes: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert blocklist_changes: %w", err)
	}
	return nil
}

// Allow puts entry (an E.164 number, or a prefix ending in '*') on the
// allowlist until expires (zero: forever).
func (s *Store) Allow(ctx context.Context, entry, actor, reason string, expires time.Time) error {
	prefix, isPrefix := strings.CutSuffix(entry, "*")
	var flag uint8
	if isPrefix {
		flag = 1
	}
	if expires.IsZero() {
		expires = time.Unix(0, 0)
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".allowlist (entry, is_prefix, reason, added_by, added_at, expires_at)")
	if err != nil {
		return fmt.Errorf("insert allowlist: %w", err)
	}
	defer b.Abort()
	if err := b.Append(prefix, flag, reason, actor, s.now(), expires); err != nil {
		return fmt.Errorf("insert allowlist: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert allowlist: %w", err)
	}
	return nil
}

// expired is the expiry written when an entry is taken off the allowlist:
// long past, and distinct from 0, which means "never".
var expired = time.Unix(1, 0)

// Disallow takes entry off the allowlist.
func (s *Store) Disallow(ctx context.Context, entry, actor, reason string) error {
	return s.Allow(ctx, entry, actor, "removed: "+reason, expired)
}

// List returns the blocklist, highest score first, at most limit rows
// (0: all).
func (s *Store) List(ctx context.Context, limit int) ([]Entry, error) {
	q := "SELECT number, score, detectors, reasons, first_flagged, last_flagged, source FROM " + s.db + ".blocklist ORDER BY score DESC, number"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read blocklist: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.Number, &e.Score, &e.Detectors, &e.Reasons, &e.First, &e.Last, &e.Source); err != nil {
			return nil, fmt.Errorf("read blocklist: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Ranges returns the blocks to block, highest score first, at most limit
// rows (0: all).
func (s *Store) Ranges(ctx context.Context, limit int) ([]Range, error) {
	q := "SELECT prefix, score, detectors, reasons, numbers, first_flagged, last_flagged, source FROM " + s.db + ".blocklist_ranges ORDER BY score DESC, prefix"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read blocklist_ranges: %w", err)
	}
	defer rows.Close()
	var out []Range
	for rows.Next() {
		var r Range
		if err := rows.Scan(&r.Prefix, &r.Score, &r.Detectors, &r.Reasons, &r.Numbers, &r.First, &r.Last, &r.Source); err != nil {
			return nil, fmt.Errorf("read blocklist_ranges: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Sync appends to blocklist_changes what changed in the automatic part of
// the blocklist since the last sync: numbers whose risk reached
// blocklist.min_score, and numbers that left it (flags expired, released
// or allowlisted); number blocks likewise, as their entries (RangeEntry).
// It returns how many were added and removed.
func (s *Store) Sync(ctx context.Context) (added, removed int, err error) {
	current, err := s.current(ctx)
	if err != nil {
		return 0, 0, err
	}
	listed, err := s.listed(ctx)
	if err != nil {
		return 0, 0, err
	}
	now := s.now()
	var cs []Change
	for n, e := range current {
		if !listed[n] {
			cs = append(cs, Change{Number: n, Action: "add", Source: "auto", Actor: "cdrpipe",
				Reason: strings.Join(e.Reasons, "; "), Score: e.Score, At: now})
			added++
		}
	}
	for n := range listed {
		if _, ok := current[n]; !ok {
			cs = append(cs, Change{Number: n, Action: "remove", Source: "auto", Actor: "cdrpipe",
				Reason: "risk below blocklist.min_score: flags expired, released by hand, or allowlisted", At: now})
			removed++
		}
	}
	return added, removed, s.record(ctx, cs)
}

// current reads the automatic part of the blocklist and of the blocked
// ranges, each range by its entry.
func (s *Store) current(ctx context.Context) (map[string]Item, error) {
	l, err := s.Snapshot(ctx, Query{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]Item, len(l.Items))
	for _, it := range l.Items {
		if it.Source == "auto" {
			out[itemKey(it)] = it
		}
	}
	return out, nil
}

// listed reads which numbers the audit trail says are automatically
// blocked now.
func (s *Store) listed(ctx context.Context) (map[string]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT number FROM (SELECT number, argMax(action, at) AS last_action FROM "+s.db+
		".blocklist_changes WHERE source = 'auto' GROUP BY number) WHERE last_action = 'add'")
	if err != nil {
		return nil, fmt.Errorf("read blocklist_changes: %w", err)
	}
	defer rows.Close()
	out := make(map[string]bool)
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("read blocklist_changes: %w", err)
		}
		out[n] = true
	}
	return out, rows.Err()
}

// Changes returns the audit trail of number, oldest first.
func (s *Store) Changes(ctx context.Context, number string) ([]Change, error) {
	return s.changes(ctx, "number = ?", number)
}

// changes reads the rows of blocklist_changes matching where (with its
// one bound argument), by number, oldest first.
func (s *Store) changes(ctx context.Context, where string, arg any) ([]Change, error) {
	rows, err := s.conn.Query(ctx, "SELECT number, toString(action), toString(source), actor, reason, score, at FROM "+s.db+
		".blocklist_changes WHERE "+where+" ORDER BY number, at, action, source", arg)
	if err != nil {
		return nil, fmt.Errorf("read blocklist_changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.Number, &c.Action, &c.Source, &c.Actor, &c.Reason, &c.Score, &c.At); err != nil {
			return nil, fmt.Errorf("read blocklist_changes: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
