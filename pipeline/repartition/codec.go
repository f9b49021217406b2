package repartition

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// The columns of a batch of copies, in order.
var schema = arrow.NewSchema([]arrow.Field{
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "late", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "partition", Type: arrow.PrimitiveTypes.Int32},
	{Name: "offset", Type: arrow.PrimitiveTypes.Int64},
	{Name: "call_id", Type: arrow.BinaryTypes.String},
	{Name: "call_key", Type: arrow.BinaryTypes.String},
	{Name: "caller", Type: arrow.BinaryTypes.String},
	{Name: "callee", Type: arrow.BinaryTypes.String},
	{Name: "withheld", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "start_ms", Type: arrow.PrimitiveTypes.Int64},
	{Name: "answer_ms", Type: arrow.PrimitiveTypes.Int64},
	{Name: "end_ms", Type: arrow.PrimitiveTypes.Int64},
	{Name: "duration", Type: arrow.PrimitiveTypes.Float64},
	{Name: "ring_duration", Type: arrow.PrimitiveTypes.Float64},
	{Name: "disposition", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "cause", Type: arrow.PrimitiveTypes.Uint16},
	{Name: "switch_id", Type: arrow.BinaryTypes.String},
	{Name: "trunk_id", Type: arrow.BinaryTypes.String},
	{Name: "imsi", Type: arrow.BinaryTypes.String},
	{Name: "imei", Type: arrow.BinaryTypes.String},
	{Name: "cell_id", Type: arrow.BinaryTypes.String},
	{Name: "attestation", Type: arrow.BinaryTypes.String},
}, nil)

// Encoder turns batches of copies into Arrow IPC streams, reusing its
// builders from one batch to the next. It is not safe for concurrent use.
type Encoder struct {
	b   *array.RecordBuilder
	buf bytes.Buffer
}

// NewEncoder returns an encoder.
func NewEncoder() *Encoder {
	return &Encoder{b: array.NewRecordBuilder(memory.NewGoAllocator(), schema)}
}

// Encode returns copies as one Arrow IPC stream (a schema and one record
// batch) followed by its CRC-32C, in a slice of its own.
func (e *Encoder) Encode(copies []Copy) ([]byte, error) {
	for i := range copies {
		e.append(&copies[i])
	}
	rec := e.b.NewRecordBatch()
	defer rec.Release()
	e.buf.Reset()
	w := ipc.NewWriter(&e.buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		return nil, fmt.Errorf("encode %d copies: %w", len(copies), err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode %d copies: %w", len(copies), err)
	}
	return binary.BigEndian.AppendUint32(bytes.Clone(e.buf.Bytes()), crc32.Checksum(e.buf.Bytes(), castagnoli)), nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (e *Encoder) append(c *Copy) {
	f := e.b.Fields()
	cdr := &c.CDR
	f[0].(*array.Uint8Builder).Append(uint8(c.Side))
	f[1].(*array.BooleanBuilder).Append(c.Late)
	f[2].(*array.Int32Builder).Append(int32(c.Partition))
	f[3].(*array.Int64Builder).Append(c.Offset)
	f[4].(*array.StringBuilder).Append(cdr.CallID)
	f[5].(*array.StringBuilder).Append(cdr.Key)
	f[6].(*array.StringBuilder).Append(cdr.Caller)
	f[7].(*array.StringBuilder).Append(cdr.Callee)
	f[8].(*array.BooleanBuilder).Append(cdr.Withheld)
	f[9].(*array.Int64Builder).Append(millis(cdr.StartTime))
	f[10].(*array.Int64Builder).Append(millis(cdr.AnswerTime))
	f[11].(*array.Int64Builder).Append(millis(cdr.EndTime))
	f[12].(*array.Float64Builder).Append(cdr.Duration)
	f[13].(*array.Float64Builder).Append(cdr.RingDuration)
	f[14].(*array.Uint8Builder).Append(uint8(cdr.Disposition))
	f[15].(*array.Uint16Builder).Append(cdr.Cause)
	for i, s := range []string{cdr.SwitchID, cdr.TrunkID, cdr.IMSI, cdr.IMEI, cdr.CellID, cdr.Attestation} {
		f[16+i].(*array.StringBuilder).Append(s)
	}
}

// millis is t in Unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// schemaMessage is how every stream Encode writes begins: the schema
// message, the same each time.
var schemaMessage = func() []byte {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Close(); err != nil {
		panic("BUG: encode the copies' schema: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
}()

// Decode appends to dst the copies of a message Encode wrote. Anything
// else is an error, never a panic.
//
// The IPC reader trusts the sizes a stream states, and a damaged one can
// make it allocate without bound (beyond recovery: the runtime stops) or
// for ever. So the checksum must match first: only cdrpipe writes the
// internal topic, and damage on the way is caught. Then only our own
// schema is read, and a batch's buffers cannot outgrow the message.
func Decode(dst []Copy, b []byte) (out []Copy, err error) {
	if len(b) < 4 {
		return dst, &FormatError{What: "message: too short"}
	}
	b, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(b, castagnoli) != sum {
		return dst, &FormatError{What: "message: checksum mismatch"}
	}
	if !bytes.HasPrefix(b, schemaMessage) {
		return dst, &FormatError{What: "Arrow stream: not the copies' schema"}
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = dst, &FormatError{What: fmt.Sprintf("Arrow stream (%v)", p)}
		}
	}()
	mem := &boundedAllocator{Allocator: memory.DefaultAllocator, left: 2*len(b) + 4096}
	r, err := ipc.NewReader(bytes.NewReader(b), ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		return dst, &FormatError{What: "Arrow stream: " + err.Error()}
	}
	defer r.Release()
	for r.Next() {
		if dst, err = appendCopies(dst, r.RecordBatch()); err != nil {
			return dst, err
		}
	}
	if err := r.Err(); err != nil {
		return dst, &FormatError{What: "Arrow stream: " + err.Error()}
	}
	return dst, nil
}

// appendCopies appends the rows of rec, whose schema the reader checked.
func appendCopies(dst []Copy, rec arrow.RecordBatch) ([]Copy, error) {
	col := rec.Columns()
	for _, c := range col {
		if err := array.ValidateFull(c); err != nil {
			return dst, &FormatError{What: "Arrow batch: " + err.Error()}
		}
		if c.Len() != int(rec.NumRows()) {
			return dst, &FormatError{What: "Arrow batch: columns of unequal length"}
		}
	}
	side := col[0].(*array.Uint8)
	late := col[1].(*array.Boolean)
	part := col[2].(*array.Int32)
	off := col[3].(*array.Int64)
	str := func(i int) *array.String { return col[i].(*array.String) }
	i64 := func(i int) *array.Int64 { return col[i].(*array.Int64) }
	dur, ring := col[12].(*array.Float64), col[13].(*array.Float64)
	disp, cause := col[14].(*array.Uint8), col[15].(*array.Uint16)
	for i := range int(rec.NumRows()) {
		s := engine.Side(side.Value(i))
		if s > engine.GroupSide {
			return dst, &FormatError{What: fmt.Sprintf("side %d", s)}
		}
		dst = append(dst, Copy{
			Side: s, Late: late.Value(i), Partition: int(part.Value(i)), Offset: off.Value(i),
			CDR: schemas.CDR{
				CallID: str(4).Value(i), Key: str(5).Value(i), Caller: str(6).Value(i), Callee: str(7).Value(i),
				Withheld:  col[8].(*array.Boolean).Value(i),
				StartTime: fromMillis(i64(9).Value(i)), AnswerTime: fromMillis(i64(10).Value(i)), EndTime: fromMillis(i64(11).Value(i)),
				Duration: dur.Value(i), RingDuration: ring.Value(i), Disposition: schemas.Disposition(disp.Value(i)), Cause: cause.Value(i),
				SwitchID: str(16).Value(i), TrunkID: str(17).Value(i), IMSI: str(18).Value(i), IMEI: str(19).Value(i),
				CellID: str(20).Value(i), Attestation: str(21).Value(i),
			},
		})
	}
	return dst, nil
}

// boundedAllocator refuses, by panicking (Decode recovers), to hand out
// more than left bytes in all.
type boundedAllocator struct {
	memory.Allocator
	left int
}

func (a *boundedAllocator) take(n int) {
	if n < 0 || n > a.left {
		panic(fmt.Sprintf("a buffer of %d bytes in a message of fewer", n))
	}
	a.left -= n
}

func (a *boundedAllocator) Allocate(size int) []byte {
	a.take(size)
	return a.Allocator.Allocate(size)
}

func (a *boundedAllocator) Reallocate(size int, b []byte) []byte {
	a.take(size - len(b))
	return a.Allocator.Reallocate(size, b)
}
