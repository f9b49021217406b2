package asterisk

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

func TestNewConfigErrors(t *testing.T) {
	f := func(columns []string, want string) {
		t.Helper()
		_, err := New(columns, "")
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != "input.asterisk.columns" {
			t.Fatalf("New(%q): %v, want a config.Error on input.asterisk.columns", columns, err)
		}
		if !strings.Contains(ce.Msg, want) {
			t.Errorf("New(%q): %q, want it to say %q", columns, ce.Msg, want)
		}
	}
	f([]string{"dst", "start"}, "no src column")
	f([]string{"src", "start"}, "no dst column")
	f([]string{"src", "dst", "answer"}, "no start column")
	f([]string{"src", "dst", "start", "${CDR(src)}"}, "src is named twice, as columns 1 and 4")
	f([]string{"src", "dst", "start", "epoch"}, `column 4, "epoch", is not a CDR variable`)
	f([]string{"src", "dst", "start", "epoch"}, "known are accountcode, src, dst,")
	f([]string{"src", "dst", "start", "${CDR(billsec,f)}"}, "is not a CDR variable")
}

func TestNewMappings(t *testing.T) {
	f := func(columns []string, want map[column]int) {
		t.Helper()
		p, err := New(columns, "")
		if err != nil {
			t.Fatalf("New(%q): %v", columns, err)
		}
		for c := range numColumns {
			w, ok := want[c]
			if !ok {
				w = -1
			}
			if got := p.custom.at[c]; got != w {
				t.Errorf("New(%q): %s at %d, want %d", columns, columnNames[c], got, w)
			}
		}
	}
	f([]string{"src", "dst", "start"}, map[column]int{colSrc: 0, colDst: 1, colStart: 2})
	f([]string{"${CDR(dst)}", " ${CSV_QUOTE(${CDR(Src)})} ", "-", "start(noquote)", "-", "LinkedID"},
		map[column]int{colDst: 0, colSrc: 1, colStart: 3, colLinkedID: 5})
	p, err := New(nil, "")
	if err != nil || p.custom != nil {
		t.Fatalf("New(nil): %v, %v; want cdr_csv's layouts", p, err)
	}
}

func TestTrunk(t *testing.T) {
	f := func(channel, want string) {
		t.Helper()
		if got := string(trunk([]byte(channel))); got != want {
			t.Errorf("trunk(%q) = %q, want %q", channel, got, want)
		}
	}
	f("SIP/carrier-trunk-0000001a", "SIP/carrier-trunk")
	f("PJSIP/trunk_a-00000012", "PJSIP/trunk_a")
	f("IAX2/intl-gw-4411", "IAX2/intl-gw")
	f("DAHDI/1-1", "DAHDI/1")
	f("SIP/carrier", "SIP/carrier")             // no sequence number
	f("SIP/carrier-trunk", "SIP/carrier-trunk") // "trunk" is not hex
	f("SIP/-0000001a", "SIP/-0000001a")         // no peer before the dash
	f("Local/201@from-queue-00000004;2", "")
	f("local/201@x-0001;1", "")
	f("", "")
	f("no-slash-0001", "")
	f("SIP/", "")
	f("/x-01", "")
}

func TestSystemName(t *testing.T) {
	f := func(id, want string) {
		t.Helper()
		if got := string(systemName([]byte(id))); got != want {
			t.Errorf("systemName(%q) = %q, want %q", id, got, want)
		}
	}
	f("pbx1-1700000000.123", "pbx1")
	f("pbx-sh-1-1700000000.1", "pbx-sh-1")
	f("1700000000.123", "")
	f("-1700000000.123", "")
	f("pbx1-1700000000", "")
	f("pbx1-1700000000.", "")
	f("pbx1-.5", "")
	f("pbx1-17x.5", "")
	f("", "")
}

// row16 is a cdr_csv row of 16 fields.
const row16 = `"acct","13812345678","02158881234","from-trunk","""Zhang"" <13812345678>","SIP/carrier-0000001a","SIP/201-0000001b","Dial","SIP/201,30","2026-11-30 09:00:00","2026-11-30 09:00:07","2026-11-30 09:02:07",127,120,"ANSWERED","DOCUMENTATION"`

func TestParseFields(t *testing.T) {
	f := func(columns []string, switchID, rec string, want map[string]string) {
		t.Helper()
		p, err := New(columns, switchID)
		if err != nil {
			t.Fatal(err)
		}
		var fs decode.Fields
		if err := p.Parse([]byte(rec), &fs); err != nil {
			t.Fatalf("Parse(%q): %v", rec, err)
		}
		got := map[string]decode.Value{
			"call_id": fs.CallID, "caller": fs.Caller, "callee": fs.Callee, "start": fs.Start, "answer": fs.Answer,
			"end": fs.End, "duration": fs.Duration, "disposition": fs.Disposition, "cause": fs.Cause,
			"switch": fs.SwitchID, "trunk": fs.TrunkID,
		}
		for k, v := range got {
			w, ok := want[k]
			if v.IsSet() != ok || v.String() != w {
				t.Errorf("Parse(%q): %s = %q (set %v), want %q (set %v)", rec, k, v.String(), v.IsSet(), w, ok)
			}
		}
	}
	base := map[string]string{"caller": "13812345678", "callee": "02158881234", "start": "2026-11-30 09:00:00",
		"answer": "2026-11-30 09:00:07", "end": "2026-11-30 09:02:07", "duration": "120", "disposition": "answered",
		"trunk": "SIP/carrier"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	f(nil, "", row16, base)
	f(nil, "", row16+"\r\n", base)
	f(nil, "sw1", row16, with("switch", "sw1"))
	f(nil, "", row16+`,"1700000000.1"`, with("call_id", "1700000000.1"))
	f(nil, "", row16+`,"ast1-1700000000.1",""`, with("call_id", "ast1-1700000000.1", "switch", "ast1"))
	f(nil, "sw1", row16+`,"ast1-1700000000.1",""`, with("call_id", "ast1-1700000000.1", "switch", "sw1"))
	f(nil, "", row16+`,"1700000000.2","uf","peer","1700000000.1",7`, with("call_id", "1700000000.1;02158881234"))
	f(nil, "", strings.Replace(row16, `"13812345678"`, `""`, 1), with("caller", "unavailable"))
	f(nil, "", strings.Replace(row16, `"2026-11-30 09:00:07"`, ``, 1), with("answer", "<absent>"))
	f(nil, "", strings.Replace(row16, `"ANSWERED"`, `"BUSY"`, 1), with("disposition", "busy", "cause", "17"))
	f(nil, "", strings.Replace(row16, `"ANSWERED"`, `"no answer"`, 1), with("disposition", "no_answer"))
	f(nil, "", strings.Replace(row16, `"ANSWERED"`, `"CONGESTION"`, 1), with("disposition", "failed", "cause", "34"))
	f(nil, "", strings.Replace(row16, `"ANSWERED"`, `"UNKNOWN"`, 1), with("disposition", "<absent>"))
	f(nil, "", strings.Replace(row16, `"ANSWERED"`, `""`, 1), with("disposition", "<absent>"))
	f(nil, "", strings.Replace(row16, `"SIP/carrier-0000001a"`, `"Local/1@x-0001;2"`, 1), with("trunk", "<absent>"))
	// cdr_custom: quotes not doubled, numbers quoted, "" for empty
	f([]string{"clid", "src", "dst", "start", "answer", "billsec", "disposition", "uniqueid"}, "",
		`""Wang, Jr" <1>","13812345678","02158881234","2026-11-30 09:00:00","","0","NO ANSWER",""`,
		map[string]string{"caller": "13812345678", "callee": "02158881234", "start": "2026-11-30 09:00:00",
			"duration": "0", "disposition": "no_answer"})
}

func TestParseBadRows(t *testing.T) {
	f := func(columns []string, rec, reason, want string) {
		t.Helper()
		p, err := New(columns, "")
		if err != nil {
			t.Fatal(err)
		}
		var fs decode.Fields
		err = p.Parse([]byte(rec), &fs)
		if decode.ReasonOf(err) != reason || err == nil || err.Error() != want {
			t.Errorf("Parse(%q): %v (%s), want %s: %s", rec, err, decode.ReasonOf(err), reason, want)
		}
	}
	f(nil, "", decode.ReasonBadRecord,
		"asterisk-csv: 1 columns; cdr_csv writes 16, 17, 18 or 21 (set input.asterisk.columns for a cdr_custom mapping)")
	f(nil, `"a","b"`+strings.Repeat(",", 10), decode.ReasonBadRecord,
		"asterisk-csv: 12 columns; cdr_csv writes 16, 17, 18 or 21 (set input.asterisk.columns for a cdr_custom mapping)")
	f(nil, row16+",1,2,3", decode.ReasonBadRecord,
		"asterisk-csv: 19 columns; cdr_csv writes 16, 17, 18 or 21 (set input.asterisk.columns for a cdr_custom mapping)")
	f(nil, row16+strings.Repeat(",", 100), decode.ReasonBadRecord,
		"asterisk-csv: 116 columns; cdr_csv writes 16, 17, 18 or 21 (set input.asterisk.columns for a cdr_custom mapping)")
	// a quote left open runs to the next quote before a comma
	f(nil, strings.Replace(row16, `"acct"`, `"acct`, 1), decode.ReasonBadRecord,
		"asterisk-csv: 15 columns; cdr_csv writes 16, 17, 18 or 21 (set input.asterisk.columns for a cdr_custom mapping)")
	f([]string{"src", "dst", "start"}, `"1","2"`, decode.ReasonBadRecord,
		"asterisk-csv: 2 columns; input.asterisk.columns names 3")
	f(nil, strings.Replace(row16, `"ANSWERED"`, `"TRANSFERRED"`, 1), decode.ReasonBadDisposition,
		`asterisk-csv: disposition "TRANSFERRED" is not one Asterisk writes (ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION, CANCEL)`)
}

func TestSplitFields(t *testing.T) {
	f := func(rec string, want ...string) {
		t.Helper()
		p, _ := New(nil, "")
		n := p.splitFields([]byte(rec))
		var got []string
		for _, v := range p.fields {
			got = append(got, string(v))
		}
		if n != len(want) || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("splitFields(%q) = %d %q, want %q", rec, n, got, want)
		}
	}
	f(``, ``)
	f(`,`, ``, ``)
	f(`a,b`, `a`, `b`)
	f(`"a,b",c`, `a,b`, `c`)
	f(`"a""b",""`, `a"b`, ``)
	f(`"""x"""`, `"x"`)
	f(`""Name" <1>",2`, `"Name" <1>`, `2`)     // cdr_custom's undoubled quotes
	f(`""A, B" <1>",2`, `"A, B" <1>`, `2`)     // ... with a comma inside
	f(`a"b,c`, `a"b`, `c`)                     // a quote inside a bare field
	f(`"open,x`, `open,x`)                     // never closed: the rest
	f(`"x"y",z`, `x"y`, `z`)                   // a stray quote, kept
	f("\"line\nbreak\",1", "line\nbreak", "1") // a newline inside quotes
	f(`"a""b""c","d""",""""`, `a"b"c`, `d"`, `"`)
}

func TestSplit(t *testing.T) {
	f := func(in string, want ...string) {
		t.Helper()
		p, _ := New(nil, "")
		var got []string
		if err := p.Split(strings.NewReader(in), func(rec []byte) error {
			got = append(got, string(rec))
			return nil
		}); err != nil {
			t.Fatalf("Split(%q): %v", in, err)
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("Split(%q) = %q, want %q", in, got, want)
		}
	}
	f("")
	f("\n\r\n\n")
	f("a,b\nc,d", "a,b", "c,d")
	f("a,b\r\nc,d\r\n", "a,b", "c,d")
	f("\"x\ny\",1\n2\n", "\"x\ny\",1", "2")
	f("\"x\"\"\n\",1\n", "\"x\"\"\n\",1")
	f("\"x\"\n2\n", "\"x\"", "2")
	f("\"x\"\r\n2\r\n", "\"x\"", "2")
	f("a\"b\nc\n", "a\"b", "c")                                     // a quote in a bare field opens nothing
	f("\"\"Name\" <1>\",\"2\"\n3\n", "\"\"Name\" <1>\",\"2\"", "3") // cdr_custom's clid
	f("\"open\nx\n", "\"open\nx")                                   // never closed: the rest of the file
}

func TestSplitErrors(t *testing.T) {
	p, _ := New(nil, "")
	stop := errors.New("stop")
	n := 0
	err := p.Split(strings.NewReader("a\nb\nc\n"), func([]byte) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("Split: %v after %d rows, want yield's error after 2", err, n)
	}
	long := "\"" + strings.Repeat("x\n", maxRecordBytes)
	err = p.Split(strings.NewReader(long), func([]byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "row at line 1") || !strings.Contains(err.Error(), "quote left open") {
		t.Errorf("Split of an open quote over %d bytes: %v", maxRecordBytes, err)
	}
	r, w := io.Pipe()
	go func() {
		_, _ = w.Write([]byte("\"a\n\"\""))
		_ = w.CloseWithError(errors.New("disk gone"))
	}()
	if err := p.Split(r, func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("Split of a failing reader: %v", err)
	}
}
