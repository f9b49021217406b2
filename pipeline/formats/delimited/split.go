package delimited

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes bounds one line of a file.
const MaxLineBytes = 1 << 20

// split cuts one line into cells, appending them to row. A cell may be
// quoted ("a, b"), with "" for a quote inside; quoted and empty alike are
// what the switch wrote, so "" is an empty cell. Cells point into line,
// except those that held a doubled quote, which are copied.
func split(line []byte, delim byte, row [][]byte) ([][]byte, error) {
	for i := 0; ; {
		if i < len(line) && line[i] == '"' {
			cell, next, err := quoted(line, i)
			if err != nil {
				return row, err
			}
			row = append(row, cell)
			if next == len(line) {
				return row, nil
			}
			if line[next] != delim {
				return row, fmt.Errorf("column %d: text after its closing quote", len(row))
			}
			i = next + 1
			continue
		}
		j := i
		for j < len(line) && line[j] != delim {
			j++
		}
		row = append(row, line[i:j])
		if j == len(line) {
			return row, nil
		}
		i = j + 1
	}
}

// quoted reads the quoted cell starting at line[i], returning it unquoted
// and the index after its closing quote.
func quoted(line []byte, i int) (cell []byte, next int, err error) {
	var copied []byte
	start := i + 1
	for j := start; j < len(line); j++ {
		if line[j] != '"' {
			continue
		}
		if j+1 < len(line) && line[j+1] == '"' { // a doubled quote
			copied = append(append(copied, line[start:j]...), '"')
			start = j + 2
			j++
			continue
		}
		if copied == nil {
			return line[start:j], j + 1, nil
		}
		return append(copied, line[start:j]...), j + 1, nil
	}
	return nil, 0, errors.New("a quote is not closed")
}

// lines calls yield with each non-empty line of r, without its line end.
func lines(r io.Reader, yield func([]byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			continue
		}
		if err := yield(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w (a line is at most %d bytes)", n+1, err, MaxLineBytes)
	}
	return nil
}
