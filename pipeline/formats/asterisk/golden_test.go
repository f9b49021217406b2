package asterisk

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/internal/golden"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// testNow is the clock of the golden tests: after every sample row.
var testNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// customColumns is the legacy cdr_custom mapping custom.csv was written
// with.
var customColumns = []string{"${CDR(clid)}", "${CDR(src)}", "${CDR(dst)}", "${CDR(dcontext)}", "${CDR(channel)}",
	"${CDR(dstchannel)}", "${CDR(lastapp)}", "${CDR(lastdata)}", "${CDR(start)}", "${CDR(answer)}", "${CDR(end)}",
	"${CDR(duration)}", "${CDR(billsec)}", "${CDR(disposition)}", "${CDR(amaflags)}", "${CDR(accountcode)}",
	"${CDR(uniqueid)}", "${CDR(userfield)}"}

func testDecoder() *decode.Decoder {
	return decode.NewDecoder(decode.Options{
		Numbering: decode.Numbering{CountryCode: "86", NationalPrefix: "0", InternationalPrefixes: []string{"00"}},
		Zone:      time.FixedZone("CST", 8*3600), MaxFuture: time.Hour,
	})
}

// decodeFile splits, parses and decodes a sample file, one line of
// output a row: its CDR as the contract's JSON, or why it was rejected.
func decodeFile(t testing.TB, p *Parser, path string) string {
	t.Helper()
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := testDecoder()
	var out []byte
	var f decode.Fields
	err = p.Split(bytes.NewReader(in), func(rec []byte) error {
		f.Reset()
		c, err := schemas.CDR{}, p.Parse(rec, &f)
		if err == nil {
			c, err = d.DecodeFields(&f, testNow)
		}
		if err != nil {
			out = append(out, "REJECT "+decode.ReasonOf(err)+": "+err.Error()...)
		} else {
			out = schemas.AppendJSON(out, &c)
		}
		out = append(out, '\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		file     string
		columns  []string
		switchID string
	}{
		{"Master-16.csv", nil, "ast-bj-01"},
		{"Master-21.csv", nil, ""},
		{"custom.csv", customColumns, ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p, err := New(tc.columns, tc.switchID)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			golden.Check(t, path[:len(path)-len(".csv")]+".golden", decodeFile(t, p, path))
		})
	}
}
