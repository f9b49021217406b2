package tgpp_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/internal/golden"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/formats"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/tgpp"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// The parser is a formats.Parser; formats imports tgpp, so only an
// external test can say so.
var _ formats.Parser = (*tgpp.Parser)(nil)

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

const switchID = "msc-default"

func newDecoder() *decode.Decoder {
	return decode.NewDecoder(decode.Options{Numbering: decode.Numbering{CountryCode: "86", NationalPrefix: "0",
		InternationalPrefixes: []string{"00"}}, MaxFuture: time.Hour})
}

// TestGoldenSampleFile keeps testdata/sample.ber what the encoder writes;
// -update rewrites it (before TestGoldenDecode reads it).
func TestGoldenSampleFile(t *testing.T) {
	golden.Check(t, "testdata/sample.ber", string(sampleFile()))
}

// TestGoldenDecode splits testdata/sample.ber and decodes every record, a
// line each: the contract's JSON, or why it was rejected.
func TestGoldenDecode(t *testing.T) {
	data, err := os.ReadFile("testdata/sample.ber")
	if err != nil {
		t.Fatal(err)
	}
	p, d := tgpp.New(switchID), newDecoder()
	var out strings.Builder
	var f decode.Fields
	err = p.Split(bytes.NewReader(data), func(rec []byte) error {
		f.Reset()
		out.WriteString(render(p, d, rec, &f))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/sample.golden", out.String())
}

// render decodes one record to a line.
func render(p *tgpp.Parser, d *decode.Decoder, rec []byte, f *decode.Fields) string {
	if err := p.Parse(rec, f); err != nil {
		return fmt.Sprintf("REJECT %s: %v\n", decode.ReasonOf(err), err)
	}
	c, err := d.DecodeFields(f, now)
	if err != nil {
		return fmt.Sprintf("REJECT %s: %v\n", decode.ReasonOf(err), err)
	}
	return string(schemas.AppendJSON(nil, &c)) + "\n"
}

// TestSplitMatchesSamples checks Split finds exactly the records written,
// padding skipped.
func TestSplitMatchesSamples(t *testing.T) {
	want := samples()
	var got [][]byte
	err := tgpp.New(switchID).Split(bytes.NewReader(sampleFile()), func(rec []byte) error {
		got = append(got, bytes.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("split %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("record %d:\n got % x\nwant % x", i, got[i], want[i])
		}
	}
}

// TestParseFields checks what Parse writes for the decoder, before the
// decoder normalises it.
func TestParseFields(t *testing.T) {
	f := func(rec el, want map[string]string) {
		t.Helper()
		var fs decode.Fields
		if err := tgpp.New(switchID).Parse(rec.bytes(), &fs); err != nil {
			t.Fatalf("Parse: %v", err)
		}
		got := map[string]string{}
		for name, v := range map[string]decode.Value{"call_id": fs.CallID, "caller": fs.Caller,
			"callee": fs.Callee, "start": fs.Start, "answer": fs.Answer, "end": fs.End,
			"duration": fs.Duration, "disposition": fs.Disposition, "cause": fs.Cause,
			"switch": fs.SwitchID, "imsi": fs.IMSI, "imei": fs.IMEI, "caller_noa": fs.CallerNOA,
			"callee_noa": fs.CalleeNOA} {
			if v.IsSet() {
				got[name] = v.String()
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("fields\n got %v\nwant %v", got, want)
		}
	}
	f(moAnswered(), map[string]string{"call_id": "0102a3b4c5", "caller": "8613912345678",
		"callee": "13987654321", "start": "2026-11-30T08:15:02+08:00", "answer": "2026-11-30T08:15:10+08:00",
		"end": "2026-11-30T08:20:10+08:00", "duration": "300", "cause": "16", "switch": "8613800100",
		"imsi": "460001234567890", "imei": "3569380356438091", "caller_noa": "international",
		"callee_noa": "national"})
	f(mtWithheld(), map[string]string{"call_id": "7f000001", "caller": "unavailable",
		"callee": "8613700001111", "start": "2026-11-30T10:15:00+08:00", "answer": "2026-11-30T10:15:05+08:00",
		"end": "2026-11-30T10:15:50+08:00", "duration": "45", "cause": "16", "switch": "8613800200",
		"imsi": "460007654321098", "imei": "35209900176148", "callee_noa": "international"})
	f(moAbnormal(), map[string]string{"call_id": "0102a3b4ca", "caller": "8613912345678",
		"callee": "13987654321", "start": "2026-11-30T15:00:00+08:00", "end": "2026-11-30T15:00:02+08:00",
		"duration": "0", "disposition": "failed", "switch": "8613800100", "caller_noa": "international",
		"callee_noa": "national"})
	f(moIndefinite(), map[string]string{"call_id": "0102a3b4c9", "caller": "8613912345678",
		"callee": "13987654321", "start": "2026-11-30T14:00:00+08:00", "answer": "2026-11-30T14:00:03+08:00",
		"end": "2026-11-30T14:00:33+08:00", "duration": "30", "cause": "16", "switch": switchID,
		"caller_noa": "international", "callee_noa": "national"})
	// A negative offset, a time from 2000 and a cause in diagnostics'
	// other alternative (a MAP error, not a Q.850 cause).
	f(cons(mtCallRecord,
		prim(tagCallingNumber, address(tonNational, "2025550143")),
		prim(tagServedMSISDN, address(tonInternational, "8613700001111")),
		prim(mtSeizureTime, timeStamp("000101000000-0500")),
		prim(mtCauseForTerm, integer(3)),
		cons(mtDiagnostics, prim(1, integer(34))),
	), map[string]string{"caller": "2025550143", "callee": "8613700001111", "start": "2000-01-01T00:00:00-05:00",
		"disposition": "failed", "switch": switchID, "caller_noa": "national", "callee_noa": "international"})
}

// TestBadRecords checks that records Parse cannot read are bad_record
// with a message saying what is wrong, and never a panic.
func TestBadRecords(t *testing.T) {
	valid := moAnswered().bytes()
	badTime := cons(moCallRecord,
		prim(tagServedMSISDN, address(tonInternational, "8613912345678")),
		prim(moSeizureTime, []byte{0x26, 0x11, 0x3a, 0x08, 0x15, 0x02, '+', 0x08, 0x00}),
	).bytes()
	cases := []struct {
		name, want string
		rec        []byte
	}{
		{"empty input", "3gpp-ber: empty record", nil},
		{"truncated length", "3gpp-ber: record: byte 0: length runs past the end", []byte{0xa0, 0x82, 0x01}},
		{"no length", "3gpp-ber: record: byte 0: length runs past the end", []byte{0xa0}},
		{"truncated tag number", "3gpp-ber: record: byte 0: tag number runs past the end", []byte{0xbf, 0x81}},
		{"length past end", "3gpp-ber: record: byte 0: [0] length 70000 runs past the end (4000 bytes left)",
			append([]byte{0xa0, 0x83, 0x01, 0x11, 0x70}, make([]byte, 4000)...)},
		{"member length past end", "3gpp-ber: moCallRecord: byte 2: [3] length 80 runs past the end (3 bytes left)",
			[]byte{0xa0, 0x05, 0x83, 0x50, 0x91, 0x68, 0x31}},
		{"length of 5 octets", "3gpp-ber: record: byte 0: length of 5 octets is too long (at most 4)",
			[]byte{0xa0, 0x85, 0, 0, 0, 0, 1}},
		{"reserved length", "3gpp-ber: record: byte 0: length octet 0xff is reserved", []byte{0xa0, 0xff}},
		{"bad BCD time", "3gpp-ber: moCallRecord: seizureTime [22] at byte 12: octet 3 (0x3a) is not two BCD digits", badTime},
		{"short time", "3gpp-ber: mtCallRecord: answerTime [20] at byte 2: 3 octets, want 9 (YYMMDDhhmmss, sign, hhmm)",
			cons(mtCallRecord, prim(mtAnswerTime, []byte{0x26, 0x11, 0x30})).bytes()},
		{"bad offset sign", "3gpp-ber: moCallRecord: releaseTime [24] at byte 2: octet 7 (0x20) is not the sign of the offset ('+' or '-')",
			cons(moCallRecord, prim(moReleaseTime, []byte{0x26, 0x11, 0x30, 0x08, 0x15, 0x02, ' ', 0x08, 0x00})).bytes()},
		{"not a call record", "3gpp-ber: record tag [6] is not a call record (moCallRecord [0] or mtCallRecord [1])", moSMS().bytes()},
		{"universal SEQUENCE", "3gpp-ber: record tag [UNIVERSAL 16] is not a call record (moCallRecord [0] or mtCallRecord [1])",
			[]byte{0x30, 0x00}},
		{"primitive record", "3gpp-ber: record tag [1] is primitive; a call record is a constructed SET (0xa1)", []byte{0x81, 0x00}},
		{"indefinite without end-of-contents", "3gpp-ber: record: byte 0: [0] has an indefinite length without end-of-contents (00 00)",
			[]byte{0xa0, 0x80, 0x80, 0x01, 0x05}},
		{"indefinite with half an end-of-contents", "3gpp-ber: record: byte 0: [0] has an indefinite length without end-of-contents (00 00)",
			[]byte{0xa0, 0x80, 0x80, 0x01, 0x05, 0x00}},
		{"bad end-of-contents", "3gpp-ber: record: byte 0: end-of-contents of [0] at byte 5 is not 00 00",
			[]byte{0xa0, 0x80, 0x80, 0x01, 0x05, 0x00, 0x01}},
		{"indefinite primitive", "3gpp-ber: record: byte 0: [0] is primitive with an indefinite length (only constructed values may have one)",
			[]byte{0x80, 0x80, 0x00, 0x00}},
		{"nested too deep", "3gpp-ber: record: byte 64: [0] nests more than 32 deep",
			bytes.Repeat([]byte{0xa0, 0x80}, 40)},
		{"garbage after the record", "3gpp-ber: record ends at byte 2, but 3 more bytes follow (byte 3 is 0x30)",
			[]byte{0xa0, 0x00, 0x00, 0x30, 0x00}},
		{"filler before a digit", "3gpp-ber: moCallRecord: calledNumber [5] at byte 2: octet 2 (0xf1) has the filler 0xF before the last octet",
			cons(moCallRecord, prim(tagCalledNumber, []byte{0x91, 0x31, 0xf1, 0x21})).bytes()},
		{"duplicate member", "3gpp-ber: moCallRecord: servedMSISDN [3] at byte 2: appears twice (bytes 2 and 6)",
			cons(moCallRecord, prim(tagServedMSISDN, []byte{0x91, 0x68}), prim(tagServedMSISDN, []byte{0x91, 0x68})).bytes()},
		{"constructed number", "3gpp-ber: moCallRecord: servedMSISDN [3] at byte 2: is constructed, want primitive",
			cons(moCallRecord, cons(tagServedMSISDN, prim(4, []byte{0x91, 0x68}))).bytes()},
		{"primitive diagnostics", "3gpp-ber: moCallRecord: diagnostics [31] at byte 2: is primitive, want constructed",
			cons(moCallRecord, prim(moDiagnostics, integer(17))).bytes()},
		{"empty diagnostics", "3gpp-ber: mtCallRecord: diagnostics [28] at byte 2: is empty; want one alternative of the CHOICE",
			cons(mtCallRecord, cons(mtDiagnostics)).bytes()},
		{"empty cause", "3gpp-ber: mtCallRecord: diagnostics [28] at byte 2: gsm0408Cause [0]: INTEGER has no octets",
			cons(mtCallRecord, cons(mtDiagnostics, prim(0, nil))).bytes()},
		{"huge duration", "3gpp-ber: moCallRecord: callDuration [25] at byte 2: INTEGER of 9 octets is too large (at most 8)",
			cons(moCallRecord, prim(moCallDuration, make([]byte, 9))).bytes()},
		{"empty causeForTerm", "3gpp-ber: moCallRecord: causeForTerm [30] at byte 2: INTEGER has no octets",
			cons(moCallRecord, prim(moCauseForTerm, nil)).bytes()},
		{"valid record cut short", fmt.Sprintf("3gpp-ber: record: byte 0: [0] length %d runs past the end (%d bytes left)",
			len(valid)-2, len(valid)-12), valid[:len(valid)-10]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var f decode.Fields
			err := tgpp.New(switchID).Parse(c.rec, &f)
			if err == nil {
				t.Fatalf("Parse(% x) = nil, want %q", c.rec, c.want)
			}
			if r := decode.ReasonOf(err); r != decode.ReasonBadRecord {
				t.Errorf("reason %q, want %q", r, decode.ReasonBadRecord)
			}
			if err.Error() != c.want {
				t.Errorf("error\n got %q\nwant %q", err, c.want)
			}
		})
	}
}

// TestSplitBadFiles checks the files whose next record cannot be found.
func TestSplitBadFiles(t *testing.T) {
	first := moAnswered().bytes()
	indefinite := moIndefinite().bytes()
	cases := []struct {
		name, want string
		file       []byte
		records    int // found before the error
	}{
		{"truncated last record", fmt.Sprintf("3gpp-ber: record at byte %d: truncated: header says %d bytes, file ends after %d",
			len(first)+2, len(first)-2, len(first)-12), concat(first, []byte{0, 0}, first[:len(first)-10]), 1},
		{"truncated header", fmt.Sprintf("3gpp-ber: record at byte %d: truncated: the file ends inside a tag or length", len(first)),
			concat(first, []byte{0xa0, 0x82, 0x01}), 1},
		{"length over the limit", "3gpp-ber: record at byte 0: length 16777216 is over the limit of 1048576 bytes for a record",
			[]byte{0xa0, 0x84, 0x01, 0x00, 0x00, 0x00, 0x01}, 0},
		{"length of 5 octets", "3gpp-ber: record at byte 0: length of 5 octets is too long (at most 4)",
			[]byte{0xa0, 0x85, 0, 0, 0, 0, 1}, 0},
		{"indefinite cut short", fmt.Sprintf("3gpp-ber: record at byte %d: truncated: element at byte %d has an indefinite length and the file ends before its end-of-contents",
			len(first), len(first)), concat(first, indefinite[:len(indefinite)-2]), 1},
		{"indefinite member cut short", "3gpp-ber: record at byte 0: truncated: element at byte 2 says 9 bytes, file ends after 3",
			[]byte{0xa0, 0x80, 0x83, 0x09, 0x91, 0x68, 0x31}, 0},
		{"indefinite primitive", "3gpp-ber: record at byte 0: element at byte 0 is primitive with an indefinite length (only constructed values may have one)",
			[]byte{0x80, 0x80, 0x00, 0x00}, 0},
		{"bad end-of-contents", "3gpp-ber: record at byte 0: end-of-contents of the element at byte 0, at byte 2, is not 00 00",
			[]byte{0xa0, 0x80, 0x00, 0x01}, 0},
		{"nested too deep", "3gpp-ber: record at byte 0: element at byte 64 nests more than 32 deep",
			bytes.Repeat([]byte{0xa0, 0x80}, 40), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			err := tgpp.New(switchID).Split(bytes.NewReader(c.file), func([]byte) error { n++; return nil })
			if err == nil || err.Error() != c.want {
				t.Errorf("error\n got %v\nwant %s", err, c.want)
			}
			if n != c.records {
				t.Errorf("%d records before the error, want %d", n, c.records)
			}
		})
	}
}

// TestSplitYieldError checks that yield's error stops Split as it is.
func TestSplitYieldError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := tgpp.New(switchID).Split(bytes.NewReader(sampleFile()), func([]byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("Split = %v after %d records, want %v after 1", err, n, stop)
	}
}

// TestSplitReadError checks that a failing reader is an error naming
// where the file broke.
func TestSplitReadError(t *testing.T) {
	r := &failing{data: sampleFile()[:50]}
	err := tgpp.New(switchID).Split(r, func([]byte) error { return nil })
	if err == nil || !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "3gpp-ber: record at byte 0: read: ") {
		t.Errorf("Split = %v, want a read error of record 0 wrapping %v", err, errDisk)
	}
}

var errDisk = errors.New("disk on fire")

// failing reads data, then fails.
type failing struct{ data []byte }

func (f *failing) Read(b []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, errDisk
	}
	n := copy(b, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestSplitEmpty checks that files with no records yield none.
func TestSplitEmpty(t *testing.T) {
	for _, file := range [][]byte{nil, make([]byte, 100)} {
		n := 0
		if err := tgpp.New(switchID).Split(bytes.NewReader(file), func([]byte) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("Split(%d zero bytes) = %v with %d records, want none", len(file), err, n)
		}
	}
}

// TestSplitLargeRecord checks a record of many chunks, up to the limit.
func TestSplitLargeRecord(t *testing.T) {
	big := cons(moCallRecord, prim(moPrivateUserID, bytes.Repeat([]byte{'x'}, tgpp.MaxRecordBytes-20))).bytes()
	var got []byte
	err := tgpp.New(switchID).Split(bytes.NewReader(concat(big, big)), func(rec []byte) error {
		got = bytes.Clone(rec)
		return nil
	})
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Split = %v, record of %d bytes, want %d", err, len(got), len(big))
	}
}

// TestParseReusesBuffer checks a Parser gives the same fields for a
// record after other records, and allocates nothing.
func TestParseReusesBuffer(t *testing.T) {
	p, d := tgpp.New(switchID), newDecoder()
	var f decode.Fields
	first := render(p, d, moAnswered().bytes(), &f)
	for _, rec := range samples() {
		f.Reset()
		render(p, d, rec, &f)
	}
	f.Reset()
	if again := render(p, d, moAnswered().bytes(), &f); again != first {
		t.Errorf("after other records\n got %s\nwant %s", again, first)
	}
	rec := moAnswered().bytes()
	allocs := testing.AllocsPerRun(100, func() {
		f.Reset()
		if err := p.Parse(rec, &f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Parse allocates %v times a record, want 0", allocs)
	}
}
