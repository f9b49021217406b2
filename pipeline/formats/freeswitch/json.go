package freeswitch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

// MaxDocumentBytes bounds one mod_json_cdr document in a file; a CDR is a
// few kilobytes, even with a long app_log.
const MaxDocumentBytes = 4 << 20

// JSON parses mod_json_cdr documents. Not safe for concurrent use.
type JSON struct {
	switchID []byte
	doc      jsonDoc
	vars     callVars
	scratch
}

// NewJSON returns a parser of mod_json_cdr documents. The switch of a
// document is its switchname, else switchID, else its core-uuid.
func NewJSON(switchID string) *JSON {
	return &JSON{switchID: []byte(switchID)}
}

// jsonDoc is what is read of a document; the rest is skipped.
type jsonDoc struct {
	CoreUUID   jsonString      `json:"core-uuid"`
	SwitchName jsonString      `json:"switchname"`
	Variables  *jsonVars       `json:"variables"`
	Callflow   json.RawMessage `json:"callflow"`
}

// jsonVars are the channel variables read.
type jsonVars struct {
	UUID              jsonString `json:"uuid"`
	CallerIDNumber    jsonString `json:"caller_id_number"`
	DestinationNumber jsonString `json:"destination_number"`
	StartStamp        jsonString `json:"start_stamp"`
	AnswerStamp       jsonString `json:"answer_stamp"`
	EndStamp          jsonString `json:"end_stamp"`
	StartEpoch        jsonString `json:"start_epoch"`
	AnswerEpoch       jsonString `json:"answer_epoch"`
	EndEpoch          jsonString `json:"end_epoch"`
	StartUepoch       jsonString `json:"start_uepoch"`
	AnswerUepoch      jsonString `json:"answer_uepoch"`
	EndUepoch         jsonString `json:"end_uepoch"`
	Billsec           jsonString `json:"billsec"`
	HangupCause       jsonString `json:"hangup_cause"`
	HangupCauseQ850   jsonString `json:"hangup_cause_q850"`
}

// jsonFlow is one callflow entry: the caller profile holds the numbers
// when the variables do not (caller_id_number is a profile field, not
// always copied to the variables).
type jsonFlow struct {
	CallerProfile struct {
		CallerIDNumber    jsonString `json:"caller_id_number"`
		DestinationNumber jsonString `json:"destination_number"`
		UUID              jsonString `json:"uuid"`
	} `json:"caller_profile"`
}

// jsonString is a value FreeSWITCH writes as a string: text, or a number
// written by a tool that rewrote the document (kept as its text). Other
// JSON values are absent.
type jsonString []byte

// UnmarshalJSON implements json.Unmarshaler.
func (s *jsonString) UnmarshalJSON(b []byte) error {
	switch c := b[0]; {
	case c == '"' && bytes.IndexByte(b, '\\') < 0:
		*s = append((*s)[:0], b[1:len(b)-1]...)
	case c == '"':
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = append((*s)[:0], str...)
	case c == '-' || (c >= '0' && c <= '9'):
		*s = append((*s)[:0], b...)
	default:
		*s = nil
	}
	return nil
}

// value is s with FreeSWITCH's URL encoding undone (encode-values, on by
// default, writes "2026-11-30%2008%3A15%3A02"); a value that does not
// unescape was written raw (encode-values false) and is kept.
func (s jsonString) value() []byte {
	if bytes.IndexByte(s, '%') < 0 {
		return s
	}
	v, err := url.PathUnescape(string(s))
	if err != nil {
		return s
	}
	return []byte(v)
}

// Parse reads one document into f.
func (p *JSON) Parse(rec []byte, f *decode.Fields) error {
	p.doc = jsonDoc{}
	if err := json.Unmarshal(rec, &p.doc); err != nil {
		return jsonError(rec, err)
	}
	v := p.doc.Variables
	if v == nil {
		return decode.Reject(decode.ReasonBadRecord, "freeswitch-json: the document has no variables object")
	}
	p.vars = callVars{caller: v.CallerIDNumber.value(), callee: v.DestinationNumber.value(),
		uuid: v.UUID.value(), switchName: p.doc.SwitchName.value(),
		stamp:   [3][]byte{v.StartStamp.value(), v.AnswerStamp.value(), v.EndStamp.value()},
		epoch:   [3][]byte{v.StartEpoch.value(), v.AnswerEpoch.value(), v.EndEpoch.value()},
		uepoch:  [3][]byte{v.StartUepoch.value(), v.AnswerUepoch.value(), v.EndUepoch.value()},
		billsec: v.Billsec.value(), cause: v.HangupCause.value(), q850: v.HangupCauseQ850.value()}
	if len(p.vars.caller) == 0 || len(p.vars.callee) == 0 || len(p.vars.uuid) == 0 {
		p.fromCallflow()
	}
	sw := p.switchID
	if len(sw) == 0 {
		sw = p.doc.CoreUUID.value()
	}
	return p.fill("freeswitch-json", &p.vars, f, sw)
}

// fromCallflow fills what the variables lacked from the first callflow
// entry's caller profile: callflow is an array of the channel's profiles,
// newest first, or one object in older versions. An unreadable callflow
// is no callflow.
func (p *JSON) fromCallflow() {
	cf := bytes.TrimLeft(p.doc.Callflow, " \t\r\n")
	var flow jsonFlow
	switch {
	case len(cf) == 0:
		return
	case cf[0] == '[':
		var flows []jsonFlow
		if json.Unmarshal(cf, &flows) != nil || len(flows) == 0 {
			return
		}
		flow = flows[0]
	case cf[0] == '{':
		if json.Unmarshal(cf, &flow) != nil {
			return
		}
	default:
		return
	}
	cp := &flow.CallerProfile
	if len(p.vars.caller) == 0 {
		p.vars.caller = cp.CallerIDNumber.value()
	}
	if len(p.vars.callee) == 0 {
		p.vars.callee = cp.DestinationNumber.value()
	}
	if len(p.vars.uuid) == 0 {
		p.vars.uuid = cp.UUID.value()
	}
}

// jsonError says what is wrong with a document encoding/json refused.
func jsonError(rec []byte, err error) error {
	if b := bytes.TrimLeft(rec, " \t\r\n"); len(b) > 0 && b[0] != '{' && b[0] != '[' {
		// encoding/json's own words would be about a literal it expected
		// ("invalid character 'h' in literal true").
		return decode.Reject(decode.ReasonBadRecord, "freeswitch-json: not a JSON document: it starts with %q", b[:min(len(b), 16)])
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "the document"
		}
		return decode.Reject(decode.ReasonBadRecord, "freeswitch-json: %s is a JSON %s, want an object", field, te.Value)
	}
	return decode.Reject(decode.ReasonBadRecord, "freeswitch-json: not a JSON document: %v", err)
}

// Split calls yield with each document of a file: one, one a line, or
// several written one after the other. It finds a document's end by its
// braces, without validating it, so that a broken document becomes a
// record Parse rejects (and is counted) instead of ending the file: text
// between documents is yielded a line at a time, and a document cut short
// by the end of the file is yielded as it is.
func (p *JSON) Split(r io.Reader, yield func(rec []byte) error) error {
	s := docScanner{br: bufio.NewReaderSize(r, 64<<10)}
	for {
		doc, err := s.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("freeswitch-json: %w", err)
		}
		if err := yield(doc); err != nil {
			return err
		}
	}
}

// docScanner finds the documents of a file.
type docScanner struct {
	br  *bufio.Reader
	buf []byte
	off int64 // bytes read before the current document
}

// next returns the next document, or io.EOF after the last.
func (s *docScanner) next() ([]byte, error) {
	s.off += int64(len(s.buf))
	s.buf = s.buf[:0]
	for {
		c, err := s.br.ReadByte()
		if err != nil {
			return nil, err
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			s.buf = append(s.buf, c)
			break
		}
		s.off++
	}
	if s.buf[0] != '{' {
		return s.line()
	}
	depth, inString, escaped := 1, false, false
	for depth > 0 {
		chunk, err := s.br.ReadSlice('}')
		if err != nil && err != bufio.ErrBufferFull && err != io.EOF {
			return nil, err
		}
		for _, c := range chunk {
			switch {
			case escaped:
				escaped = false
			case inString:
				escaped = c == '\\'
				inString = c != '"'
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
			}
			if depth == 0 {
				// ReadSlice stops at '}', so the document ends the chunk.
				break
			}
		}
		s.buf = append(s.buf, chunk...)
		if len(s.buf) > MaxDocumentBytes {
			return nil, fmt.Errorf("the document at byte %d is over %d bytes", s.off, MaxDocumentBytes)
		}
		if err == io.EOF {
			// Cut short: Parse says so (of the document, not of the line
			// end that followed it).
			return bytes.TrimRight(s.buf, " \t\r\n"), nil
		}
	}
	return s.buf, nil
}

// line returns the rest of a line that holds no document, for Parse to
// reject.
func (s *docScanner) line() ([]byte, error) {
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.buf = append(s.buf, chunk...)
		if len(s.buf) > MaxDocumentBytes {
			return nil, fmt.Errorf("the text at byte %d is over %d bytes without a document", s.off, MaxDocumentBytes)
		}
		switch err {
		case nil, io.EOF:
			return bytes.TrimRight(s.buf, "\r\n"), nil
		case bufio.ErrBufferFull:
		default:
			return nil, err
		}
	}
}
