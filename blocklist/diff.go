package blocklist

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Difference is what a shadow run's rules would change in the blocklist
// compared with production's: numbers and blocked number blocks.
type Difference struct {
	// Blocked are entries the shadow would block and production does not.
	Blocked []Item
	// Released are entries production blocks and the shadow would not.
	Released []Item
	// Kept counts entries both block.
	Kept int
}

// Diff compares the blocklist of database shadow with that of prod, both
// numbers and blocks (blocklist_ranges). Production's manual entries are
// left out: people decided them, whatever the rules. When from and to are
// set, production's side is restricted to entries flagged in a window
// overlapping [from, to), the stretch the shadow replayed.
func Diff(ctx context.Context, conn driver.Conn, prod, shadow string, from, to time.Time) (*Difference, error) {
	p, err := New(conn, prod, time.Now).Snapshot(ctx, Query{})
	if err != nil {
		return nil, fmt.Errorf("production's blocklist: %w", err)
	}
	s, err := New(conn, shadow, time.Now).Snapshot(ctx, Query{})
	if err != nil {
		return nil, fmt.Errorf("the shadow's blocklist: %w", err)
	}
	var inWindow map[string]bool
	if !from.IsZero() && !to.IsZero() {
		if inWindow, err = flaggedIn(ctx, conn, prod, from, to); err != nil {
			return nil, err
		}
	}
	prodKeys := map[string]Item{}
	for _, it := range p.Items {
		k := itemKey(it)
		if it.Source == "manual" || (inWindow != nil && !inWindow[k]) {
			continue
		}
		prodKeys[k] = it
	}
	d := &Difference{}
	shadowKeys := map[string]bool{}
	for _, it := range s.Items {
		k := itemKey(it)
		shadowKeys[k] = true
		if _, ok := prodKeys[k]; ok {
			d.Kept++
		} else {
			d.Blocked = append(d.Blocked, it)
		}
	}
	for k, it := range prodKeys {
		if !shadowKeys[k] {
			d.Released = append(d.Released, it)
		}
	}
	byScore(d.Blocked)
	byScore(d.Released)
	return d, nil
}

// itemKey names an entry: its number, or its block's RangeEntry.
func itemKey(it Item) string {
	if it.Prefix {
		return RangeEntry(it.Number)
	}
	return it.Number
}

func byScore(es []Item) {
	slices.SortFunc(es, func(a, b Item) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(itemKey(a), itemKey(b))
	})
}

// flaggedIn returns the numbers and blocks (as RangeEntry) of db with a
// flag in a window overlapping [from, to).
func flaggedIn(ctx context.Context, conn driver.Conn, db string, from, to time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	for _, q := range []struct{ table, key, suffix string }{{"flagged_numbers", "number", ""}, {"range_flags", "prefix", "*"}} {
		rows, err := conn.Query(ctx, "SELECT DISTINCT "+q.key+" FROM "+db+"."+q.table+
			" WHERE window_end > toDateTime(?) AND window_start < toDateTime(?)", from.Unix(), to.Unix())
		if err != nil {
			return nil, fmt.Errorf("read %s.%s: %w", db, q.table, err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read %s.%s: %w", db, q.table, err)
			}
			out[k+q.suffix] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read %s.%s: %w", db, q.table, err)
		}
	}
	return out, nil
}

// String renders the difference for a person; blocks show as their
// prefix with '*'.
func (d *Difference) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "would newly block %d, would release %d, unchanged %d\n", len(d.Blocked), len(d.Released), d.Kept)
	for _, e := range d.Blocked {
		fmt.Fprintf(&b, "+ %s  %.2f  %s\n", itemKey(e), e.Score, strings.Join(e.Reasons, "; "))
	}
	for _, e := range d.Released {
		fmt.Fprintf(&b, "- %s  %.2f  %s\n", itemKey(e), e.Score, strings.Join(e.Reasons, "; "))
	}
	return b.String()
}
