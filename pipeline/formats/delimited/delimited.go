// Package delimited reads CDRs from delimited text (CSV, semicolon-,
// pipe- or tab-separated) with a mapping from columns to the contract's
// fields: the format of mediation exports and of switches without a
// format of their own in cdrpipe. A record is one line; a file may start
// with a header line naming the columns (input.csv.header), a Kafka
// message never does, so topics need input.csv.columns.
package delimited

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/lines"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Contract are the contract's fields a column can be mapped to.
var Contract = []string{"call_id", "caller", "callee", "start_time", "answer_time", "end_time", "duration",
	"ring_duration", "disposition", "cause", "switch_id", "trunk_id", "imsi", "imei", "cell_id", "attestation",
	"caller_noa", "callee_noa", "caller_presentation"}

// required are the fields every mapping must give.
var required = []string{"caller", "callee", "start_time"}

// Parser reads one layout of delimited records. Not safe for concurrent
// use.
type Parser struct {
	delim    byte
	header   bool
	fields   map[string]string // contract field → column name, lower case
	cols     []int             // contract field (index in Contract) → column index, -1 when absent
	named    bool              // cols is set, from input.csv.columns or a file's header
	layout   string            // time layout, "" for the decoder's own
	zoned    bool              // layout carries an offset
	words    map[string]schemas.Disposition
	switchID string
	row      [][]byte // the current record's cells
	buf      []byte   // rewritten times
}

// New returns a parser configured by c; switchID names the switch of
// records without a switch_id column.
func New(c config.CSV, switchID string) (*Parser, error) {
	p := &Parser{header: c.Header, layout: c.TimeLayout, switchID: switchID, fields: map[string]string{}}
	var err error
	if p.delim, err = delimiter(c.Delimiter); err != nil {
		return nil, err
	}
	if err := p.mapFields(c.Fields); err != nil {
		return nil, err
	}
	if p.words, err = words(c.Dispositions); err != nil {
		return nil, err
	}
	if c.TimeLayout != "" {
		ref := time.Date(2006, 1, 2, 15, 4, 5, 0, time.FixedZone("", 7*3600))
		if back, err := time.Parse(c.TimeLayout, ref.Format(c.TimeLayout)); err != nil || back.Year() != 2006 || back.Second() != 5 {
			return nil, &config.Error{Key: "input.csv.time_layout", Msg: fmt.Sprintf("%q is not a Go time layout with the date and the time to the second (such as \"02/01/2006 15:04:05\")", c.TimeLayout)}
		}
		p.zoned = strings.Contains(c.TimeLayout, "Z07") || strings.Contains(c.TimeLayout, "-07") || strings.Contains(c.TimeLayout, "MST")
	}
	if len(c.Columns) > 0 {
		if err := p.name(c.Columns, "input.csv.columns"); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ForMessages says whether records can be read without a file's header:
// Kafka messages are single rows, so they need input.csv.columns.
func (p *Parser) ForMessages() error {
	if !p.named {
		return &config.Error{Key: "input.csv.columns", Msg: "name the columns of the topic's rows in order: messages carry no header line"}
	}
	return nil
}

func delimiter(s string) (byte, error) {
	switch s {
	case "", ",":
		return ',', nil
	case `\t`, "\t", "tab":
		return '\t', nil
	}
	if len(s) == 1 && s[0] != '"' && s[0] != '\n' && s[0] != '\r' {
		return s[0], nil
	}
	return 0, &config.Error{Key: "input.csv.delimiter", Msg: fmt.Sprintf("%q: want one character, such as \",\", \";\", \"|\" or \"\\t\"", s)}
}

// mapFields reads the "field=column" entries; fields left out are read
// from a column of their own name.
func (p *Parser) mapFields(entries []string) error {
	for _, e := range entries {
		f, col, ok := strings.Cut(e, "=")
		f, col = strings.TrimSpace(f), strings.TrimSpace(col)
		if !ok || f == "" || col == "" {
			return &config.Error{Key: "input.csv.fields", Msg: fmt.Sprintf("%q: want FIELD=COLUMN, such as caller=src", e)}
		}
		if !slices.Contains(Contract, f) {
			return &config.Error{Key: "input.csv.fields", Msg: fmt.Sprintf("%q: %s is not a contract field (%s)", e, f, strings.Join(Contract, ", "))}
		}
		if _, dup := p.fields[f]; dup {
			return &config.Error{Key: "input.csv.fields", Msg: fmt.Sprintf("%s is mapped twice", f)}
		}
		p.fields[f] = strings.ToLower(col)
	}
	for _, f := range Contract {
		if _, ok := p.fields[f]; !ok {
			p.fields[f] = f
		}
	}
	return nil
}

// words reads the "WORD=disposition" entries.
func words(entries []string) (map[string]schemas.Disposition, error) {
	out := map[string]schemas.Disposition{}
	for _, e := range entries {
		w, d, ok := strings.Cut(e, "=")
		disp, known := schemas.ParseDisposition(strings.TrimSpace(d))
		if !ok || strings.TrimSpace(w) == "" || !known {
			return nil, &config.Error{Key: "input.csv.dispositions", Msg: fmt.Sprintf("%q: want WORD=disposition, the disposition one of answered, no_answer, busy, failed, rejected, cancelled", e)}
		}
		out[strings.ToUpper(strings.TrimSpace(w))] = disp
	}
	return out, nil
}

// name sets the column order from names (a header line, or the setting
// key), checking that the required fields have their columns.
func (p *Parser) name(names []string, key string) error {
	at := map[string]int{}
	for i, n := range names {
		at[strings.ToLower(strings.TrimSpace(n))] = i
	}
	p.cols = make([]int, len(Contract))
	for i, f := range Contract {
		p.cols[i] = -1
		if j, ok := at[p.fields[f]]; ok {
			p.cols[i] = j
		}
	}
	var missing []string
	for _, f := range required {
		if p.cols[slices.Index(Contract, f)] < 0 {
			missing = append(missing, fmt.Sprintf("%s (column %q)", f, p.fields[f]))
		}
	}
	if len(missing) > 0 {
		return &config.Error{Key: key, Msg: fmt.Sprintf("no column for %s among %q; map them with input.csv.fields", strings.Join(missing, ", "), names)}
	}
	p.named = true
	return nil
}

// Split calls yield with each line of a file; with input.csv.header the
// first line names the columns for the lines after it.
func (p *Parser) Split(r io.Reader, yield func(rec []byte) error) error {
	first := true
	return lines.Each(r, func(line []byte) error {
		if first {
			first = false
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a spreadsheet's byte order mark
			if p.header {
				cells, err := split(line, p.delim, nil)
				if err != nil {
					return fmt.Errorf("csv header: %w", err)
				}
				names := make([]string, len(cells))
				for i, c := range cells {
					names[i] = string(c)
				}
				return p.name(names, "input.csv.fields")
			}
		}
		if !p.named {
			return &config.Error{Key: "input.csv.columns", Msg: "the file has no header line (input.csv.header false): name its columns"}
		}
		return yield(line)
	})
}

// Parse reads one record into f.
func (p *Parser) Parse(rec []byte, f *decode.Fields) error {
	if err := p.ForMessages(); err != nil {
		return err
	}
	var err error
	p.buf = p.buf[:0]
	if p.row, err = split(rec, p.delim, p.row[:0]); err != nil {
		return decode.Reject(decode.ReasonBadRecord, "csv: %v", err)
	}
	cell := func(field int) []byte {
		if j := p.cols[field]; j >= 0 && j < len(p.row) {
			return p.row[j]
		}
		return nil
	}
	need := 0
	for _, j := range p.cols {
		need = max(need, j+1)
	}
	if len(p.row) < need {
		return decode.Reject(decode.ReasonBadRecord, "csv: %d columns, the mapping reads column %d", len(p.row), need)
	}
	dst := [...]*decode.Value{&f.CallID, &f.Caller, &f.Callee, &f.Start, &f.Answer, &f.End, &f.Duration,
		&f.Ring, &f.Disposition, &f.Cause, &f.SwitchID, &f.TrunkID, &f.IMSI, &f.IMEI, &f.CellID, &f.Attestation,
		&f.CallerNOA, &f.CalleeNOA, &f.Present}
	for i := range dst {
		*dst[i] = decode.Text(cell(i))
	}
	for _, i := range []int{3, 4, 5} { // start_time, answer_time, end_time
		v, err := p.time(Contract[i], cell(i))
		if err != nil {
			return err
		}
		*dst[i] = v
	}
	if err := p.outcome(f, cell(8), cell(9)); err != nil {
		return err
	}
	if !f.SwitchID.IsSet() {
		f.SwitchID = decode.Text([]byte(p.switchID))
	}
	if !f.Caller.IsSet() && p.cols[1] < len(p.row) {
		// An empty caller cell is a call without a caller ID, which is
		// valid (and a nuisance signal), not a broken record.
		f.Caller = decode.Text(unavailable)
	}
	return nil
}

var unavailable = []byte("unavailable")

// time reads a time cell: a Unix time, or text in the configured layout
// rewritten as the decoder reads it (an offset kept, or a wall-clock time
// it puts in the switch's zone).
func (p *Parser) time(name string, b []byte) (decode.Value, error) {
	switch {
	case len(b) == 0:
		return decode.Value{}, nil
	case unix(b):
		return decode.Num(b), nil
	case p.layout == "":
		return decode.Text(b), nil
	}
	t, err := time.Parse(p.layout, string(b))
	if err != nil {
		return decode.Value{}, decode.Reject(decode.ReasonBadTime, "field %s: %q is not a time in the layout %q (input.csv.time_layout)", name, b, p.layout)
	}
	from := len(p.buf)
	if p.zoned {
		p.buf = t.AppendFormat(p.buf, time.RFC3339Nano)
	} else {
		p.buf = t.AppendFormat(p.buf, "2006-01-02 15:04:05.999999999")
	}
	return decode.Text(p.buf[from:]), nil
}

// unix reports whether b is a Unix time: digits with an optional fraction.
func unix(b []byte) bool {
	dot := false
	for i, c := range b {
		switch {
		case c == '.' && !dot && i > 0:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return len(b) >= 9
}

// outcome reads disposition and cause: the site's words, switches' words
// (ANSWERED, NO ANSWER), the contract's, and causes by number or by name.
func (p *Parser) outcome(f *decode.Fields, disp, cause []byte) error {
	if len(cause) > 0 {
		c, d, ok := decode.CauseName(string(cause))
		if !ok {
			return decode.Reject(decode.ReasonBadCause, "field cause: %q is not a Q.850 cause or a cause name", cause)
		}
		f.Cause = decode.CauseValue(c)
		if d != schemas.DispositionUnknown {
			f.Disposition = decode.DispositionValue(d)
		}
	}
	if len(disp) == 0 {
		return nil
	}
	d, ok := p.words[strings.ToUpper(strings.TrimSpace(string(disp)))]
	var implied uint16
	if !ok {
		if d, implied, ok = decode.DispositionWord(string(disp)); !ok {
			return decode.Reject(decode.ReasonBadDisposition, "field disposition: unknown word %q (map it with input.csv.dispositions)", disp)
		}
	}
	f.Disposition = decode.DispositionValue(d)
	if implied != 0 && !f.Cause.IsSet() {
		f.Cause = decode.CauseValue(implied)
	}
	return nil
}
