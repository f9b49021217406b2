// Package formats reads CDRs in the formats switches and mediation write
// (the contract's JSON, delimited files with a column mapping, Asterisk's
// and FreeSWITCH's CSV, FreeSWITCH's JSON, 3GPP TS 32.298 BER) into
// normalised records. Each format's parser only finds the fields of a
// record; decode.Decoder.DecodeFields checks and normalises them, so a
// number, a time or a cause means the same whatever format carried it.
package formats

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/lines"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Parser finds the fields of one record of its format. A Parser is not
// safe for concurrent use.
type Parser interface {
	// Parse fills f (emptied by the caller) from one record: a Kafka
	// message's value, or a record Split found in a file. A record it
	// cannot read is a decode error with decode.ReasonBadRecord.
	Parse(rec []byte, f *decode.Fields) error
	// Split calls yield with each record of a file, in order; the bytes
	// are valid during the call only. It reads what a file has beyond
	// records (a header line, a file header) into the parser, so that
	// Parse reads that file's records right.
	Split(r io.Reader, yield func(rec []byte) error) error
}

// Decoder turns one record of a format into a normalised CDR, or a
// reason for rejecting it: decode.Decoder for JSON, a Parser and a
// decode.Decoder for the others. Not safe for concurrent use.
type Decoder interface {
	Decode(raw []byte, now time.Time) (schemas.CDR, error)
}

// Names are the formats, by name.
var Names = []string{"json", "csv", "asterisk-csv", "freeswitch-csv", "freeswitch-json", "3gpp-ber"}

// makers build each format's parser from the configuration; the format
// packages register themselves in register.go.
var makers = map[string]func(c config.Config) (Parser, error){}

// NewParser returns a parser for format, configured by c.
func NewParser(format string, c config.Config) (Parser, error) {
	if format == "json" {
		return jsonLines{}, nil
	}
	mk, ok := makers[format]
	if !ok {
		return nil, &config.Error{Key: "kafka.format", Msg: fmt.Sprintf("%q: want one of %s", format, strings.Join(Names, ", "))}
	}
	return mk(c)
}

// NewDecoder returns a decoder for a topic's records of format: one
// record a message, with nothing from a file's header.
func NewDecoder(format string, c config.Config) (Decoder, error) {
	d := decode.NewDecoder(decode.OptionsFrom(c))
	if format == "json" || format == "" {
		return d, nil
	}
	p, err := NewParser(format, c)
	if err != nil {
		return nil, err
	}
	if m, ok := p.(interface{ ForMessages() error }); ok {
		if err := m.ForMessages(); err != nil {
			return nil, err
		}
	}
	return &parsed{p: p, d: d}, nil
}

// parsed decodes with a format's parser, then the contract's checks.
type parsed struct {
	p Parser
	d *decode.Decoder
	f decode.Fields
}

func (x *parsed) Decode(raw []byte, now time.Time) (schemas.CDR, error) {
	x.f.Reset()
	if err := x.p.Parse(raw, &x.f); err != nil {
		if decode.ReasonOf(err) == "" {
			err = decode.Reject(decode.ReasonBadRecord, "%v", err)
		}
		return schemas.CDR{}, err
	}
	return x.d.DecodeFields(&x.f, now)
}

// DecodeFile reads a file of format with p, decoding every record with d;
// yield gets each record's bytes (valid during the call) and its CDR or
// the reason it was rejected.
func DecodeFile(r io.Reader, p Parser, d *decode.Decoder, now time.Time, yield func(rec []byte, c schemas.CDR, err error) error) error {
	var dec Decoder = &parsed{p: p, d: d}
	if _, ok := p.(jsonLines); ok {
		dec = d
	}
	return p.Split(r, func(rec []byte) error {
		c, err := dec.Decode(rec, now)
		return yield(rec, c, err)
	})
}

// jsonLines is the contract's JSON, one record a line; decode.Decoder
// reads the records themselves.
type jsonLines struct{}

func (jsonLines) Parse([]byte, *decode.Fields) error {
	return fmt.Errorf("BUG: JSON records are decoded by decode.Decoder")
}

func (jsonLines) Split(r io.Reader, yield func([]byte) error) error {
	return lines.Each(r, yield)
}
