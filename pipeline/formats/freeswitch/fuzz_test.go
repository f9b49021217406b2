package freeswitch

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

var fuzzNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func fuzzDecoder() *decode.Decoder {
	return decode.NewDecoder(decode.Options{Numbering: decode.Numbering{CountryCode: "86", NationalPrefix: "0",
		InternationalPrefixes: []string{"00"}}, Zone: time.FixedZone("CST", 8*3600), MaxFuture: time.Hour})
}

// seedLines adds each line of the testdata files to f's corpus.
func seedLines(f *testing.F, files ...string) {
	for _, file := range files {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		for line := range bytes.Lines(b) {
			f.Add(line)
		}
	}
}

// csvRows reads in with encoding/csv as Split does.
func csvRows(in []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(in))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	return r.ReadAll()
}

// FuzzParseCSV: no row panics the parser or the decoder; the hand
// splitter reads a row as encoding/csv does; and every row Split yields
// parses back to the fields encoding/csv read.
func FuzzParseCSV(f *testing.F) {
	seedLines(f, "Master.csv", "epoch.csv")
	for _, s := range []string{`"a""b",c`, `"a"b"c",d`, `"open,x`, "\"a\r\nb\",c", `a"b,"c"`, `"",""`, "a,\"b\"\r\n", `"x",`} {
		f.Add([]byte(s))
	}
	def, _ := NewCSV(nil, "fs")
	epoch, _ := NewCSV([]string{"uuid", "switchname", "caller_id_number", "destination_number",
		"start_epoch", "answer_epoch", "end_epoch", "start_uepoch", "answer_uepoch", "end_uepoch",
		"duration", "billsec", "hangup_cause", "hangup_cause_q850"}, "fs")
	d := fuzzDecoder()
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, p := range []*CSV{def, epoch} {
			var fs decode.Fields
			if p.Parse(in, &fs) == nil {
				_, _ = d.DecodeFields(&fs, fuzzNow)
			}
		}

		want, werr := csvRows(in)
		var s rowSplitter
		got, err := s.split(in)
		if err == nil && werr == nil && len(want) == 1 && !equalFields(got, want[0]) {
			t.Errorf("split(%q) = %q, encoding/csv reads %q", in, got, want[0])
		}
		if err != nil && werr == nil && len(want) == 1 && !bytes.HasPrefix(in, []byte("\n")) && !bytes.HasPrefix(in, []byte("\r\n")) {
			t.Errorf("split(%q): %v, encoding/csv reads one row %q", in, err, want[0])
		}

		i := 0
		err = def.Split(bytes.NewReader(in), func(rec []byte) error {
			got, err := s.split(rec)
			switch {
			case err != nil:
				t.Errorf("row %d: split(%q): %v", i, rec, err)
			case werr == nil && i < len(want) && !equalFields(got, want[i]):
				t.Errorf("row %d: split(%q) = %q, encoding/csv read %q", i, rec, got, want[i])
			}
			i++
			return nil
		})
		if err == nil && werr == nil && i != len(want) {
			t.Errorf("Split yielded %d rows, encoding/csv reads %d", i, len(want))
		}
	})
}

func equalFields(got [][]byte, want []string) bool {
	return slices.EqualFunc(got, want, func(g []byte, w string) bool { return string(g) == w })
}

// FuzzParseJSON: no document panics the parser or the decoder, and Split
// yields only bytes of its input, each record non-empty.
func FuzzParseJSON(f *testing.F) {
	seedLines(f, "cdr.json")
	for _, s := range []string{`{"variables":{"start_uepoch":"1"}}`, `{"callflow":[{"caller_profile":1}],"variables":{}}`,
		`{"variables":{"caller_id_number":"%zz"}}`, `{}{`, `]`} {
		f.Add([]byte(s))
	}
	p := NewJSON("fs")
	d := fuzzDecoder()
	f.Fuzz(func(t *testing.T, in []byte) {
		var fs decode.Fields
		if p.Parse(in, &fs) == nil {
			_, _ = d.DecodeFields(&fs, fuzzNow)
		}
		total := 0
		err := p.Split(bytes.NewReader(in), func(rec []byte) error {
			if len(rec) == 0 {
				t.Errorf("Split(%q) yielded an empty record", in)
			}
			total += len(rec)
			var fs decode.Fields
			if p.Parse(rec, &fs) == nil {
				_, _ = d.DecodeFields(&fs, fuzzNow)
			}
			return nil
		})
		if err != nil && err != io.EOF {
			t.Errorf("Split(%q): %v", in, err)
		}
		if total > len(in) {
			t.Errorf("Split(%q) yielded %d bytes of %d", in, total, len(in))
		}
	})
}

// BenchmarkSplitRow compares the hand splitter Parse uses with
// encoding/csv reading the same row.
func BenchmarkSplitRow(b *testing.B) {
	row := []byte(`"Zhang Wei","13812345678","01087654321","default","2026-11-30 08:15:02","2026-11-30 08:15:09","2026-11-30 08:17:44","162","155","NORMAL_CLEARING","3f2a9c1e-5b7d-4e21-9a0c-1d2e3f405001","7c1b2d3e-4f50-4a61-8b72-9c8d7e6f5001","","PCMA","PCMA"`)
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		var s rowSplitter
		for b.Loop() {
			if _, err := s.split(row); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-csv", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r := csv.NewReader(bytes.NewReader(row))
			r.LazyQuotes = true
			r.FieldsPerRecord = -1
			if _, err := r.Read(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
