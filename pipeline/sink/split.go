package sink

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// writeTable inserts cols, the columns of t, retrying transient errors.
// When ClickHouse refuses the rows themselves it inserts them in halves,
// splitting again those that fail, and quarantines each single row that
// still fails: one bad row, or a batch spanning too many partitions, no
// longer wedges the pipeline. Rows read from Kafka are written in offset
// order per partition, halves and quarantined rows alike, so a crash in
// the middle never leaves a row unwritten below one written (Stored
// relies on it).
func (s *Sink) writeTable(ctx context.Context, t *table, cols []any) error {
	err := s.insertRetry(ctx, t, cols)
	if _, data := dataReason(err); !data {
		return err
	}
	idx := t.sorted(cols)
	s.log.Info("clickhouse refused rows, inserting them in halves around the ones at fault", "table", t.name,
		"rows", len(idx), "partitions", t.partitions(cols, idx), "err", err)
	splits, quarantined := s.Splits.Load(), s.quarantinedBy[t.name].Load()
	if err := s.settle(ctx, t, cols, idx, err); err != nil {
		return err
	}
	s.log.Info("refused rows split out", "table", t.name, "inserts", 2*(s.Splits.Load()-splits),
		"quarantined", s.quarantinedBy[t.name].Load()-quarantined)
	return nil
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
// data error, down to single rows, which are quarantined there and then.
func (s *Sink) settle(ctx context.Context, t *table, cols []any, idx []int, cause error) error {
	if len(idx) == 1 {
		var q quarantineRows
		q.add(t, cols, idx[0], cause)
		return s.quarantine(ctx, t, &q)
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
		if err := s.settle(ctx, t, cols, half, err); err != nil {
			return err
		}
	}
	return nil
}

// sorted returns the indices of the rows of cols in the order their
// halves are written: rows read from Kafka by the partition and offset of
// the message that stored them (in which they also roughly follow time,
// and which Stored relies on), other rows by the column t is
// partitioned by; either way each half of a split spans fewer partitions.
func (t *table) sorted(cols []any) []int {
	idx := allRows(colLen(cols[0]))
	if t.orderPartition >= 0 && t.orderOffset >= 0 {
		ps, offs := cols[t.orderPartition].([]uint32), cols[t.orderOffset].([]uint64)
		slices.SortStableFunc(idx, func(a, b int) int {
			return cmp.Or(cmp.Compare(ps[a], ps[b]), cmp.Compare(offs[a], offs[b]))
		})
		return idx
	}
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
