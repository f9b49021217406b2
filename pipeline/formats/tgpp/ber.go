package tgpp

import "fmt"

// BER (ITU-T X.690) as CDRs use it: identifier octets with tag numbers of
// any size, definite lengths in short or long form, and the indefinite
// length some CGFs write on constructed values. Offsets are absolute in
// the record so that messages point at the byte at fault.

// Tag classes, the top two bits of the identifier octet.
const (
	classUniversal   = 0
	classApplication = 1
	classContext     = 2
	classPrivate     = 3
)

// maxDepth bounds the nesting followed to find the end of an indefinite
// length: deeper records are broken or hostile, and the walk is recursive.
const maxDepth = 32

// maxLengthOctets is the longest long-form length read (0x84: up to 4 GiB),
// far beyond any record; longer forms are refused rather than overflowed.
const maxLengthOctets = 4

// element is one TLV found in a record.
type element struct {
	class       byte
	constructed bool
	tag         uint32 // the tag number
	start       int    // offset of the first identifier octet
	body        int    // offset of the contents
	end         int    // offset after the contents (of end-of-contents when indefinite)
	next        int    // offset after the element, end-of-contents included
}

// contents returns the element's contents in b.
func (e *element) contents(b []byte) []byte { return b[e.body:e.end] }

// name writes the element's tag as ASN.1 does: [5] for context-specific,
// with the class named otherwise.
func (e *element) name() string {
	switch e.class {
	case classContext:
		return fmt.Sprintf("[%d]", e.tag)
	case classUniversal:
		return fmt.Sprintf("[UNIVERSAL %d]", e.tag)
	case classApplication:
		return fmt.Sprintf("[APPLICATION %d]", e.tag)
	}
	return fmt.Sprintf("[PRIVATE %d]", e.tag)
}

// parseElement reads the element at b[off:]; b ends where the enclosing
// element's contents end, so no element can claim bytes past its parent.
func parseElement(b []byte, off, depth int) (element, error) {
	e := element{start: off}
	pos, err := e.identifier(b, off)
	if err != nil {
		return e, err
	}
	n, indefinite, pos, err := length(b, off, pos)
	if err != nil {
		return e, err
	}
	e.body = pos
	if indefinite {
		return e, e.findEnd(b, depth)
	}
	if left := len(b) - pos; n > left {
		return e, fmt.Errorf("byte %d: %s length %d runs past the end (%d bytes left)", off, e.name(), n, left)
	}
	e.end = pos + n
	e.next = e.end
	return e, nil
}

// identifier reads the identifier octets at b[off:] into e and returns
// the offset after them. Tag numbers of 31 and over take more octets,
// seven bits each, the last with its top bit clear.
func (e *element) identifier(b []byte, off int) (int, error) {
	if off >= len(b) {
		return off, fmt.Errorf("byte %d: tag runs past the end", off)
	}
	id := b[off]
	e.class = id >> 6
	e.constructed = id&0x20 != 0
	e.tag = uint32(id & 0x1f)
	pos := off + 1
	if e.tag != 0x1f {
		return pos, nil
	}
	e.tag = 0
	for {
		if pos >= len(b) {
			return pos, fmt.Errorf("byte %d: tag number runs past the end", off)
		}
		c := b[pos]
		pos++
		// 2^28 is far beyond any tag of TS 32.298; more would overflow.
		if e.tag >= 1<<21 {
			return pos, fmt.Errorf("byte %d: tag number is too large", off)
		}
		e.tag = e.tag<<7 | uint32(c&0x7f)
		if c&0x80 == 0 {
			return pos, nil
		}
	}
}

// length reads the length octets at b[pos:] of the element at off. It
// returns the length, whether it is indefinite, and the offset of the
// contents.
func length(b []byte, off, pos int) (n int, indefinite bool, next int, err error) {
	if pos >= len(b) {
		return 0, false, pos, fmt.Errorf("byte %d: length runs past the end", off)
	}
	first := b[pos]
	pos++
	switch {
	case first < 0x80:
		return int(first), false, pos, nil
	case first == 0x80:
		return 0, true, pos, nil
	case first == 0xff:
		return 0, false, pos, fmt.Errorf("byte %d: length octet 0xff is reserved", off)
	}
	k := int(first & 0x7f)
	if k > maxLengthOctets {
		return 0, false, pos, fmt.Errorf("byte %d: length of %d octets is too long (at most %d)", off, k, maxLengthOctets)
	}
	if pos+k > len(b) {
		return 0, false, pos, fmt.Errorf("byte %d: length runs past the end", off)
	}
	var u uint64
	for _, c := range b[pos : pos+k] {
		u = u<<8 | uint64(c)
	}
	// No record comes near 2 GiB; refusing more keeps int from
	// overflowing where it has 32 bits.
	if u > 1<<31-1 {
		return 0, false, pos, fmt.Errorf("byte %d: length %d is too large", off, u)
	}
	return int(u), false, pos + k, nil
}

// findEnd walks the contents of an indefinite-length element to its
// end-of-contents octets (00 00), setting e.end and e.next.
func (e *element) findEnd(b []byte, depth int) error {
	if !e.constructed {
		return fmt.Errorf("byte %d: %s is primitive with an indefinite length (only constructed values may have one)", e.start, e.name())
	}
	if depth >= maxDepth {
		return fmt.Errorf("byte %d: %s nests more than %d deep", e.start, e.name(), maxDepth)
	}
	pos := e.body
	for pos < len(b) {
		if b[pos] == 0 {
			if pos+1 == len(b) {
				break // half an end-of-contents: the record ends too soon
			}
			if b[pos+1] != 0 {
				return fmt.Errorf("byte %d: end-of-contents of %s at byte %d is not 00 00", e.start, e.name(), pos)
			}
			e.end, e.next = pos, pos+2
			return nil
		}
		child, err := parseElement(b, pos, depth+1)
		if err != nil {
			return err
		}
		pos = child.next
	}
	return fmt.Errorf("byte %d: %s has an indefinite length without end-of-contents (00 00)", e.start, e.name())
}
