package asterisk

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

// sampleRows are the rows of a sample file that decode.
func sampleRows(b *testing.B, p *Parser, name string) [][]byte {
	in, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	d := testDecoder()
	var rows [][]byte
	var f decode.Fields
	_ = p.Split(bytes.NewReader(in), func(rec []byte) error {
		f.Reset()
		if p.Parse(rec, &f) == nil {
			if _, err := d.DecodeFields(&f, testNow); err == nil {
				rows = append(rows, bytes.Clone(rec))
			}
		}
		return nil
	})
	return rows
}

// BenchmarkDecode is Parse and DecodeFields of the sample rows that
// decode, one record an op.
func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name    string
		columns []string
	}{{"Master-16.csv", nil}, {"Master-21.csv", nil}, {"custom.csv", customColumns}} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := New(tc.columns, "")
			if err != nil {
				b.Fatal(err)
			}
			rows := sampleRows(b, p, tc.name)
			d := testDecoder()
			var f decode.Fields
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				f.Reset()
				if err := p.Parse(rows[i%len(rows)], &f); err != nil {
					b.Fatal(err)
				}
				if _, err := d.DecodeFields(&f, testNow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkSplitFields compares the hand field splitter with
// encoding/csv reading the same row, the choice csv.go explains.
func BenchmarkSplitFields(b *testing.B) {
	p, _ := New(nil, "")
	rows := sampleRows(b, p, "Master-21.csv")
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p.buf = p.buf[:0]
			if n := p.splitFields(rows[i%len(rows)]); n != 21 {
				b.Fatal(n)
			}
		}
	})
	b.Run("encoding_csv", func(b *testing.B) {
		b.ReportAllocs()
		var br bytes.Reader
		for i := 0; b.Loop(); i++ {
			br.Reset(rows[i%len(rows)])
			r := csv.NewReader(&br)
			r.LazyQuotes, r.FieldsPerRecord, r.ReuseRecord = true, -1, true
			rec, err := r.Read()
			if err != nil || len(rec) != 21 {
				b.Fatal(len(rec), err)
			}
		}
	})
}
