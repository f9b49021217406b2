package sink

import (
	"context"
	"runtime"
	"testing"

	"github.com/ClickHouse/ch-go/compress"
	chproto "github.com/ClickHouse/ch-go/proto"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// benchCDRs decodes a generated feed (20k subscribers, about 24k valid
// records), so the rows have the real mix of empty optional fields and
// NULL answer and end times.
func benchCDRs(tb testing.TB) []schemas.CDR {
	tb.Helper()
	lines, now, err := traffic.SampleLines(context.Background(), 20000)
	if err != nil {
		tb.Fatalf("generate traffic: %v", err)
	}
	cfg := config.Default()
	traffic.Configure(&cfg)
	d := decode.NewDecoder(decode.OptionsFrom(cfg))
	var out []schemas.CDR
	for _, line := range lines {
		if c, err := d.Decode(line, now); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// BenchmarkEncodeCDRs measures the sink's CPU cost per CDR: filling a
// Batch (AddCDR) and encoding its cdrs columns as the driver sends them,
// without a server. One op is a whole batch; ns/CDR and allocs/CDR are
// per row. The lz4 case adds the block compression the driver does when
// the connection is opened with LZ4.
func BenchmarkEncodeCDRs(b *testing.B) {
	cdrs := benchCDRs(b)
	for _, lz4 := range []bool{false, true} {
		name := "plain"
		if lz4 {
			name = "lz4"
		}
		b.Run(name, func(b *testing.B) {
			block := cdrBlock(b)
			var (
				batch Batch
				buf   chproto.Buffer
				w     = compress.NewWriter(compress.LevelZero, compress.LZ4)
			)
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				batch.Reset()
				for i := range cdrs {
					batch.AddCDR(&cdrs[i], "cdrs", 3, int64(i))
				}
				encodeCDRs(b, &batch, block, &buf)
				if lz4 {
					if err := w.Compress(buf.Buf); err != nil {
						b.Fatal(err)
					}
				}
			}
			runtime.ReadMemStats(&after)
			rows := float64(b.N * len(cdrs))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/rows, "ns/CDR")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/rows, "allocs/CDR")
			b.ReportMetric(float64(len(buf.Buf))/float64(len(cdrs)), "bytes/CDR")
		})
	}
}
