package sink

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/cdrpipe/cdrpipe/internal/golden"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestCDRBlockGolden pins the native-format bytes a batch of CDRs is sent
// as: NULL and non-NULL times, every disposition, empty and set optional
// fields. A change to how the batch holds its columns must not change
// what the server receives (rerun with -update only when it should).
func TestCDRBlockGolden(t *testing.T) {
	start := time.Date(2026, 11, 29, 7, 0, 3, 250e6, time.UTC)
	var b Batch
	for i := range 7 {
		c := schemas.CDR{CallID: "id" + string(rune('a'+i)), Caller: "+8613912345678", Callee: "+8613800000001",
			StartTime: start.Add(time.Duration(i) * time.Minute), Disposition: schemas.Disposition(i), Cause: uint16(16 + i),
			RingDuration: float64(i) + 0.5}
		c.Key = c.CallID
		if i%2 == 1 {
			c.AnswerTime = c.StartTime.Add(5 * time.Second)
			c.Duration = 42
		}
		if i%3 != 2 {
			c.EndTime = c.StartTime.Add(50 * time.Second)
		}
		if i == 5 {
			c.Caller, c.Withheld = "", true
		}
		if i == 4 {
			c.CallID, c.Key = "", "h:0123456789abcdef"
			c.SwitchID, c.TrunkID, c.IMSI, c.IMEI, c.CellID, c.Attestation = "sw", "TG001", "460001", "35123", "460-00-1", "A"
		}
		b.AddCDR(&c, "cdrs", i, int64(1000+i))
	}
	// Outside the contract: written as 'unknown' rather than failing the
	// insert.
	odd := schemas.CDR{Key: "odd", Caller: "+8613912345678", Callee: "+8613800000001", StartTime: start, Disposition: 42}
	b.AddCDR(&odd, "cdrs", 7, 1007)
	var buf chproto.Buffer
	encodeCDRs(t, &b, cdrBlock(t), &buf)
	golden.Check(t, filepath.Join("testdata", "cdrs_block.golden"), hex.Dump(buf.Buf))

	// A retried insert appends the columns again: same bytes.
	again := append([]byte(nil), buf.Buf...)
	encodeCDRs(t, &b, cdrBlock(t), &buf)
	if string(again) != string(buf.Buf) {
		t.Error("encoding the same batch twice gave different bytes")
	}
}

// TestAddCDRAllocs fails when buffering a row allocates again once the
// batch has grown (Nullable times used to cost two allocations a row).
// Only the few per-batch allocations of handing columns to the driver
// ([]any) are allowed.
func TestAddCDRAllocs(t *testing.T) {
	at := time.Date(2026, 11, 29, 7, 0, 3, 0, time.UTC)
	c := schemas.CDR{Key: "k", Caller: "+8613912345678", Callee: "+8613800000001", StartTime: at,
		AnswerTime: at.Add(5 * time.Second), EndTime: at.Add(time.Minute), Duration: 55, Disposition: schemas.Answered}
	var b Batch
	const rows = 1000
	fill := func() {
		b.Reset()
		for i := range rows {
			b.AddCDR(&c, "cdrs", 0, int64(i))
		}
		b.cdrs.columns()
	}
	fill()
	if allocs := testing.AllocsPerRun(10, fill); allocs/rows > 0.05 {
		t.Errorf("refilling a batch of %d CDRs allocates %v times, want no allocation per row", rows, allocs)
	}
}

// cdrBlock builds the driver's block for an insert into cdrs, with the
// column types read from the schema, as PrepareBatch gets them from the
// server.
func cdrBlock(tb testing.TB) *proto.Block {
	tb.Helper()
	types := tableTypes(tb, "cdrs")
	block := proto.NewBlock()
	for _, name := range strings.Split(strings.Trim(cdrInsert, "()"), ", ") {
		typ, ok := types[name]
		if !ok {
			tb.Fatalf("column %s of cdrInsert is not in the cdrs schema", name)
		}
		if err := block.AddColumn(name, column.Type(typ)); err != nil {
			tb.Fatalf("column %s %s: %v", name, typ, err)
		}
	}
	return block
}

// tableTypes maps the columns of table to their types, from the
// migration that creates it and the ones that add columns to it.
func tableTypes(tb testing.TB, table string) map[string]string {
	tb.Helper()
	migs, err := schemas.Migrations("db")
	if err != nil {
		tb.Fatal(err)
	}
	var types map[string]string
	add := "ALTER TABLE db." + table + " ADD COLUMN "
	for _, m := range migs {
		for _, stmt := range m.Statements {
			if col, ok := strings.CutPrefix(stmt, add); ok && types != nil {
				fields := strings.Fields(col)
				types[fields[0]] = fields[1]
				continue
			}
			head, body, ok := strings.Cut(stmt, "\n(")
			if !ok || !strings.HasSuffix(head, "db."+table) {
				continue
			}
			body, _, _ = strings.Cut(body, "\n)")
			types = make(map[string]string)
			for line := range strings.Lines(body) {
				name, typ, _ := strings.Cut(strings.TrimSpace(line), " ")
				if name != "" {
					types[name] = strings.TrimSuffix(strings.TrimSpace(typ), ",")
				}
			}
		}
	}
	if types == nil {
		tb.Fatalf("no CREATE TABLE for %s in the migrations", table)
	}
	return types
}

// encodeCDRs does what an insert does with a filled batch, short of the
// network: append each column to the driver's block and encode the block
// in the native format.
func encodeCDRs(tb testing.TB, b *Batch, block *proto.Block, buf *chproto.Buffer) {
	for _, c := range block.Columns {
		c.Reset()
	}
	for i, col := range b.cdrs.columns() {
		if _, err := block.Columns[i].Append(col); err != nil {
			tb.Fatalf("append column %s: %v", block.Columns[i].Name(), err)
		}
	}
	buf.Reset()
	if err := block.Encode(buf, proto.DBMS_TCP_PROTOCOL_VERSION); err != nil {
		tb.Fatal(err)
	}
}
