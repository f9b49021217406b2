package sink

import (
	"context"
	"slices"
	"time"
)

// writeTable inserts cols, the columns of t, retrying transient errors.
// When ClickHouse refuses the rows themselves it inserts them in halves,
// sorted by partition, splitting again those that fail, and quarantines
// each single row that still fails: one bad row, or a batch spanning too
// many partitions, no longer wedges the pipeline.
func (s *Sink) writeTable(ctx context.Context, t *table, cols []any) error {
	err := s.insertRetry(ctx, t, cols)
	if _, data := dataReason(err); !data {
		return err
	}
	idx := t.sorted(cols)
	s.log.Info("clickhouse refused rows, inserting them in halves around the ones at fault", "table", t.name,
		"rows", len(idx), "partitions", t.partitions(cols, idx), "err", err)
	var q quarantineRows
	splits := s.Splits.Load()
	if err := s.settle(ctx, t, cols, idx, err, &q); err != nil {
		return err
	}
	s.log.Info("refused rows split out", "table", t.name, "inserts", 2*(s.Splits.Load()-splits), "quarantined", len(q.table))
	return s.quarantine(ctx, t, &q)
}

// insertRetry inserts cols into t, retrying transient errors with backoff
// until ctx ends. It returns nil, a data error, or ctx's error.
func (s *Sink) insertRetry(ctx context.Context, t *table, cols []any) error {
	return s.retry(ctx, "insert "+t.name, func() error { return s.try(ctx, t, cols) },
		func(err error) bool { _, data := dataReason(err); return data })
}

// try makes one insert attempt and notes its outcome for Failing.
func (s *Sink) try(ctx context.Context, t *table, cols []any) error {
	err := s.send(ctx, t, cols)
	s.health.record(s.now(), err)
	return err
}

// settle inserts rows idx of cols, which failed together with the data
// error cause: in two halves, each split again while it fails with a
// data error, down to single rows, which are added to q.
func (s *Sink) settle(ctx context.Context, t *table, cols []any, idx []int, cause error, q *quarantineRows) error {
	if len(idx) == 1 {
		q.add(t, cols, idx[0], cause)
		return nil
	}
	s.Splits.Add(1)
	mid := len(idx) / 2
	for _, half := range [][]int{idx[:mid], idx[mid:]} {
		err := s.insertRetry(ctx, t, gather(cols, half))
		if err == nil {
			continue
		}
		if _, data := dataReason(err); !data {
			return err
		}
		if err := s.settle(ctx, t, cols, half, err, q); err != nil {
			return err
		}
	}
	return nil
}

// sorted returns the indices of the rows of cols, sorted by the column t
// is partitioned by, so that each half of a split spans fewer partitions.
// Rows of one time keep their order.
func (t *table) sorted(cols []any) []int {
	idx := allRows(colLen(cols[0]))
	ts := cols[t.part].([]time.Time)
	slices.SortStableFunc(idx, func(a, b int) int { return ts[a].Compare(ts[b]) })
	return idx
}

// partitions counts the partitions (in UTC) that rows idx of cols span.
func (t *table) partitions(cols []any, idx []int) int {
	ts := cols[t.part].([]time.Time)
	seen := make(map[int]bool)
	for _, i := range idx {
		seen[t.partOf(ts[i])] = true
	}
	return len(seen)
}

// allRows returns the indices of n rows.
func allRows(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
