package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// quarantineInsert follows the quarantine table of
// schemas/sql/0003_field_quirks.sql.
const quarantineInsert = "(table_name, row_key, reason, error, row, kafka_partition, kafka_offset, quarantined_at)"

// quarantineTable is the insert of quarantined rows. It has no partition
// or key of its own: it is never split.
var quarantineTable = newTable("quarantine", quarantineInsert, nil, nil, "", nil)

// quarantineRows gathers the rows of one table that ClickHouse refused on
// their own, as the quarantine table's columns.
type quarantineRows struct {
	table, key, reason, err, row []string
	partition                    []uint32
	offset                       []uint64
	at                           []time.Time
}

// add adds row i of cols, a row of t that failed alone with cause.
// quarantined_at is filled in when the rows are written.
func (q *quarantineRows) add(t *table, cols []any, i int, cause error) {
	reason, _ := dataReason(cause)
	var partition uint32
	var offset uint64
	if t.kafkaPartition >= 0 && t.kafkaOffset >= 0 {
		partition, offset = cols[t.kafkaPartition].([]uint32)[i], cols[t.kafkaOffset].([]uint64)[i]
	}
	q.table = append(q.table, t.name)
	q.key = append(q.key, t.rowKey(cols, i))
	q.reason = append(q.reason, reason)
	q.err = append(q.err, cause.Error())
	q.row = append(q.row, t.rowJSON(cols, i))
	q.partition = append(q.partition, partition)
	q.offset = append(q.offset, offset)
}

func (q *quarantineRows) columns(now time.Time) []any {
	q.at = q.at[:0]
	for range q.table {
		q.at = append(q.at, now)
	}
	return []any{q.table, q.key, q.reason, q.err, q.row, q.partition, q.offset, q.at}
}

// quarantine writes the rows of q, all of table t, in one insert. It is
// retried on any error, data errors included: its rows hold only strings
// and numbers, so a failure is the server's or the schema's, not theirs.
func (s *Sink) quarantine(ctx context.Context, t *table, q *quarantineRows) error {
	if len(q.table) == 0 {
		return nil
	}
	cols := q.columns(s.now())
	err := s.retry(ctx, "insert quarantine", func() error { return s.try(ctx, quarantineTable, cols) }, nil)
	if err != nil {
		return fmt.Errorf("quarantine %d rows of %s: %w", len(q.table), t.name, err)
	}
	s.Quarantined.Add(int64(len(q.table)))
	s.quarantinedBy[t.name].Add(int64(len(q.table)))
	// One line per insert, without row keys: they hold phone numbers,
	// which stay in ClickHouse.
	s.log.Warn("clickhouse refused rows on their own; kept in the quarantine table", "table", t.name,
		"rows", len(q.table), "reason", q.reason[0], "err", q.err[0])
	return nil
}

// QuarantinedRows returns the number of rows of table (cdrs,
// flagged_numbers, caller_stats or cdr_rejects) written to the quarantine
// since the sink was opened.
func (s *Sink) QuarantinedRows(table string) int64 {
	if n, ok := s.quarantinedBy[table]; ok {
		return n.Load()
	}
	return 0
}

// newQuarantineCounters makes a counter per table; the map is only read
// afterwards, so sinks writing concurrently share it safely.
func newQuarantineCounters() map[string]*atomic.Int64 {
	m := make(map[string]*atomic.Int64, len(tables))
	for _, t := range tables {
		m[t.name] = new(atomic.Int64)
	}
	return m
}

// rowKey identifies row i of cols in t: its ORDER BY columns, joined by
// '|'. A replay quarantines the row under the same key, which the
// quarantine's ReplacingMergeTree keeps once.
func (t *table) rowKey(cols []any, i int) string {
	parts := make([]string, len(t.key))
	for j, c := range t.key {
		parts[j] = keyPart(cols[c], i)
	}
	return strings.Join(parts, "|")
}

// rowJSON returns row i of cols as a JSON object of column name to value,
// in insert order.
func (t *table) rowJSON(cols []any, i int) string {
	var b bytes.Buffer
	b.WriteByte('{')
	for c, name := range t.names {
		if c > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		v, err := json.Marshal(value(cols[c], i))
		if err != nil {
			v, _ = json.Marshal(err.Error())
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}
