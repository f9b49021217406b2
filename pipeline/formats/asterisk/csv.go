package asterisk

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// How rows are read. cdr_csv quotes its text fields and doubles the
// quotes inside them, and leaves its numbers and empty times unquoted
// (append_string, append_int, append_date in cdr/cdr_csv.c); it writes
// the bytes of a value as they are, so a value holding a newline (a
// userfield, lastdata) spans lines inside its quotes. A quoted field
// ends at a quote followed by a comma or the end of the row; a doubled
// quote is one quote; any other quote is kept as it is, as
// encoding/csv's LazyQuotes keeps it, which reads cdr_custom's legacy
// mappings that wrap values in quotes without doubling the quotes inside
// (""Name" <100>"). A hand parser rather than encoding/csv: a row is one
// Kafka message, and encoding/csv needs a reader and allocates per row
// (BenchmarkSplitFields compares them).

// maxRecordBytes bounds one row of a file, as lines.MaxBytes
// bounds a line: a quote that is never closed would otherwise read the
// rest of the file as one row.
const maxRecordBytes = 1 << 20

// trimLineEnd drops a row's "\n" or "\r\n".
func trimLineEnd(rec []byte) []byte {
	rec = bytes.TrimSuffix(rec, []byte{'\n'})
	return bytes.TrimSuffix(rec, []byte{'\r'})
}

// splitFields reads rec's fields into p.fields (at most maxFields of
// them) and returns how many it has.
func (p *Parser) splitFields(rec []byte) int {
	limit := p.maxFields()
	p.fields = p.fields[:0]
	n := 0
	for i := 0; i <= len(rec); n++ {
		var v []byte
		v, i = p.field(rec, i)
		if n < limit {
			p.fields = append(p.fields, v)
		}
	}
	return n
}

// field reads the field that starts at rec[i], returning its value and
// where the next one starts (past len(rec) after the last).
func (p *Parser) field(rec []byte, i int) ([]byte, int) {
	if i < len(rec) && rec[i] == '"' {
		return p.quoted(rec, i+1)
	}
	end := bytes.IndexByte(rec[i:], ',')
	if end < 0 {
		return rec[i:], len(rec) + 1
	}
	return rec[i : i+end], i + end + 1
}

// quoted reads a quoted field whose text starts at rec[start]. Its value
// is a slice of rec until a doubled quote makes it a copy in p.buf.
func (p *Parser) quoted(rec []byte, start int) ([]byte, int) {
	from := len(p.buf)
	copied := false // the value is p.buf[from:] and rec[seg:...]
	seg := start
	for j := start; ; {
		q := bytes.IndexByte(rec[j:], '"')
		if q < 0 {
			// Never closed: the rest of the row, as LazyQuotes reads it.
			return p.value(rec[seg:], copied, from), len(rec) + 1
		}
		q += j
		switch {
		case q+1 == len(rec) || rec[q+1] == ',':
			return p.value(rec[seg:q], copied, from), q + 2
		case rec[q+1] == '"':
			p.buf = append(p.buf, rec[seg:q+1]...)
			copied, seg, j = true, q+2, q+2
		default:
			j = q + 1 // a stray quote, kept
		}
	}
}

// value is a quoted field's value: tail, after what was copied to
// p.buf[from:] when copied.
func (p *Parser) value(tail []byte, copied bool, from int) []byte {
	if !copied {
		return tail
	}
	p.buf = append(p.buf, tail...)
	return p.buf[from:]
}

// Split calls yield with each row of a cdr_csv or cdr_custom file, as
// written (without its line end), skipping empty lines. A row ends at a
// line end outside quotes, so a value with a newline stays in its row;
// a row over 1 MiB (a quote never closed) stops the file with an error.
// Split only splits: each row is one record, as if it came from Kafka.
func (p *Parser) Split(r io.Reader, yield func(rec []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordBytes)
	sc.Split(scanRow)
	line := 1 // where the next row starts, for the error
	for sc.Scan() {
		row := sc.Bytes()
		line += 1 + bytes.Count(row, []byte{'\n'})
		if len(row) == 0 {
			continue
		}
		if err := yield(row); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("asterisk-csv: row at line %d: %w (a row is at most %d bytes; is a quote left open?)", line, err, maxRecordBytes)
	}
	return nil
}

// scanRow is a bufio.SplitFunc of rows: it ends a row at a "\n" outside
// a quoted field, with quoted fields read as Parse reads them, except
// that a quote before a line end also closes the field. It drops the
// "\r" of "\r\n".
func scanRow(data []byte, atEOF bool) (advance int, token []byte, err error) {
	fieldStart, inQuotes := true, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inQuotes:
			if c != '"' {
				continue
			}
			if i+1 == len(data) {
				if !atEOF {
					return 0, nil, nil // is it "" or the end? more data says
				}
				inQuotes = false
				continue
			}
			switch data[i+1] {
			case '"':
				i++
			case ',':
				inQuotes, fieldStart = false, true
				i++
			case '\n', '\r':
				inQuotes = false
			}
		case c == '\n':
			return i + 1, trimLineEnd(data[:i]), nil
		case c == '"' && fieldStart:
			inQuotes, fieldStart = true, false
		default:
			fieldStart = c == ','
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), trimLineEnd(data), nil
	}
	return 0, nil, nil
}
