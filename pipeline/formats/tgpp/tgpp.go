// Package tgpp reads the circuit-switched call records of 3GPP TS 32.298
// (the "3gpp-ber" format): CallEventRecord, encoded in ASN.1 BER, as MSCs
// and charging gateways write them. It reads the mobile-originated
// (moCallRecord [0]) and mobile-terminated (mtCallRecord [1]) records; the
// other records of the CHOICE (SMS, location updates, supplementary
// services) are not calls and are rejected.
//
// The parser only finds a record's fields and writes them as text in
// decode.Fields: numbers as their TBCD digits with the type of number as
// their nature of address, times as RFC 3339 with the record's own offset.
// decode.Decoder.DecodeFields normalises and checks them, as it does every
// format's.
package tgpp

import (
	"encoding/hex"
	"fmt"

	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// member names the fields of a call record the parser reads; MOCallRecord
// and MTCallRecord tag them differently (see layout).
type member uint8

const (
	servedIMSI member = iota
	servedIMEI
	servedMSISDN
	callingNumber
	calledNumber
	recordingEntity
	seizureTime
	answerTime
	releaseTime
	callDuration
	causeForTerm
	diagnostics
	callReference
	numMembers
)

// memberNames are the members' names in TS 32.298, for messages.
var memberNames = [numMembers]string{"servedIMSI", "servedIMEI", "servedMSISDN", "callingNumber",
	"calledNumber", "recordingEntity", "seizureTime", "answerTime", "releaseTime", "callDuration",
	"causeForTerm", "diagnostics", "callReference"}

// maxTag bounds the tag numbers looked up in a layout; every member read
// is tagged below it, and members tagged above are skipped unread.
const maxTag = 64

// layout is where a record type keeps its members: their context-specific
// tags in TS 32.298's SET (implicit tags).
type layout struct {
	name     string
	mt       bool               // mtCallRecord: the served subscriber is called
	byTag    [maxTag]member     // tag number → member, numMembers for the members not read
	tagNames [numMembers]string // "[22]", for messages
}

// The layouts of TS 32.298's CSChargingDataTypes (as of the module that
// imports the Release 18 MAP types). recordingEntity is [9] in MOCallRecord ([6] is
// translatedNumber) and [6] in MTCallRecord ([5] is connectedNumber).
var (
	moLayout = newLayout("moCallRecord", false, [numMembers]uint32{
		servedIMSI: 1, servedIMEI: 2, servedMSISDN: 3, callingNumber: 4, calledNumber: 5, recordingEntity: 9,
		seizureTime: 22, answerTime: 23, releaseTime: 24, callDuration: 25, causeForTerm: 30, diagnostics: 31,
		callReference: 32})
	mtLayout = newLayout("mtCallRecord", true, [numMembers]uint32{
		servedIMSI: 1, servedIMEI: 2, servedMSISDN: 3, callingNumber: 4, recordingEntity: 6,
		seizureTime: 19, answerTime: 20, releaseTime: 21, callDuration: 22, causeForTerm: 27, diagnostics: 28,
		callReference: 29})
)

// newLayout indexes a record type's members by tag; a tag of 0 (that of
// recordType, which is not read) is a member the record type lacks.
func newLayout(name string, mt bool, tags [numMembers]uint32) *layout {
	l := &layout{name: name, mt: mt}
	for i := range l.byTag {
		l.byTag[i] = numMembers
	}
	for m, tag := range tags {
		if tag != 0 {
			l.byTag[tag] = member(m)
			l.tagNames[m] = fmt.Sprintf("[%d]", tag)
		}
	}
	return l
}

// wordUnavailable is the caller of an MT record without the caller's
// number; shared, as the decoder only reads it.
var wordUnavailable = []byte("unavailable")

// Parser reads TS 32.298 call records. Not safe for concurrent use: it
// keeps the text of the last record in a buffer it reuses.
type Parser struct {
	switchID []byte
	buf      []byte // text written for the current record's fields
	rec      []byte // the record Split is reading
	r        record
}

// New returns a parser; switchID names the switch of records without a
// recordingEntity.
func New(switchID string) *Parser {
	return &Parser{switchID: []byte(switchID), buf: make([]byte, 0, 512)}
}

// record is one call record's members, found but not yet read.
type record struct {
	l    *layout
	have uint16 // bit m: member m is present
	els  [numMembers]element
}

// Parse fills f from one CallEventRecord (zero bytes may follow it). The
// values point into a buffer of p's, valid until the next Parse. A record
// it cannot read is rejected with decode.ReasonBadRecord, the message
// counting bytes from the record's start.
func (p *Parser) Parse(rec []byte, f *decode.Fields) error {
	p.buf = p.buf[:0]
	if err := p.r.find(rec); err != nil {
		return err
	}
	return p.fill(rec, &p.r, f)
}

// find reads the record's tag and finds the members it knows in it.
func (r *record) find(rec []byte) error {
	*r = record{}
	if len(rec) == 0 {
		return decode.Reject(decode.ReasonBadRecord, "3gpp-ber: empty record")
	}
	top, err := parseElement(rec, 0, 0)
	if err != nil {
		return decode.Reject(decode.ReasonBadRecord, "3gpp-ber: record: %w", err)
	}
	if err := trailing(rec, top.next); err != nil {
		return err
	}
	if r.l, err = recordLayout(&top); err != nil {
		return err
	}
	b := rec[:top.end]
	for pos := top.body; pos < top.end; {
		e, err := parseElement(b, pos, 1)
		if err != nil {
			return decode.Reject(decode.ReasonBadRecord, "3gpp-ber: %s: %w", r.l.name, err)
		}
		if err := r.add(&e); err != nil {
			return err
		}
		pos = e.next
	}
	return nil
}

// trailing checks what follows the record in a message: zeros are
// padding, anything else a second record or garbage.
func trailing(rec []byte, end int) error {
	for i := end; i < len(rec); i++ {
		if rec[i] != 0 {
			return decode.Reject(decode.ReasonBadRecord, "3gpp-ber: record ends at byte %d, but %d more bytes follow (byte %d is 0x%02x)",
				end, len(rec)-end, i, rec[i])
		}
	}
	return nil
}

// recordLayout picks the layout of the record tagged as top.
func recordLayout(top *element) (*layout, error) {
	if top.class != classContext || top.tag > 1 {
		return nil, decode.Reject(decode.ReasonBadRecord,
			"3gpp-ber: record tag %s is not a call record (moCallRecord [0] or mtCallRecord [1])", top.name())
	}
	if !top.constructed {
		return nil, decode.Reject(decode.ReasonBadRecord,
			"3gpp-ber: record tag %s is primitive; a call record is a constructed SET (0x%02x)", top.name(), 0xa0+top.tag)
	}
	if top.tag == 0 {
		return moLayout, nil
	}
	return mtLayout, nil
}

// add keeps e when it is a member the parser reads; a SET has each member
// once, so a second one makes the record ambiguous.
func (r *record) add(e *element) error {
	if e.class != classContext || e.tag >= maxTag {
		return nil
	}
	m := r.l.byTag[e.tag]
	if m == numMembers {
		return nil
	}
	if r.has(m) {
		return r.bad(m, "appears twice (bytes %d and %d)", r.els[m].start, e.start)
	}
	// Diagnostics is a CHOICE, so its tag is explicit (constructed);
	// the others are primitive, and a segmented (constructed) string
	// is something no CDR encoder writes.
	if want := m == diagnostics; e.constructed != want {
		return r.badAt(m, e.start, "is %s, want %s", form(e.constructed), form(want))
	}
	r.els[m] = *e
	r.have |= 1 << m
	return nil
}

// form names an encoding for messages.
func form(constructed bool) string {
	if constructed {
		return "constructed"
	}
	return "primitive"
}

func (r *record) has(m member) bool { return r.have&(1<<m) != 0 }

// bad rejects the record for its member m.
func (r *record) bad(m member, format string, args ...any) error {
	return r.badAt(m, r.els[m].start, format, args...)
}

func (r *record) badAt(m member, at int, format string, args ...any) error {
	return decode.Reject(decode.ReasonBadRecord, "3gpp-ber: %s: %s %s at byte %d: %w",
		r.l.name, memberNames[m], r.l.tagNames[m], at, fmt.Errorf(format, args...))
}

// fill reads the members found into f.
func (p *Parser) fill(rec []byte, r *record, f *decode.Fields) error {
	if err := p.parties(rec, r, f); err != nil {
		return err
	}
	if err := p.times(rec, r, f); err != nil {
		return err
	}
	if err := p.identities(rec, r, f); err != nil {
		return err
	}
	return p.outcome(rec, r, f)
}

// parties fills the caller and the callee: the served subscriber calls in
// an MO record and is called in an MT one. An MT record without the
// caller's number is a call whose caller ID was withheld or not passed on.
func (p *Parser) parties(rec []byte, r *record, f *decode.Fields) (err error) {
	caller, callee := servedMSISDN, calledNumber
	if r.l.mt {
		caller, callee = callingNumber, servedMSISDN
	}
	if f.Caller, f.CallerNOA, err = p.address(rec, r, caller); err != nil {
		return err
	}
	if f.Callee, f.CalleeNOA, err = p.address(rec, r, callee); err != nil {
		return err
	}
	if r.l.mt && !f.Caller.IsSet() {
		f.Caller, f.CallerNOA = decode.Text(wordUnavailable), decode.Value{}
	}
	return nil
}

// times fills the start, answer and end. Start is the seizure of the
// channel; MO records of answered calls sometimes leave it out, and then
// the call starts when it was answered.
func (p *Parser) times(rec []byte, r *record, f *decode.Fields) error {
	var v [3]decode.Value
	for i, m := range [...]member{seizureTime, answerTime, releaseTime} {
		b, err := p.text(rec, r, m, appendTimeStamp)
		if err != nil {
			return err
		}
		v[i] = decode.Text(b)
	}
	f.Start, f.Answer, f.End = v[0], v[1], v[2]
	if !f.Start.IsSet() {
		f.Start = f.Answer
	}
	b, err := p.text(rec, r, callDuration, appendInteger)
	f.Duration = decode.Num(b)
	return err
}

// identities fills the subscriber's IMSI and IMEI, the switch and the
// call reference.
func (p *Parser) identities(rec []byte, r *record, f *decode.Fields) error {
	imsi, err := p.text(rec, r, servedIMSI, appendTBCD)
	if err != nil {
		return err
	}
	imei, err := p.text(rec, r, servedIMEI, appendTBCD)
	if err != nil {
		return err
	}
	f.IMSI, f.IMEI = decode.Text(imsi), decode.Text(imei)
	// recordingEntity is the MSC's own E.164 address: its digits name
	// the switch.
	if f.SwitchID, _, err = p.address(rec, r, recordingEntity); err != nil {
		return err
	}
	if !f.SwitchID.IsSet() {
		f.SwitchID = decode.Text(p.switchID)
	}
	id, err := p.text(rec, r, callReference, appendHexNoErr)
	f.CallID = decode.Text(id)
	return err
}

// outcome fills the cause from diagnostics and, for a call that was not
// answered and ended without a cause, the disposition causeForTerm
// implies; otherwise the decoder derives the disposition from the answer
// time and the cause.
func (p *Parser) outcome(rec []byte, r *record, f *decode.Fields) error {
	cause, err := p.diagnosticsCause(rec, r)
	if err != nil {
		return err
	}
	f.Cause = decode.Text(cause)
	if f.Answer.IsSet() || f.Cause.IsSet() || !r.has(causeForTerm) {
		return nil
	}
	term, err := integer(r.els[causeForTerm].contents(rec))
	if err != nil {
		return r.bad(causeForTerm, "%w", err)
	}
	// unsuccessfulCallAttempt (3) and abnormalRelease (4): the call
	// failed, and no cause says more.
	if term == 3 || term == 4 {
		f.Disposition = decode.DispositionValue(schemas.Failed)
	}
	return nil
}

// diagnosticsCause returns the cause of diagnostics in decimal when it is
// the gsm0408Cause [0] alternative (the cause of TS 24.008, numbered as
// Q.850's), or nil: the other alternatives (MAP errors, vendors' causes)
// are not Q.850 causes.
func (p *Parser) diagnosticsCause(rec []byte, r *record) ([]byte, error) {
	if !r.has(diagnostics) {
		return nil, nil
	}
	d := &r.els[diagnostics]
	if d.body == d.end {
		return nil, r.bad(diagnostics, "is empty; want one alternative of the CHOICE")
	}
	alt, err := parseElement(rec[:d.end], d.body, 2)
	if err != nil {
		return nil, r.bad(diagnostics, "%w", err)
	}
	if alt.class != classContext || alt.tag != 0 {
		return nil, nil
	}
	if alt.constructed {
		return nil, r.bad(diagnostics, "gsm0408Cause [0] is constructed; want an INTEGER")
	}
	from := len(p.buf)
	if p.buf, err = appendInteger(p.buf, alt.contents(rec)); err != nil {
		return nil, r.bad(diagnostics, "gsm0408Cause [0]: %w", err)
	}
	return p.buf[from:len(p.buf):len(p.buf)], nil
}

// address returns the digits of the AddressString member m and the
// nature of address of its type of number; zero Values when m is absent
// or has no digits.
func (p *Parser) address(rec []byte, r *record, m member) (digits, noa decode.Value, err error) {
	if !r.has(m) {
		return digits, noa, nil
	}
	from := len(p.buf)
	var ton []byte
	if p.buf, ton, err = appendAddress(p.buf, r.els[m].contents(rec)); err != nil {
		p.buf = p.buf[:from]
		return digits, noa, r.bad(m, "%w", err)
	}
	if len(p.buf) == from {
		return digits, noa, nil // a type of number and no digits: no number
	}
	return decode.Text(p.buf[from:len(p.buf):len(p.buf)]), decode.Text(ton), nil
}

// text appends the text conv makes of member m to p's buffer and returns
// it, or nil when the record has no m.
func (p *Parser) text(rec []byte, r *record, m member, conv func(dst, b []byte) ([]byte, error)) ([]byte, error) {
	if !r.has(m) {
		return nil, nil
	}
	from := len(p.buf)
	var err error
	if p.buf, err = conv(p.buf, r.els[m].contents(rec)); err != nil {
		p.buf = p.buf[:from]
		return nil, r.bad(m, "%w", err)
	}
	// The full slice expression keeps whoever appends to the field from
	// writing over the next one in the buffer.
	return p.buf[from:len(p.buf):len(p.buf)], nil
}

// appendHexNoErr is hex.AppendEncode in the shape text takes: the call
// reference is an OCTET STRING, written as lower-case hex.
func appendHexNoErr(dst, b []byte) ([]byte, error) { return hex.AppendEncode(dst, b), nil }
