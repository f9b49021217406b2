// Package asterisk reads Asterisk's call detail records as its CSV
// backends write them: cdr_csv's Master.csv, and cdr_custom with a
// site's mapping of CDR variables to columns.
//
// # Columns
//
// cdr_csv writes accountcode, src, dst, dcontext, clid, channel,
// dstchannel, lastapp, lastdata, start, answer, end, duration, billsec,
// disposition and amaflags, then uniqueid when loguniqueid is set,
// userfield when loguserfield is set, and peeraccount, linkedid and
// sequence when newcdrcolumns is set (cdr/cdr_csv.c, build_csv_record).
// Without a mapping, a row's layout is told by its number of fields: 16,
// 17 (uniqueid), 18 (uniqueid, userfield) or 21 (uniqueid, userfield,
// peeraccount, linkedid, sequence). The other combinations of those
// options (19 or 20 fields, or 17 with userfield but no uniqueid) cannot
// be told apart by count: name them with input.asterisk.columns.
//
// A cdr_custom mapping is configured as the column names in order (New's
// columns): the CDR variable names, bare as in an advanced mapping's
// fields, or as a legacy mapping writes them, ${CDR(src)} or
// ${CSV_QUOTE(${CDR(src)})}. A "-" names a column that is read and
// ignored (a literal, ${EPOCH}, a user variable). cdr_custom's legacy
// mappings quote with a bare "${CDR(clid)}" and do not double the quotes
// inside a value, so a caller name arrives as ""Name" <100>"; fields are
// read as encoding/csv's LazyQuotes reads them, so a quote that neither
// ends the field nor doubles another is kept, and such rows read right.
// An empty field and "" are both absent.
//
// # Fields
//
// src is the caller (an empty src, Asterisk's record of a call without
// caller ID, is read as "unavailable": withheld), dst the callee,
// start/answer/end the local times "2006-01-02 15:04:05", billsec the
// talk time, and disposition (ANSWERED, NO ANSWER, BUSY, FAILED,
// CONGESTION, CANCEL) the disposition, with the Q.850 cause some imply
// (BUSY 17, CONGESTION 34). UNKNOWN, which Asterisk writes for a
// disposition it has no name for, is left absent for the decoder to
// derive from the times.
//
// Times carry no zone: Asterisk writes local time by default, and UTC
// when cdr.conf's [csv] sets usegmtime=yes (its sample config does).
// The parser leaves them as text; the decoder reads them in the zone
// configured for the switch (input.zone, input.switch_zones), which must
// say which of the two the switch writes.
//
// Rows name no switch: the switch id is the configured one, or else the
// system name Asterisk prefixes to uniqueid and linkedid when
// asterisk.conf sets systemname ("pbx1-1700000000.12"). The trunk is the
// technology and peer of channel, the calling side, without the
// channel's sequence number: SIP/carrier-0000001a is trunk SIP/carrier.
// On an inbound call that is the carrier's trunk; on a call from a phone
// it is the phone's peer. Local channels name no trunk.
//
// # One attempt per callee
//
// Asterisk writes several rows for one call: one per Local channel half,
// per leg of a parallel dial, per transfer. They share linkedid. The
// call id is linkedid and dst ("1700000000.12;8005551234"), so that the
// decoder's de-duplication on (switch, call id) counts the legs of a
// parallel dial to one number as one attempt and a transfer to another
// number as another. Without linkedid (cdr_csv before newcdrcolumns) the
// call id is uniqueid, one row one call, and without either the decoder
// keys the record by its content. The limit: of the rows of one attempt
// the first one read is kept, with its disposition, and Asterisk writes
// rows in the order their channels end, so an answered leg may come
// after a NO ANSWER one and be dropped as a duplicate. Reading files,
// `cdrpipe produce` keeps the answered row (formats.Attempts); Split
// itself only splits.
//
// Bytes that are not UTF-8 (caller names often hold them) never stop a
// row: the parser does not look at clid, and passes the other fields on
// as they are.
package asterisk

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

// column is one of Asterisk's CDR variables a row may hold.
type column uint8

// The CDR variables, in cdr_csv's order.
const (
	colAccountCode column = iota
	colSrc
	colDst
	colDContext
	colCLID
	colChannel
	colDstChannel
	colLastApp
	colLastData
	colStart
	colAnswer
	colEnd
	colDuration
	colBillsec
	colDisposition
	colAMAFlags
	colUniqueID
	colUserField
	colPeerAccount
	colLinkedID
	colSequence
	numColumns
)

// columnNames are the CDR variable names, indexed by column.
var columnNames = [numColumns]string{
	"accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp", "lastdata",
	"start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
	"uniqueid", "userfield", "peeraccount", "linkedid", "sequence",
}

// skipName names a mapped column the parser ignores.
const skipName = "-"

// layout says where each column is in a row.
type layout struct {
	// fields is the number of fields a row has.
	fields int
	// at is the index of each column in a row, -1 when rows lack it.
	at [numColumns]int
}

// csvLayout returns cdr_csv's layout of n fields: the 16 standard
// columns then the first n-16 optional ones.
func csvLayout(n int) layout {
	l := layout{fields: n}
	for c := range l.at {
		l.at[c] = -1
		if c < n {
			l.at[c] = c
		}
	}
	return l
}

// csvLayouts are cdr_csv's layouts, by number of fields; others are
// not cdr_csv's (see the package comment).
var csvLayouts = [...]layout{csvLayout(16), csvLayout(17), csvLayout(18), csvLayout(21)}

// maxCSVFields is the most fields a cdr_csv row has.
const maxCSVFields = 21

// Parser reads Asterisk's CSV rows into decode.Fields. It satisfies
// formats.Parser. Not safe for concurrent use.
type Parser struct {
	// custom is the cdr_custom mapping, nil for cdr_csv's rows.
	custom   *layout
	switchID []byte
	// fields are the current row's fields, pointing into the row or into
	// buf; both are reused from row to row.
	fields [][]byte
	buf    []byte
}

// New returns a parser of cdr_csv's rows when columns is empty, or of
// rows a cdr_custom mapping writes with columns, the names of its
// columns in order (see the package comment). switchID names the
// switch of every row; empty takes the system name in uniqueid when
// there is one. A bad mapping is a *config.Error on
// input.asterisk.columns.
func New(columns []string, switchID string) (*Parser, error) {
	p := &Parser{switchID: []byte(switchID)}
	if len(columns) > 0 {
		l, err := mapping(columns)
		if err != nil {
			return nil, err
		}
		p.custom = &l
	}
	return p, nil
}

// mapping reads a cdr_custom mapping's column names into a layout.
func mapping(columns []string) (layout, error) {
	l := layout{fields: len(columns)}
	for c := range l.at {
		l.at[c] = -1
	}
	for i, raw := range columns {
		name := columnName(raw)
		if name == skipName {
			continue
		}
		c, ok := lookupColumn(name)
		switch {
		case !ok:
			return l, columnsError(fmt.Sprintf("column %d, %q, is not a CDR variable this parser reads: known are %s, bare or as ${CDR(name)}, or %q for a column to ignore",
				i+1, raw, strings.Join(columnNames[:], ", "), skipName))
		case l.at[c] >= 0:
			return l, columnsError(fmt.Sprintf("%s is named twice, as columns %d and %d", name, l.at[c]+1, i+1))
		}
		l.at[c] = i
	}
	for _, c := range [...]column{colSrc, colDst, colStart} {
		if l.at[c] < 0 {
			return l, columnsError(fmt.Sprintf("no %s column: src, dst and start are required", columnNames[c]))
		}
	}
	return l, nil
}

func columnsError(msg string) error {
	return &config.Error{Key: "input.asterisk.columns", Msg: msg}
}

// columnName strips what a legacy cdr_custom mapping writes around a
// variable's name (${CSV_QUOTE(${CDR(src)})}, ${CDR(src)}), an advanced
// mapping's quoting qualifiers (src(noquote)), spaces and case.
func columnName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if in, ok := wrapped(s, "${csv_quote(", ")}"); ok {
		s = strings.TrimSpace(in)
	}
	if in, ok := wrapped(s, "${cdr(", ")}"); ok {
		s = strings.TrimSpace(in)
	}
	for _, q := range [...]string{"(quote)", "(noquote)"} {
		s = strings.TrimSuffix(s, q)
	}
	return s
}

// wrapped returns s without prefix and suffix, when it has both.
func wrapped(s, prefix, suffix string) (string, bool) {
	if len(s) < len(prefix)+len(suffix) || !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, suffix) {
		return s, false
	}
	return s[len(prefix) : len(s)-len(suffix)], true
}

func lookupColumn(name string) (column, bool) {
	i := slices.Index(columnNames[:], name)
	return column(i), i >= 0
}

// Parse fills f from one row, with or without its line end. A row of
// the wrong number of fields is a bad_record, a disposition Asterisk
// does not write a bad_disposition; the rest is checked by the decoder.
func (p *Parser) Parse(rec []byte, f *decode.Fields) error {
	rec = trimLineEnd(rec)
	p.buf = p.buf[:0]
	n := p.splitFields(rec)
	l, err := p.layoutOf(n)
	if err != nil {
		return err
	}
	return p.fill(l, f)
}

// layoutOf returns the layout of a row of n fields.
func (p *Parser) layoutOf(n int) (*layout, error) {
	if p.custom != nil {
		if n != p.custom.fields {
			return nil, decode.Reject(decode.ReasonBadRecord, "asterisk-csv: %d columns; input.asterisk.columns names %d", n, p.custom.fields)
		}
		return p.custom, nil
	}
	for i := range csvLayouts {
		if csvLayouts[i].fields == n {
			return &csvLayouts[i], nil
		}
	}
	return nil, decode.Reject(decode.ReasonBadRecord,
		"asterisk-csv: %d columns; cdr_csv writes 16, 17, 18 or 21 (set input.asterisk.columns for a cdr_custom mapping)", n)
}

// maxFields is how many fields of a row are kept: a row with more is
// the wrong size anyway, and counting them costs no memory.
func (p *Parser) maxFields() int {
	if p.custom != nil {
		return p.custom.fields
	}
	return maxCSVFields
}

// get returns column c of the current row, nil when the layout lacks it.
func (p *Parser) get(l *layout, c column) []byte {
	if i := l.at[c]; i >= 0 {
		return p.fields[i]
	}
	return nil
}

// unavailable is the caller of a row with an empty src: the word the
// decoder reads as a withheld caller ID.
var unavailable = []byte("unavailable")

// fill maps the current row's fields to f.
func (p *Parser) fill(l *layout, f *decode.Fields) error {
	src, dst := p.get(l, colSrc), p.get(l, colDst)
	if len(src) == 0 {
		src = unavailable
	}
	f.Caller, f.Callee = decode.Text(src), decode.Text(dst)
	f.Start = decode.Text(p.get(l, colStart))
	f.Answer = decode.Text(p.get(l, colAnswer))
	f.End = decode.Text(p.get(l, colEnd))
	f.Duration = decode.Num(p.get(l, colBillsec))
	if err := p.disposition(p.get(l, colDisposition), f); err != nil {
		return err
	}
	uniqueID, linkedID := p.get(l, colUniqueID), p.get(l, colLinkedID)
	f.SwitchID = decode.Text(p.switchOf(uniqueID, linkedID))
	f.TrunkID = decode.Text(trunk(p.get(l, colChannel)))
	f.CallID = decode.Text(p.callID(uniqueID, linkedID, dst))
	return nil
}

// switchOf is the configured switch id, or the system name in the
// row's ids.
func (p *Parser) switchOf(uniqueID, linkedID []byte) []byte {
	if len(p.switchID) > 0 {
		return p.switchID
	}
	if name := systemName(uniqueID); name != nil {
		return name
	}
	return systemName(linkedID)
}

// callID is linkedid;dst, one attempt per callee of a call, or
// uniqueid, or nil (see the package comment).
func (p *Parser) callID(uniqueID, linkedID, dst []byte) []byte {
	if len(linkedID) == 0 {
		return uniqueID
	}
	from := len(p.buf)
	p.buf = append(append(append(p.buf, linkedID...), ';'), dst...)
	return p.buf[from:]
}

// systemName returns the system name Asterisk prefixes to a uniqueid or
// linkedid when asterisk.conf sets systemname ("pbx-a" of
// "pbx-a-1700000000.123"), or nil when id has none.
func systemName(id []byte) []byte {
	dash := bytes.LastIndexByte(id, '-')
	if dash <= 0 || !epochSeq(id[dash+1:]) {
		return nil
	}
	return id[:dash]
}

// epochSeq reports whether b is the "<epoch>.<sequence>" of an id.
func epochSeq(b []byte) bool {
	dot := bytes.IndexByte(b, '.')
	return dot > 0 && dot < len(b)-1 && digits(b[:dot]) && digits(b[dot+1:])
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// trunk returns the trunk a channel name names: its technology and
// peer, without the sequence number Asterisk appends to every channel
// ("SIP/carrier-trunk" of "SIP/carrier-trunk-0000001a"). Local channels
// and names without a technology name none (nil).
func trunk(channel []byte) []byte {
	slash := bytes.IndexByte(channel, '/')
	if slash <= 0 || slash == len(channel)-1 || asciiHasPrefixFold(channel, "local/") {
		return nil
	}
	if dash := bytes.LastIndexByte(channel, '-'); dash > slash+1 && dash < len(channel)-1 && hexDigits(channel[dash+1:]) {
		return channel[:dash]
	}
	return channel
}

func hexDigits(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// asciiHasPrefixFold reports whether b starts with the lower-case ASCII
// prefix, ignoring case.
func asciiHasPrefixFold(b []byte, prefix string) bool {
	if len(b) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// disposition reads word into f's disposition and cause. UNKNOWN,
// Asterisk's name for a disposition it cannot name, is left absent for
// the decoder to derive from the times.
func (p *Parser) disposition(word []byte, f *decode.Fields) error {
	if len(word) == 0 || string(word) == "UNKNOWN" {
		return nil
	}
	d, cause, ok := decode.DispositionWord(string(word))
	if !ok {
		return decode.Reject(decode.ReasonBadDisposition,
			"asterisk-csv: disposition %q is not one Asterisk writes (ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION, CANCEL)", word)
	}
	f.Disposition = decode.DispositionValue(d)
	if cause != 0 {
		f.Cause = decode.CauseValue(cause)
	}
	return nil
}
