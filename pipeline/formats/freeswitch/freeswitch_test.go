package freeswitch_test

import (
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
	"github.com/cdrpipe/cdrpipe/pipeline/formats"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/freeswitch"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Both parsers are formats' Parsers.
var (
	_ formats.Parser = (*freeswitch.CSV)(nil)
	_ formats.Parser = (*freeswitch.JSON)(nil)
)

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// epochColumns is the template of testdata/epoch.csv: the epochs beside
// the local stamps, and the switch's name.
var epochColumns = []string{"${uuid}", "${switchname}", "${caller_id_number}", "${destination_number}",
	"${start_epoch}", "${answer_epoch}", "${end_epoch}", "${start_uepoch}", "${answer_uepoch}", "${end_uepoch}",
	"${duration}", "${billsec}", "${hangup_cause}", "${hangup_cause_q850}"}

func newDecoder() *decode.Decoder {
	return decode.NewDecoder(decode.Options{Numbering: decode.Numbering{CountryCode: "86", NationalPrefix: "0",
		InternationalPrefixes: []string{"00"}}, Zone: time.FixedZone("CST", 8*3600), MaxFuture: time.Hour})
}

// decodeAll decodes every record of file, calling out with each CDR or
// why it was rejected.
func decodeAll(t testing.TB, p formats.Parser, file string, out func(c schemas.CDR, err error)) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := newDecoder()
	var fs decode.Fields
	err = p.Split(f, func(rec []byte) error {
		fs.Reset()
		if err := p.Parse(rec, &fs); err != nil {
			out(schemas.CDR{}, err)
			return nil
		}
		out(d.DecodeFields(&fs, now))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// render is a file's records a line each: the contract's JSON or why the
// record was rejected.
func render(t testing.TB, p formats.Parser, file string) string {
	var b strings.Builder
	decodeAll(t, p, file, func(c schemas.CDR, err error) {
		if err != nil {
			fmt.Fprintf(&b, "REJECT %s: %v\n", decode.ReasonOf(err), err)
			return
		}
		b.Write(schemas.AppendJSON(nil, &c))
		b.WriteByte('\n')
	})
	return b.String()
}

func mustCSV(t testing.TB, columns []string, switchID string) *freeswitch.CSV {
	t.Helper()
	p, err := freeswitch.NewCSV(columns, switchID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGolden(t *testing.T) {
	golden.Check(t, filepath.Join("testdata", "Master.golden"), render(t, mustCSV(t, nil, "fs-bj-01"), filepath.Join("testdata", "Master.csv")))
	golden.Check(t, filepath.Join("testdata", "epoch.golden"), render(t, mustCSV(t, epochColumns, "fs-default"), filepath.Join("testdata", "epoch.csv")))
	golden.Check(t, filepath.Join("testdata", "cdr.golden"), render(t, freeswitch.NewJSON("fs-default"), filepath.Join("testdata", "cdr.json")))
}

// TestWrittenTwice: a failed call FreeSWITCH logged twice decodes to the
// same key both times, so the second copy is a duplicate downstream.
func TestWrittenTwice(t *testing.T) {
	keys := map[string]int{}
	decodeAll(t, mustCSV(t, nil, "fs-bj-01"), filepath.Join("testdata", "Master.csv"), func(c schemas.CDR, err error) {
		if err == nil {
			keys[c.Key]++
		}
	})
	const twice = "fs-bj-01/3f2a9c1e-5b7d-4e21-9a0c-1d2e3f405005"
	if keys[twice] != 2 {
		t.Errorf("key %s seen %d times, want 2 (keys: %v)", twice, keys[twice], keys)
	}
	delete(keys, twice)
	for k, n := range keys {
		if n != 1 {
			t.Errorf("key %s seen %d times", k, n)
		}
	}
}

// TestMessage: a Kafka message holds one raw row, as FreeSWITCH wrote it
// (line end and unescaped quotes included), and reads as the file's.
func TestMessage(t *testing.T) {
	p := mustCSV(t, nil, "fs-bj-01")
	row := `"Wang "Boss" Jr","13812340000","01087654321","default","2026-11-30 11:40:00","2026-11-30 11:40:06","2026-11-30 11:41:06",66,60,"NORMAL_CLEARING","3f2a9c1e-5b7d-4e21-9a0c-1d2e3f405013","7c1b2d3e-4f50-4a61-8b72-9c8d7e6f5013","","PCMA","PCMA"` + "\r\n"
	var f decode.Fields
	if err := p.Parse([]byte(row), &f); err != nil {
		t.Fatal(err)
	}
	c, err := newDecoder().DecodeFields(&f, now)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"call_id":"3f2a9c1e-5b7d-4e21-9a0c-1d2e3f405013","caller":"+8613812340000","callee":"+861087654321","start_time":"2026-11-30T03:40:00Z","answer_time":"2026-11-30T03:40:06Z","end_time":"2026-11-30T03:41:06Z","duration":60,"ring_duration":6,"disposition":"answered","cause":16,"switch_id":"fs-bj-01"}`
	if got := string(schemas.AppendJSON(nil, &c)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestNewCSVConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		columns []string
		want    string // in the message
	}{
		{"no caller", []string{"destination_number", "start_stamp"}, "no caller_id_number"},
		{"no callee", []string{"caller_id_number", "start_epoch"}, "no destination_number"},
		{"no start", []string{"caller_id_number", "destination_number", "answer_stamp", "end_epoch"}, "no start_stamp (or start_epoch, start_uepoch)"},
		{"twice", []string{"caller_id_number", "destination_number", "start_stamp", "${caller_id_number}"}, "caller_id_number is both column 1 and column 4"},
		{"twice, other case", []string{"caller_id_number", "destination_number", "start_stamp", "UUID", "uuid"}, "uuid is both column 4 and column 5"},
		{"empty entry", []string{"caller_id_number", "destination_number", "start_stamp", "${}"}, `entry 4 ("${}") names no variable`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := freeswitch.NewCSV(tc.columns, "fs")
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Key != "input.freeswitch.columns" {
				t.Fatalf("err = %v, want a config error on input.freeswitch.columns", err)
			}
			if !strings.Contains(ce.Msg, tc.want) {
				t.Errorf("message %q lacks %q", ce.Msg, tc.want)
			}
		})
	}
	for _, ok := range [][]string{
		nil,
		{"caller_id_number", "destination_number", "start_uepoch"},
		{`"${caller_id_number}"`, " ${destination_number} ", "start_epoch", "extra", "another"},
	} {
		if _, err := freeswitch.NewCSV(ok, "fs"); err != nil {
			t.Errorf("NewCSV(%q): %v", ok, err)
		}
	}
}

func TestBadRecords(t *testing.T) {
	csvp := mustCSV(t, nil, "fs")
	epochp := mustCSV(t, epochColumns, "fs")
	jsonp := freeswitch.NewJSON("fs")
	for _, tc := range []struct {
		name string
		p    formats.Parser
		rec  string
		want string // in the message
	}{
		{"too few columns", csvp, `"a","1","2"`, "the row has 3 columns, want 15"},
		{"too many columns", csvp, strings.Repeat(`"x",`, 15) + `"x"`, "the row has 16 columns, want 15"},
		{"empty", csvp, "", "the row has 1 columns, want 15"},
		{"two rows", csvp, `"a","b"` + "\n" + `"c","d"`, "more than one row"},
		{"bad uepoch", epochp, `"u","s","1","2","","","","1796004902x","","","0","0","",""`, `freeswitch-csv: start_uepoch "1796004902x" is not a time in microseconds`},
		{"not JSON", jsonp, `caller=1`, `freeswitch-json: not a JSON document: it starts with "caller=1"`},
		{"cut short", jsonp, `{"variables": {"uuid": "a"`, "freeswitch-json: not a JSON document: unexpected end of JSON input"},
		{"an array", jsonp, `[{"variables": {}}]`, "freeswitch-json: the document is a JSON array, want an object"},
		{"no variables", jsonp, `{"core-uuid": "x", "switchname": "fs"}`, "freeswitch-json: the document has no variables object"},
		{"null variables", jsonp, `{"variables": null}`, "the document has no variables object"},
		{"variables a string", jsonp, `{"variables": "uuid=1"}`, "freeswitch-json: variables is a JSON string, want an object"},
		{"bad uepoch", jsonp, `{"variables": {"start_uepoch": "-1"}}`, `freeswitch-json: start_uepoch "-1" is not a time in microseconds`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f decode.Fields
			err := tc.p.Parse([]byte(tc.rec), &f)
			if decode.ReasonOf(err) != decode.ReasonBadRecord {
				t.Fatalf("err = %v, want a %s", err, decode.ReasonBadRecord)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q lacks %q", err, tc.want)
			}
		})
	}
}

// TestJSONValues: values may be numbers, URL-encoded or raw, and the
// numbers may come from the callflow; what is neither a string nor a
// number is absent.
func TestJSONValues(t *testing.T) {
	p := freeswitch.NewJSON("")
	f := func(doc, want string) {
		t.Helper()
		var fs decode.Fields
		if err := p.Parse([]byte(doc), &fs); err != nil {
			t.Errorf("%s: %v", doc, err)
			return
		}
		c, err := newDecoder().DecodeFields(&fs, now)
		got := string(schemas.AppendJSON(nil, &c))
		if err != nil {
			got = "REJECT " + err.Error()
		}
		if got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", doc, got, want)
		}
	}
	f(`{"core-uuid":"core-1","variables":{"caller_id_number":"100%25","destination_number":"01087654321","start_epoch":1795997702}}`,
		`REJECT caller: number "100%" has a character that is not a digit`)
	f(`{"core-uuid":"core-1","variables":{"caller_id_number":"%2B8613812345678","destination_number":"01087654321","start_stamp":"2026-11-30%2008%3A15%3A02","billsec":true,"hangup_cause":{"x":1}}}`,
		`{"caller":"+8613812345678","callee":"+861087654321","start_time":"2026-11-30T00:15:02Z","duration":0,"ring_duration":0,"disposition":"no_answer","switch_id":"core-1"}`)
	f(`{"variables":{"uuid":"u-\u0031","start_uepoch":"1795997702000999"},"callflow":{"caller_profile":{"caller_id_number":"13812345678","destination_number":"01087654321"}}}`,
		`{"call_id":"u-1","caller":"+8613812345678","callee":"+861087654321","start_time":"2026-11-30T00:15:02Z","duration":0,"ring_duration":0,"disposition":"no_answer"}`)
	f(`{"variables":{"start_epoch":"1795997702"},"callflow":[{"caller_profile":{"caller_id_number":"","destination_number":"01087654321","uuid":"u-2"}}]}`,
		`{"call_id":"u-2","caller":"anonymous","callee":"+861087654321","caller_presentation":"restricted","start_time":"2026-11-30T00:15:02Z","duration":0,"ring_duration":0,"disposition":"no_answer"}`)
	f(`{"variables":{"caller_id_number":"13812345678","start_epoch":"1795997702"},"callflow":"broken"}`,
		`REJECT missing callee`)
}

// TestSplitCSV: rows are yielded re-encoded, a quoted line end kept
// inside its field; blank lines are skipped.
func TestSplitCSV(t *testing.T) {
	in := "\"a\nb\",\"1\"\n\n\"c\"\"d\",2\r\n\"e \"f\" g\",3"
	var got []string
	err := mustCSV(t, nil, "").Split(strings.NewReader(in), func(rec []byte) error {
		got = append(got, string(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"\"a\nb\",1", "\"c\"\"d\",2", "\"e \"\"f\"\" g\",3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestSplitJSON: documents one after another, on one line or many, with
// braces inside strings; text that is no document is yielded a line at a
// time, and a document cut short at the end as it is.
func TestSplitJSON(t *testing.T) {
	in := "{\"a\":\"}{\\\"\"}\n  {\"b\":[1,{\"c\":2}]}{\"d\":3}\r\nnot json\r\n\n{\"e\":"
	var got []string
	err := freeswitch.NewJSON("").Split(strings.NewReader(in), func(rec []byte) error {
		got = append(got, string(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"a":"}{\""}`, `{"b":[1,{"c":2}]}`, `{"d":3}`, "not json", `{"e":`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSplitJSONTooLarge(t *testing.T) {
	in := `{"variables":{"x":"` + strings.Repeat("y", freeswitch.MaxDocumentBytes) + `"}}`
	err := freeswitch.NewJSON("").Split(strings.NewReader(in), func([]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "over 4194304 bytes") {
		t.Errorf("err = %v, want the document over the limit", err)
	}
}
