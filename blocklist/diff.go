package blocklist

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Difference is what a shadow run's blocklist would change compared with
// production's.
type Difference struct {
	// Blocked are numbers the shadow would block and production does not.
	Blocked []Entry
	// Released are numbers production blocks and the shadow would not.
	Released []Entry
	// Kept counts numbers both block.
	Kept int
}

// Diff compares the blocklist of database shadow with that of prod. When
// from and to are set, production's side is restricted to numbers with a
// flag in a window overlapping [from, to), the stretch the shadow replayed.
func Diff(ctx context.Context, conn driver.Conn, prod, shadow string, from, to time.Time) (*Difference, error) {
	restrict := ""
	if !from.IsZero() && !to.IsZero() {
		restrict = fmt.Sprintf(" AND number IN (SELECT number FROM %s.flagged_numbers WHERE window_end > toDateTime(%d) AND window_start < toDateTime(%d))",
			prod, from.Unix(), to.Unix())
	}
	p, err := entries(ctx, conn, "SELECT number, score, reasons, source FROM "+prod+".blocklist WHERE 1"+restrict)
	if err != nil {
		return nil, err
	}
	s, err := entries(ctx, conn, "SELECT number, score, reasons, source FROM "+shadow+".blocklist")
	if err != nil {
		return nil, err
	}
	d := &Difference{}
	for n, e := range s {
		if _, ok := p[n]; ok {
			d.Kept++
		} else {
			d.Blocked = append(d.Blocked, e)
		}
	}
	for n, e := range p {
		if _, ok := s[n]; !ok {
			d.Released = append(d.Released, e)
		}
	}
	byScore := func(es []Entry) {
		sort.Slice(es, func(i, j int) bool {
			if es[i].Score != es[j].Score {
				return es[i].Score > es[j].Score
			}
			return es[i].Number < es[j].Number
		})
	}
	byScore(d.Blocked)
	byScore(d.Released)
	return d, nil
}

func entries(ctx context.Context, conn driver.Conn, q string) (map[string]Entry, error) {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read blocklist: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Entry)
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.Number, &e.Score, &e.Reasons, &e.Source); err != nil {
			return nil, fmt.Errorf("read blocklist: %w", err)
		}
		out[e.Number] = e
	}
	return out, rows.Err()
}

// String renders the difference for a person.
func (d *Difference) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "would newly block %d, would release %d, unchanged %d\n", len(d.Blocked), len(d.Released), d.Kept)
	for _, e := range d.Blocked {
		fmt.Fprintf(&b, "+ %s  %.2f  %s\n", e.Number, e.Score, strings.Join(e.Reasons, "; "))
	}
	for _, e := range d.Released {
		fmt.Fprintf(&b, "- %s  %.2f  %s\n", e.Number, e.Score, strings.Join(e.Reasons, "; "))
	}
	return b.String()
}
