package freeswitch_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/formats"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/freeswitch"
)

// records returns the records Split finds in a testdata file.
func records(b *testing.B, p formats.Parser, file string) [][]byte {
	in, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		b.Fatal(err)
	}
	var recs [][]byte
	if err := p.Split(bytes.NewReader(in), func(rec []byte) error {
		recs = append(recs, bytes.Clone(rec))
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return recs
}

// benchDecode parses and decodes recs over and over, reporting records/s.
func benchDecode(b *testing.B, p formats.Parser, recs [][]byte) {
	d := newDecoder()
	var f decode.Fields
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, rec := range recs {
			f.Reset()
			if p.Parse(rec, &f) == nil {
				_, _ = d.DecodeFields(&f, now)
			}
		}
		n += len(recs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}

func BenchmarkDecodeCSV(b *testing.B) {
	p := mustCSV(b, nil, "fs-bj-01")
	benchDecode(b, p, records(b, p, "Master.csv"))
}

func BenchmarkDecodeJSON(b *testing.B) {
	p := freeswitch.NewJSON("fs-bj-01")
	benchDecode(b, p, records(b, p, "cdr.json"))
}
