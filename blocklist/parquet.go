package blocklist

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// The Parquet export: one row per entry, for analysts' tools and data
// lakes rather than switches.

var parquetSchema = arrow.NewSchema([]arrow.Field{
	{Name: "number", Type: arrow.BinaryTypes.String},
	{Name: "kind", Type: arrow.BinaryTypes.String},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	{Name: "detectors", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "reasons", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	{Name: "first_flagged", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "last_flagged", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
	{Name: "expires", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "source", Type: arrow.BinaryTypes.String},
}, nil)

// writeParquet writes l as one Parquet row group, Snappy-compressed.
func writeParquet(w io.Writer, l *List) error {
	b := array.NewRecordBuilder(memory.NewGoAllocator(), parquetSchema)
	defer b.Release()
	f := b.Fields()
	for i := range l.Items {
		it := &l.Items[i]
		f[0].(*array.StringBuilder).Append(it.Number)
		f[1].(*array.StringBuilder).Append(kind(it))
		f[2].(*array.Float64Builder).Append(it.Score)
		for j, list := range [][]string{it.Detectors, it.Reasons} {
			lb := f[3+j].(*array.ListBuilder)
			lb.Append(true)
			for _, s := range list {
				lb.ValueBuilder().(*array.StringBuilder).Append(s)
			}
		}
		f[5].(*array.TimestampBuilder).Append(arrow.Timestamp(it.First.UnixMilli()))
		f[6].(*array.TimestampBuilder).Append(arrow.Timestamp(it.Last.UnixMilli()))
		if it.Expires.IsZero() {
			f[7].(*array.TimestampBuilder).AppendNull()
		} else {
			f[7].(*array.TimestampBuilder).Append(arrow.Timestamp(it.Expires.UnixMilli()))
		}
		f[8].(*array.StringBuilder).Append(it.Source)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	fw, err := pqarrow.NewFileWriter(parquetSchema, w, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)),
		pqarrow.DefaultWriterProps())
	if err != nil {
		return fmt.Errorf("export parquet: %w", err)
	}
	if err := fw.Write(rec); err != nil {
		fw.Close()
		return fmt.Errorf("export parquet: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("export parquet: %w", err)
	}
	return nil
}

// ReadParquet reads an exported Parquet list back.
func ReadParquet(ctx context.Context, r parquet.ReaderAtSeeker) (*List, error) {
	tbl, err := pqarrow.ReadTable(ctx, r, nil, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	l := &List{}
	for tr.Next() {
		rec := tr.RecordBatch()
		col := func(i int) arrow.Array { return rec.Column(i) }
		for row := 0; row < int(rec.NumRows()); row++ {
			it := Item{
				Number: col(0).(*array.String).Value(row),
				Prefix: col(1).(*array.String).Value(row) == "prefix",
				Score:  col(2).(*array.Float64).Value(row),
				First:  time.UnixMilli(int64(col(5).(*array.Timestamp).Value(row))).UTC(),
				Last:   time.UnixMilli(int64(col(6).(*array.Timestamp).Value(row))).UTC(),
				Source: col(8).(*array.String).Value(row),
			}
			for j, dst := range []*[]string{&it.Detectors, &it.Reasons} {
				list := col(3 + j).(*array.List)
				start, end := list.ValueOffsets(row)
				values := list.ListValues().(*array.String)
				for k := start; k < end; k++ {
					*dst = append(*dst, values.Value(int(k)))
				}
			}
			if exp := col(7).(*array.Timestamp); !exp.IsNull(row) {
				it.Expires = time.UnixMilli(int64(exp.Value(row))).UTC()
			}
			l.Items = append(l.Items, it)
		}
	}
	return l, tr.Err()
}
