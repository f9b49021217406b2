package sink

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// table describes one insert of a batch, and what the split and the
// quarantine need to know of its rows.
type table struct {
	name    string
	columns string // the column list of the INSERT, in the order of values
	values  func(*Batch) []any
	rows    func(*Batch) int

	names []string // columns, one name each
	// part is the index of the DateTime column the table is partitioned
	// by, and partOf the partition of a time (toYYYYMMDD or toYYYYMM, in
	// UTC). Both partition keys grow with the time, so sorting rows by
	// that column sorts them by partition in any server time zone.
	part   int
	partOf func(time.Time) int
	// key holds the indices of the columns that identify a row (its
	// ORDER BY), so a replayed row is quarantined once.
	key []int
	// kafkaPartition and kafkaOffset are the indices of the columns that
	// say where the row came from, or -1; orderPartition and orderOffset
	// those of the message that stored it, whose order a split keeps
	// (the same columns unless the table says otherwise).
	kafkaPartition, kafkaOffset int
	orderPartition, orderOffset int
}

// newTable resolves the names of the partition and key columns of an
// insert to their indices in columns. A name missing from columns is a
// programming error, found when the package is loaded.
func newTable(name, columns string, values func(*Batch) []any, rows func(*Batch) int,
	part string, partOf func(time.Time) int, key ...string) *table {
	t := &table{name: name, columns: columns, values: values, rows: rows, partOf: partOf,
		names: strings.Split(strings.Trim(columns, "()"), ", ")}
	t.kafkaPartition = slices.Index(t.names, "kafka_partition")
	t.kafkaOffset = slices.Index(t.names, "kafka_offset")
	t.orderPartition, t.orderOffset = t.kafkaPartition, t.kafkaOffset
	if i := slices.Index(t.names, "stored_partition"); i >= 0 {
		t.orderPartition, t.orderOffset = i, slices.Index(t.names, "stored_offset")
	}
	t.part = t.index(part)
	for _, k := range key {
		t.key = append(t.key, t.index(k))
	}
	return t
}

func (t *table) index(name string) int {
	if name == "" {
		return -1
	}
	i := slices.Index(t.names, name)
	if i < 0 {
		panic("BUG: column " + name + " is not in the insert into " + t.name)
	}
	return i
}

func yyyymmdd(t time.Time) int {
	y, m, d := t.UTC().Date()
	return y*10000 + int(m)*100 + d
}

func yyyymm(t time.Time) int { return yyyymmdd(t) / 100 }

// tables are written in this order: flags first, because blocklist
// exporters wait for them, and the large cdrs insert last. Partition and
// key columns follow schemas/sql.
var tables = []*table{
	newTable("flags", flagInsert, func(b *Batch) []any { return b.flags.columns() },
		func(b *Batch) int { return len(b.flags.number) },
		"window_start", yyyymm, "number", "detector", "window_start"),
	newTable("flagged_trunks", trunkInsert, func(b *Batch) []any { return b.trunks.columns() },
		func(b *Batch) int { return len(b.trunks.detector) },
		"window_start", yyyymm, "trunk_id", "detector", "window_start"),
	newTable("range_flags", rangeInsert, func(b *Batch) []any { return b.ranges.rangeColumns() },
		func(b *Batch) int { return len(b.ranges.detector) },
		"window_start", yyyymm, "prefix", "trunk_id", "switch_id", "detector", "window_start"),
	newTable("day_windows", dayInsert, func(b *Batch) []any { return b.days.columns() },
		func(b *Batch) int { return len(b.days.caller) },
		"day_start", yyyymm, "caller", "day_start", "window_start"),
	newTable("window_stats", statsInsert, func(b *Batch) []any { return b.stats.columns() },
		func(b *Batch) int { return len(b.stats.caller) },
		"window_start", yyyymm, "caller", "window_start"),
	newTable("cdr_rejects", rejectInsert, func(b *Batch) []any { return b.rejects.columns() },
		func(b *Batch) int { return len(b.rejects.topic) },
		"received_at", yyyymm, "topic", "kafka_partition", "kafka_offset"),
	newTable("cdrs", cdrInsert, func(b *Batch) []any { return b.cdrs.columns() },
		func(b *Batch) int { return len(b.cdrs.callKey) },
		"start_time", yyyymmdd, "caller", "start_time", "call_key"),
}

// colLen is the number of rows of a column as columns() returns it.
func colLen(col any) int {
	switch c := col.(type) {
	case []string:
		return len(c)
	case [][]string:
		return len(c)
	case []time.Time:
		return len(c)
	case []*time.Time:
		return len(c)
	case []uint16:
		return len(c)
	case []uint8:
		return len(c)
	case []int8:
		return len(c)
	case []uint32:
		return len(c)
	case []uint64:
		return len(c)
	case []float64:
		return len(c)
	}
	panic("BUG: column of unexpected type")
}

// gather returns new columns holding rows idx of cols, in that order.
// Only a failed insert gets here: the normal path sends the batch's own
// slices.
func gather(cols []any, idx []int) []any {
	out := make([]any, len(cols))
	for i, col := range cols {
		switch c := col.(type) {
		case []string:
			out[i] = pick(c, idx)
		case [][]string:
			out[i] = pick(c, idx)
		case []time.Time:
			out[i] = pick(c, idx)
		case []*time.Time:
			out[i] = pick(c, idx)
		case []uint16:
			out[i] = pick(c, idx)
		case []uint8:
			out[i] = pick(c, idx)
		case []int8:
			out[i] = pick(c, idx)
		case []uint32:
			out[i] = pick(c, idx)
		case []uint64:
			out[i] = pick(c, idx)
		case []float64:
			out[i] = pick(c, idx)
		default:
			panic("BUG: column of unexpected type")
		}
	}
	return out
}

func pick[T any](s []T, idx []int) []T {
	out := make([]T, len(idx))
	for j, i := range idx {
		out[j] = s[i]
	}
	return out
}

// value returns row i of col for the quarantine's JSON: times in UTC,
// and non-finite floats as strings, which JSON has no number for.
func value(col any, i int) any {
	switch c := col.(type) {
	case []string:
		return c[i]
	case [][]string:
		return c[i]
	case []time.Time:
		return c[i].UTC()
	case []*time.Time:
		if c[i] == nil {
			return nil
		}
		return c[i].UTC()
	case []uint16:
		return c[i]
	case []uint8:
		return c[i]
	case []int8:
		return c[i]
	case []uint32:
		return c[i]
	case []uint64:
		return c[i]
	case []float64:
		if math.IsNaN(c[i]) || math.IsInf(c[i], 0) {
			return strconv.FormatFloat(c[i], 'g', -1, 64)
		}
		return c[i]
	}
	panic("BUG: column of unexpected type")
}

// keyPart formats row i of a key column: times to the second, as
// DateTime stores them.
func keyPart(col any, i int) string {
	switch v := value(col, i).(type) {
	case string:
		return v
	case time.Time:
		return v.Format(time.RFC3339)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
