package tgpp_test

import (
	"bytes"
	"testing"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/pipeline/formats/tgpp"
)

// seeds are the sample records and broken ones.
func seeds() [][]byte {
	s := samples()
	valid := s[0]
	return append(s,
		nil,
		[]byte{0xa0, 0x82, 0x01},
		append([]byte{0xa0, 0x83, 0x01, 0x11, 0x70}, make([]byte, 40)...),
		[]byte{0xa0, 0x80, 0x80, 0x01, 0x05},
		[]byte{0xa0, 0x80, 0xa3, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00},
		bytes.Repeat([]byte{0xa0, 0x80}, 40),
		[]byte{0xbf, 0x81, 0x80, 0x80, 0x01, 0x00},
		valid[:len(valid)-10],
		cons(moCallRecord, prim(moSeizureTime, []byte{0x26, 0x11, 0x3a, 0x08, 0x15, 0x02, '+', 0x08, 0x00})).bytes(),
	)
}

// FuzzParse checks that no record makes Parse, or the decoder after it,
// panic, and that a rejected record is bad_record.
func FuzzParse(f *testing.F) {
	for _, s := range seeds() {
		f.Add(s)
	}
	p, d := tgpp.New(switchID), newDecoder()
	var fs decode.Fields
	f.Fuzz(func(t *testing.T, rec []byte) {
		fs.Reset()
		if err := p.Parse(rec, &fs); err != nil {
			if r := decode.ReasonOf(err); r != decode.ReasonBadRecord {
				t.Fatalf("Parse(% x): reason %q, want %q: %v", rec, r, decode.ReasonBadRecord, err)
			}
			return
		}
		_, _ = d.DecodeFields(&fs, now)
	})
}

// FuzzSplit checks that no file makes Split panic, that it yields no
// record over the limit, and that every record it yields can be parsed
// (or rejected) without a panic.
func FuzzSplit(f *testing.F) {
	f.Add(sampleFile())
	for _, s := range seeds() {
		f.Add(s)
		f.Add(concat(s, []byte{0, 0}, s))
	}
	p, d := tgpp.New(switchID), newDecoder()
	var fs decode.Fields
	f.Fuzz(func(t *testing.T, file []byte) {
		total := 0
		_ = p.Split(bytes.NewReader(file), func(rec []byte) error {
			if len(rec) == 0 || len(rec) > tgpp.MaxRecordBytes {
				t.Fatalf("record of %d bytes", len(rec))
			}
			if total += len(rec); total > len(file) {
				t.Fatalf("records of %d bytes from a file of %d", total, len(file))
			}
			fs.Reset()
			if p.Parse(rec, &fs) == nil {
				_, _ = d.DecodeFields(&fs, now)
			}
			return nil
		})
	})
}
