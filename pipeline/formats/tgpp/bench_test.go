package tgpp_test

import (
	"testing"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/tgpp"
)

// BenchmarkDecode measures Parse and DecodeFields over the sample
// records, valid and rejected alike, as a file of them would mix.
func BenchmarkDecode(b *testing.B) {
	recs := samples()
	p, d := tgpp.New(switchID), newDecoder()
	var f decode.Fields
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, rec := range recs {
			f.Reset()
			if p.Parse(rec, &f) == nil {
				_, _ = d.DecodeFields(&f, now)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkParse measures Parse alone over the valid sample records.
func BenchmarkParse(b *testing.B) {
	recs := samples()[:7]
	p := tgpp.New(switchID)
	var f decode.Fields
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, rec := range recs {
			f.Reset()
			if err := p.Parse(rec, &f); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
