package delimited_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/golden"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/delimited"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// mediation is the layout of testdata/mediation.csv: a mediation export
// with its own column names, day-first times and its own result words.
func mediation() config.CSV {
	return config.CSV{Delimiter: ";", Header: true, TimeLayout: "02/01/2006 15:04:05",
		Fields: []string{"call_id=Record ID", "caller=A Number", "callee=B Number", "start_time=Start Time",
			"answer_time=Answer Time", "end_time=End Time", "duration=Talk (s)", "disposition=Result",
			"cause=Release Cause", "trunk_id=Route"},
		Dispositions: []string{"OK=answered", "NR=no_answer", "BSY=busy"}}
}

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func newDecoder() *decode.Decoder {
	return decode.NewDecoder(decode.Options{Numbering: decode.Numbering{CountryCode: "86", NationalPrefix: "0",
		InternationalPrefixes: []string{"00"}}, Zone: time.FixedZone("CST", 8*3600), MaxFuture: time.Hour})
}

// render decodes every record of a file, a line each: the contract's JSON
// or why it was rejected.
func render(t *testing.T, p *delimited.Parser, file string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := newDecoder()
	var out strings.Builder
	var fs decode.Fields
	err = p.Split(f, func(rec []byte) error {
		fs.Reset()
		if err := p.Parse(rec, &fs); err != nil {
			fmt.Fprintf(&out, "REJECT %s: %v\n", decode.ReasonOf(err), err)
			return nil
		}
		c, err := d.DecodeFields(&fs, now)
		if err != nil {
			fmt.Fprintf(&out, "REJECT %s: %v\n", decode.ReasonOf(err), err)
			return nil
		}
		out.Write(schemas.AppendJSON(nil, &c))
		out.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestGolden(t *testing.T) {
	p, err := delimited.New(mediation(), "MED-1")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "mediation.golden"), render(t, p, filepath.Join("testdata", "mediation.csv")))
}

// TestMessagesNeedColumns: a topic's rows carry no header, so the column
// order is configured, and a row reads the same as from the file.
func TestMessagesNeedColumns(t *testing.T) {
	c := mediation()
	p, err := delimited.New(c, "MED-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ForMessages(); !config.IsConfigError(err) {
		t.Errorf("ForMessages without columns: %v, want a config error", err)
	}
	c.Columns = []string{"Record ID", "A Number", "B Number", "Start Time", "Answer Time", "End Time", "Talk (s)", "Result", "Release Cause", "Route"}
	if p, err = delimited.New(c, "MED-1"); err != nil || p.ForMessages() != nil {
		t.Fatalf("with columns: %v", err)
	}
	var f decode.Fields
	if err := p.Parse([]byte("7001;013800138000;02088886666;30/11/2026 08:15:02;30/11/2026 08:15:09;30/11/2026 08:16:11;62;OK;NORMAL_CLEARING;SIPT-7"), &f); err != nil {
		t.Fatal(err)
	}
	cdr, err := newDecoder().DecodeFields(&f, now)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"call_id":"7001","caller":"+8613800138000","callee":"+862088886666","start_time":"2026-11-30T00:15:02Z","answer_time":"2026-11-30T00:15:09Z","end_time":"2026-11-30T00:16:11Z","duration":62,"ring_duration":7,"disposition":"answered","cause":16,"switch_id":"MED-1","trunk_id":"SIPT-7"}`
	if got := string(schemas.AppendJSON(nil, &cdr)); got != want {
		t.Errorf("message decoded as\n%s\nwant\n%s", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    config.CSV
		key  string
	}{
		{"two-character delimiter", config.CSV{Delimiter: ";;"}, "input.csv.delimiter"},
		{"not a field", config.CSV{Fields: []string{"talk=Talk"}}, "input.csv.fields"},
		{"no column", config.CSV{Fields: []string{"caller="}}, "input.csv.fields"},
		{"mapped twice", config.CSV{Fields: []string{"caller=a", "caller=b"}}, "input.csv.fields"},
		{"bad disposition", config.CSV{Dispositions: []string{"OK=great"}}, "input.csv.dispositions"},
		{"bad layout", config.CSV{TimeLayout: "dd/mm/yyyy"}, "input.csv.time_layout"},
		{"columns without callee", config.CSV{Columns: []string{"caller", "start_time"}}, "input.csv.columns"},
	} {
		_, err := delimited.New(tc.c, "")
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%s: %v, want an error on %s", tc.name, err, tc.key)
		}
	}
	p, _ := delimited.New(config.CSV{Header: true}, "")
	err := p.Split(strings.NewReader("a,b,c\n1,2,3\n"), func([]byte) error { return nil })
	if !config.IsConfigError(err) || !strings.Contains(err.Error(), "caller") {
		t.Errorf("a header without the mapped columns: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "mediation.csv"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(raw, []byte("\n"))[1:] {
		f.Add(line)
	}
	c := mediation()
	c.Columns = []string{"Record ID", "A Number", "B Number", "Start Time", "Answer Time", "End Time", "Talk (s)", "Result", "Release Cause", "Route"}
	p, err := delimited.New(c, "MED-1")
	if err != nil {
		f.Fatal(err)
	}
	d := newDecoder()
	f.Fuzz(func(t *testing.T, rec []byte) {
		var fs decode.Fields
		if err := p.Parse(rec, &fs); err != nil {
			if decode.ReasonOf(err) == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		d.DecodeFields(&fs, now)
	})
}

func BenchmarkDecode(b *testing.B) {
	c := mediation()
	c.Columns = []string{"Record ID", "A Number", "B Number", "Start Time", "Answer Time", "End Time", "Talk (s)", "Result", "Release Cause", "Route"}
	p, err := delimited.New(c, "MED-1")
	if err != nil {
		b.Fatal(err)
	}
	rec := []byte("7001;013800138000;02088886666;30/11/2026 08:15:02;30/11/2026 08:15:09;30/11/2026 08:16:11;62;OK;NORMAL_CLEARING;SIPT-7")
	d := newDecoder()
	var fs decode.Fields
	b.ReportAllocs()
	for b.Loop() {
		fs.Reset()
		if err := p.Parse(rec, &fs); err != nil {
			b.Fatal(err)
		}
		if _, err := d.DecodeFields(&fs, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
