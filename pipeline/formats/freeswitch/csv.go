package freeswitch

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
)

// DefaultColumns are the variables of mod_cdr_csv's example template, the
// one its sample configuration makes the default.
var DefaultColumns = []string{"caller_id_name", "caller_id_number", "destination_number", "context",
	"start_stamp", "answer_stamp", "end_stamp", "duration", "billsec", "hangup_cause", "uuid",
	"bleg_uuid", "accountcode", "read_codec", "write_codec"}

// The variables the CSV parser reads, as indexes of CSV.col.
const (
	varCaller = iota
	varCallee
	varStartStamp
	varAnswerStamp
	varEndStamp
	varStartEpoch
	varAnswerEpoch
	varEndEpoch
	varStartUepoch
	varAnswerUepoch
	varEndUepoch
	varBillsec
	varCause
	varQ850
	varUUID
	varSwitchname
	varHostname
	numVars
)

// varNames are the template names of the variables read, by index.
var varNames = [numVars]string{"caller_id_number", "destination_number",
	"start_stamp", "answer_stamp", "end_stamp", "start_epoch", "answer_epoch", "end_epoch",
	"start_uepoch", "answer_uepoch", "end_uepoch", "billsec", "hangup_cause", "hangup_cause_q850",
	"uuid", "switchname", "hostname"}

// CSV parses mod_cdr_csv rows written with one template. Not safe for
// concurrent use.
type CSV struct {
	columns  int
	col      [numVars]int // the column of each variable read, -1 if the template has none
	switchID []byte
	row      rowSplitter
	vars     callVars
	scratch
}

// NewCSV returns a parser of rows written with a template of columns (the
// variable names in order, "caller_id_number" or "${caller_id_number}"),
// or of DefaultColumns when columns is empty. The switch of a row is its
// switchname or hostname column, or switchID when the template has
// neither. A template that lacks the caller, the callee or a start time,
// or names a variable twice, is a *config.Error.
func NewCSV(columns []string, switchID string) (*CSV, error) {
	if len(columns) == 0 {
		columns = DefaultColumns
	}
	p := &CSV{columns: len(columns), switchID: []byte(switchID)}
	for i := range p.col {
		p.col[i] = -1
	}
	seen := make(map[string]int, len(columns))
	for i, c := range columns {
		name := columnName(c)
		if name == "" {
			return nil, columnsError("entry %d (%q) names no variable", i+1, c)
		}
		if j, dup := seen[name]; dup {
			return nil, columnsError("%s is both column %d and column %d", name, j+1, i+1)
		}
		seen[name] = i
		if v := slices.Index(varNames[:], name); v >= 0 {
			p.col[v] = i
		}
	}
	var missing []string
	for _, v := range []int{varCaller, varCallee} {
		if p.col[v] < 0 {
			missing = append(missing, varNames[v])
		}
	}
	if p.col[varStartStamp] < 0 && p.col[varStartEpoch] < 0 && p.col[varStartUepoch] < 0 {
		missing = append(missing, "start_stamp (or start_epoch, start_uepoch)")
	}
	if len(missing) > 0 {
		return nil, columnsError("the template has no %s: a call needs its caller, callee and start time", strings.Join(missing, ", "))
	}
	return p, nil
}

// columnName reads one configured column: a variable name, possibly
// written as in the template ("${uuid}", with or without its quotes).
// Variable names are compared ignoring case, as FreeSWITCH looks them up.
func columnName(c string) string {
	c = strings.TrimSpace(c)
	c = strings.TrimSuffix(strings.TrimPrefix(c, `"`), `"`)
	if strings.HasPrefix(c, "${") && strings.HasSuffix(c, "}") {
		c = c[2 : len(c)-1]
	}
	return strings.ToLower(strings.TrimSpace(c))
}

func columnsError(format string, args ...any) error {
	return &config.Error{Key: "input.freeswitch.columns", Msg: fmt.Sprintf(format, args...)}
}

// Parse reads one row (a line of Master.csv, with or without its line
// end) into f.
func (p *CSV) Parse(rec []byte, f *decode.Fields) error {
	fields, err := p.row.split(rec)
	if err != nil {
		return err
	}
	if len(fields) != p.columns {
		return decode.Reject(decode.ReasonBadRecord, "freeswitch-csv: the row has %d columns, want %d (the template's, input.freeswitch.columns)", len(fields), p.columns)
	}
	get := func(v int) []byte {
		if i := p.col[v]; i >= 0 {
			return fields[i]
		}
		return nil
	}
	p.vars = callVars{caller: get(varCaller), callee: get(varCallee), uuid: get(varUUID),
		switchName: get(varSwitchname), billsec: get(varBillsec), cause: get(varCause), q850: get(varQ850)}
	if len(p.vars.switchName) == 0 {
		p.vars.switchName = get(varHostname)
	}
	for i := range 3 {
		p.vars.stamp[i] = get(varStartStamp + i)
		p.vars.epoch[i] = get(varStartEpoch + i)
		p.vars.uepoch[i] = get(varStartUepoch + i)
	}
	return p.fill("freeswitch-csv", &p.vars, f, p.switchID)
}

// Split calls yield with each row of a mod_cdr_csv file, written again as
// one CSV line: a caller name may hold a quoted line end, and a raw
// FreeSWITCH row may hold quotes it never escaped, which encoding/csv
// reads leniently (LazyQuotes) and Parse reads the same way. mod_cdr_csv
// writes no header line.
func (p *CSV) Split(r io.Reader, yield func(rec []byte) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			line, _ := cr.FieldPos(0)
			return fmt.Errorf("freeswitch-csv: line %d: %w", line, err)
		}
		buf.Reset()
		if err := w.Write(row); err != nil {
			return fmt.Errorf("freeswitch-csv: %w", err)
		}
		w.Flush()
		if err := yield(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})); err != nil {
			return err
		}
	}
}

// rowSplitter splits one row into its fields as encoding/csv does with
// LazyQuotes, without its allocations: fields point into the row, or into
// buf for a quoted field that had to be unescaped.
type rowSplitter struct {
	fields [][]byte
	buf    []byte
	// trimmed counts the line ends cut from the row's end, which belong
	// to a quoted field left open.
	trimmed int
}

// errMoreRows is a message that holds more than one row.
var errMoreRows = decode.Reject(decode.ReasonBadRecord, "freeswitch-csv: the record holds more than one row (a line end outside quotes)")

// split returns the fields of row, valid until the next call.
func (s *rowSplitter) split(row []byte) ([][]byte, error) {
	full := len(row)
	row = trimLineEnds(row)
	s.trimmed = full - len(row)
	s.fields = s.fields[:0]
	// Unescaped fields are never longer than the record, so one buffer
	// of its length holds them all.
	if cap(s.buf) < full {
		s.buf = make([]byte, 0, full)
	}
	s.buf = s.buf[:0]
	for {
		if len(row) == 0 || row[0] != '"' {
			i := bytes.IndexByte(row, ',')
			field := row
			if i >= 0 {
				field = row[:i]
			}
			if bytes.IndexByte(field, '\n') >= 0 {
				return nil, errMoreRows
			}
			s.fields = append(s.fields, field)
			if i < 0 {
				return s.fields, nil
			}
			row = row[i+1:]
			continue
		}
		var done bool
		var err error
		if row, done, err = s.quoted(row[1:]); done || err != nil {
			return s.fields, err
		}
	}
}

// quoted reads a quoted field, its opening quote already gone, and
// returns what follows its comma; done is set at the end of the row.
func (s *rowSplitter) quoted(row []byte) (rest []byte, done bool, err error) {
	start := len(s.buf)
	plain := true // nothing to unescape: the field can point into the row
	from := row
	n := 0 // bytes of from read
	for {
		i := bytes.IndexByte(row, '"')
		if i < 0 {
			// No closing quote: with LazyQuotes the field runs to the end
			// of the record, its line ends too but for a last "\r".
			row = row[:len(row)+s.trimmed]
			s.buf = appendText(s.buf, row)
			if len(s.buf) > start && s.buf[len(s.buf)-1] == '\r' {
				s.buf = s.buf[:len(s.buf)-1]
			}
			s.fields = append(s.fields, s.buf[start:])
			return nil, true, nil
		}
		s.buf = appendText(s.buf, row[:i])
		n += i + 1
		row = row[i+1:]
		switch {
		case len(row) > 0 && row[0] == '"': // "" is a quote
			s.buf = append(s.buf, '"')
			plain = false
			row = row[1:]
			n++
		case len(row) > 0 && row[0] == ',':
			s.fields = append(s.fields, s.field(start, plain, from[:n-1]))
			return row[1:], false, nil
		case len(row) == 0:
			s.fields = append(s.fields, s.field(start, plain, from[:n-1]))
			return nil, true, nil
		case row[0] == '\n' || bytes.HasPrefix(row, []byte("\r\n")):
			return nil, true, errMoreRows
		default: // a bare quote, kept as encoding/csv's LazyQuotes does
			s.buf = append(s.buf, '"')
		}
	}
}

// field is a quoted field's text: raw, within the row, when it needed no
// unescaping, else what was written to buf since start.
func (s *rowSplitter) field(start int, plain bool, raw []byte) []byte {
	if plain && !bytes.Contains(raw, []byte("\r\n")) {
		s.buf = s.buf[:start]
		return raw
	}
	return s.buf[start:]
}

// trimLineEnds cuts the line ends (and blank lines) that close a row, as
// encoding/csv reads them: "\n" or "\r\n", and a last "\r" before the end.
func trimLineEnds(row []byte) []byte {
	row = bytes.TrimSuffix(row, []byte{'\r'})
	for len(row) > 0 && row[len(row)-1] == '\n' {
		row = bytes.TrimSuffix(row[:len(row)-1], []byte{'\r'})
	}
	return row
}

// appendText appends quoted text, with a line end "\r\n" read as "\n",
// as encoding/csv does.
func appendText(dst, b []byte) []byte {
	for {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(append(dst, b[:i]...), '\n')
		b = b[i+2:]
	}
}
