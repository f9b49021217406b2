// Package lines reads the lines of a file one by one, for the formats
// whose records are lines (JSON lines, delimited rows).
package lines

import (
	"bufio"
	"fmt"
	"io"
)

// MaxBytes bounds one line: a longer one is a broken file, not a record.
const MaxBytes = 1 << 20

// Each calls yield with each non-empty line of r, without its line end
// ("\n" or "\r\n"); the bytes are valid during the call only.
func Each(r io.Reader, yield func([]byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxBytes)
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
		return fmt.Errorf("line %d: %w (a line is at most %d bytes)", n+1, err, MaxBytes)
	}
	return nil
}
