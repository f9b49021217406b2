package decode

import (
	"testing"
)

// BenchmarkDecodeMix decodes a generated feed of about 25k lines, one line
// per iteration, so ns/op and allocs/op are per CDR (rejected lines
// included, as on the wire). Run it with -cpu 1 for the one-core rate.
func BenchmarkDecodeMix(b *testing.B) {
	lines, now := mixLines(b)
	d := NewDecoder(mixOptions())
	var size int
	for _, l := range lines {
		size += len(l)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Decode(lines[i], now) //nolint:errcheck // rejects are part of the mix
		if i++; i == len(lines) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "CDR/s")
}
