package tgpp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
)

// MaxRecordBytes bounds one record of a file. Call records are a few
// hundred bytes; a length beyond this is a broken file, and believing it
// would mean reading the rest of the file as one record.
const MaxRecordBytes = 1 << 20

// readChunk is how much of a record's contents is read at a time, so a
// length a truncated file cannot back costs no more memory than the file.
const readChunk = 32 << 10

// Split calls yield with each record of a file of concatenated
// CallEventRecords, skipping the zero bytes some CGFs pad blocks with. It
// reads only the records' tags and lengths (and, for an indefinite length,
// the elements inside down to its end-of-contents): a record whose
// contents are bad is yielded, for Parse to reject. It fails when it
// cannot find where the next record starts: a truncated record, a length
// over MaxRecordBytes, or a read error.
func (p *Parser) Split(r io.Reader, yield func(rec []byte) error) error {
	s := splitter{r: bufio.NewReaderSize(r, 64<<10), buf: p.rec[:0]}
	defer func() { p.rec = s.buf[:0] }() // keep the capacity for the next file
	for {
		if err := s.skipPadding(); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("3gpp-ber: byte %d: read: %w", s.off, err)
		}
		start := s.off
		s.buf = s.buf[:0]
		if err := s.element(0); err != nil {
			return fmt.Errorf("3gpp-ber: record at byte %d: %w", start, err)
		}
		if err := yield(s.buf); err != nil {
			return err
		}
	}
}

// splitter copies one record at a time from a file into buf.
type splitter struct {
	r   *bufio.Reader
	off int64 // bytes of the file read
	buf []byte
}

// skipPadding reads zero bytes up to the next record; io.EOF when the
// file ends first.
func (s *splitter) skipPadding() error {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return err
		}
		if c != 0 {
			return s.r.UnreadByte()
		}
		s.off++
	}
}

// errEnd is the file ending inside a record's tag or length.
var errEnd = errors.New("truncated: the file ends inside a tag or length")

// byte reads one byte of a tag or length into buf.
func (s *splitter) byte() (byte, error) {
	c, err := s.r.ReadByte()
	if err == io.EOF {
		return 0, errEnd
	}
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	s.off++
	s.buf = append(s.buf, c)
	return c, nil
}

// element copies one element of the record into buf: the whole record at
// depth 0, the elements of an indefinite length below.
func (s *splitter) element(depth int) error {
	at := s.off
	constructed, err := s.identifier()
	if err != nil {
		return err
	}
	n, indefinite, err := s.length()
	if err != nil {
		return err
	}
	if indefinite {
		return s.indefinite(at, constructed, depth)
	}
	if len(s.buf)+n > MaxRecordBytes {
		if depth == 0 {
			return fmt.Errorf("length %d is over the limit of %d bytes for a record", n, MaxRecordBytes)
		}
		return fmt.Errorf("element at byte %d: length %d takes the record over the limit of %d bytes", at, n, MaxRecordBytes)
	}
	return s.contents(at, n, depth)
}

// identifier copies the identifier octets and reports whether the
// element is constructed.
func (s *splitter) identifier() (constructed bool, err error) {
	id, err := s.byte()
	if err != nil {
		return false, err
	}
	if id&0x1f == 0x1f {
		// The tag number goes on while the top bit is set; a record's
		// size bounds how long, as every byte is copied into buf.
		for c := byte(0x80); c&0x80 != 0; {
			if c, err = s.byte(); err != nil {
				return false, err
			}
			if len(s.buf) > MaxRecordBytes {
				return false, fmt.Errorf("tag number runs over the limit of %d bytes for a record", MaxRecordBytes)
			}
		}
	}
	return id&0x20 != 0, nil
}

// length copies the length octets and returns the length.
func (s *splitter) length() (n int, indefinite bool, err error) {
	first, err := s.byte()
	if err != nil {
		return 0, false, err
	}
	switch {
	case first < 0x80:
		return int(first), false, nil
	case first == 0x80:
		return 0, true, nil
	case first == 0xff:
		return 0, false, fmt.Errorf("length octet 0xff is reserved")
	case first&0x7f > maxLengthOctets:
		return 0, false, fmt.Errorf("length of %d octets is too long (at most %d)", first&0x7f, maxLengthOctets)
	}
	var u uint64
	for range first & 0x7f {
		c, err := s.byte()
		if err != nil {
			return 0, false, err
		}
		u = u<<8 | uint64(c)
	}
	if u > MaxRecordBytes {
		return 0, false, fmt.Errorf("length %d is over the limit of %d bytes for a record", u, MaxRecordBytes)
	}
	return int(u), false, nil
}

// contents copies n bytes of contents, a chunk at a time.
func (s *splitter) contents(at int64, n, depth int) error {
	for got := 0; got < n; {
		k := min(n-got, readChunk)
		s.buf = slices.Grow(s.buf, k)
		m, err := io.ReadFull(s.r, s.buf[len(s.buf):len(s.buf)+k])
		s.buf = s.buf[:len(s.buf)+m]
		s.off += int64(m)
		got += m
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			if depth == 0 {
				return fmt.Errorf("truncated: header says %d bytes, file ends after %d", n, got)
			}
			return fmt.Errorf("truncated: element at byte %d says %d bytes, file ends after %d", at, n, got)
		case err != nil:
			return fmt.Errorf("read: %w", err)
		}
	}
	return nil
}

// indefinite copies the elements of an indefinite length up to and with
// its end-of-contents (00 00).
func (s *splitter) indefinite(at int64, constructed bool, depth int) error {
	switch {
	case !constructed:
		return fmt.Errorf("element at byte %d is primitive with an indefinite length (only constructed values may have one)", at)
	case depth >= maxDepth:
		return fmt.Errorf("element at byte %d nests more than %d deep", at, maxDepth)
	}
	for {
		next, err := s.r.Peek(2)
		if len(next) < 2 && err != io.EOF {
			return fmt.Errorf("read: %w", err)
		}
		if len(next) == 0 || (next[0] == 0 && len(next) < 2) {
			return fmt.Errorf("truncated: element at byte %d has an indefinite length and the file ends before its end-of-contents", at)
		}
		if next[0] == 0 {
			if next[1] != 0 {
				return fmt.Errorf("end-of-contents of the element at byte %d, at byte %d, is not 00 00", at, s.off)
			}
			s.buf = append(s.buf, 0, 0)
			s.off += 2
			_, err = s.r.Discard(2)
			return err
		}
		if len(s.buf) >= MaxRecordBytes {
			return fmt.Errorf("element at byte %d runs over the limit of %d bytes for a record", at, MaxRecordBytes)
		}
		if err := s.element(depth + 1); err != nil {
			return err
		}
	}
}
