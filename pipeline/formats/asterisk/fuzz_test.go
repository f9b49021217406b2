package asterisk

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

// FuzzParse feeds rows to both kinds of parser, one at a time as Kafka
// messages and together as a file: nothing may panic, and every row a
// parser refuses carries a reason.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, name := range files {
		in, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		p, _ := New(nil, "")
		_ = p.Split(bytes.NewReader(in), func(rec []byte) error {
			f.Add(bytes.Clone(rec))
			return nil
		})
	}
	f.Add([]byte("\"a\n\"\"\r\n,\"\n"))
	csv, _ := New(nil, "")
	custom, err := New(customColumns, "sw")
	if err != nil {
		f.Fatal(err)
	}
	d := testDecoder()
	f.Fuzz(func(t *testing.T, rec []byte) {
		for _, p := range []*Parser{csv, custom} {
			parse(t, p, d, rec)
			var rows [][]byte
			if err := p.Split(bytes.NewReader(rec), func(row []byte) error {
				rows = append(rows, bytes.Clone(row))
				parse(t, p, d, row)
				return nil
			}); err != nil {
				t.Fatalf("Split(%q): %v", rec, err)
			}
			// A row without line ends is one record, as it came.
			if len(rec) > 0 && !bytes.ContainsAny(rec, "\r\n") && (len(rows) != 1 || !bytes.Equal(rows[0], rec)) {
				t.Fatalf("Split(%q) = %q, want the row itself", rec, rows)
			}
		}
	})
}

func parse(t *testing.T, p *Parser, d *decode.Decoder, rec []byte) {
	var f decode.Fields
	if err := p.Parse(rec, &f); err != nil {
		if decode.ReasonOf(err) == "" {
			t.Fatalf("Parse(%q): %v has no reason", rec, err)
		}
		return
	}
	if _, err := d.DecodeFields(&f, testNow); err != nil && decode.ReasonOf(err) == "" {
		t.Fatalf("DecodeFields of %q: %v has no reason", rec, err)
	}
}
