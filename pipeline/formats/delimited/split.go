package delimited

import (
	"errors"
	"fmt"
)

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
