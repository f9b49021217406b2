package sink

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// Stored is, per Kafka partition of one topic, the highest offset whose
// row an earlier run stored, for calls and for rejects: ClickHouse keeps
// it with every insert (the cdrs_stored and rejects_stored views), so it
// is exact whenever the pipeline stopped. Rows of partitions are written
// in offset order, so every offset up to it is stored.
type Stored struct {
	cdrs, rejects map[int]int64
}

// CDR reports whether the call read from offset of partition is stored.
func (s Stored) CDR(partition int, offset int64) bool {
	o, ok := s.cdrs[partition]
	return ok && offset <= o
}

// Reject reports whether the reject read from offset of partition is
// stored.
func (s Stored) Reject(partition int, offset int64) bool {
	o, ok := s.rejects[partition]
	return ok && offset <= o
}

// Stored reads what earlier runs stored from topic's partitions parts,
// retrying with backoff while ClickHouse is down.
func (s *Sink) Stored(ctx context.Context, topic string, parts []int) (Stored, error) {
	out := Stored{cdrs: map[int]int64{}, rejects: map[int]int64{}}
	err := s.retry(ctx, "read stored offsets", func() error {
		for view, into := range map[string]map[int]int64{"cdrs_stored": out.cdrs, "rejects_stored": out.rejects} {
			if err := s.storedIn(ctx, view, topic, parts, into); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	return out, err
}

func (s *Sink) storedIn(ctx context.Context, view, topic string, parts []int, into map[int]int64) error {
	if len(parts) == 0 {
		return nil
	}
	ids := make([]string, len(parts))
	for i, p := range parts {
		ids[i] = fmt.Sprint(p)
	}
	q := "SELECT partition, max(max_offset) FROM " + s.db + "." + view +
		" WHERE topic = '" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(topic) + "' AND partition IN (" + strings.Join(ids, ", ") + ") GROUP BY partition"
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("read %s: %w", view, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p uint32
		var o uint64
		if err := rows.Scan(&p, &o); err != nil {
			return fmt.Errorf("read %s: %w", view, err)
		}
		into[int(p)] = int64(o)
	}
	return rows.Err()
}

// Days reads the day_windows rows of the days that end after after: what
// earlier runs added to the days still open (engine.RestoreDays).
func (s *Sink) Days(ctx context.Context, after time.Time) ([]schemas.DayWindow, error) {
	var out []schemas.DayWindow
	err := s.retry(ctx, "read day_windows", func() error {
		out = out[:0]
		rows, err := s.conn.Query(ctx, "SELECT caller, day_start, day_end, window_start, calls, answered, short_calls, talk, callees FROM "+
			s.db+".day_windows FINAL WHERE day_end > toDateTime(?)", after.Unix())
		if err != nil {
			return fmt.Errorf("read day_windows: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var d schemas.DayWindow
			if err := rows.Scan(&d.Caller, &d.DayStart, &d.DayEnd, &d.WindowStart, &d.Calls, &d.Answered, &d.Short, &d.Talk, &d.Callees); err != nil {
				return fmt.Errorf("read day_windows: %w", err)
			}
			out = append(out, d)
		}
		return rows.Err()
	}, nil)
	return out, err
}
