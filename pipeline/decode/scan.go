package decode

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// kind is the JSON type of a scanned value.
type kind uint8

const (
	kindString kind = iota + 1
	kindNumber
	kindBool
	kindNull
	kindObject
	kindArray
)

func (k kind) String() string {
	switch k {
	case kindString:
		return "string"
	case kindNumber:
		return "number"
	case kindBool:
		return "boolean"
	case kindNull:
		return "null"
	case kindObject:
		return "object"
	case kindArray:
		return "array"
	}
	return "value"
}

// value is one scanned top-level field value. For strings raw is the
// unescaped text; for numbers it is the literal; nested values are skipped
// and only their kind is kept.
type value struct {
	kind kind
	raw  []byte
}

// maxDepth bounds nesting of ignored values so a hostile record cannot
// exhaust the stack.
const maxDepth = 64

var errTrailing = errors.New("unexpected data after the JSON object")

// scanner walks one flat JSON object without reflection. It reuses buf
// for unescaped strings, so values are only valid until the next record.
type scanner struct {
	data []byte
	pos  int
	buf  []byte
}

// object hands every top-level member of the object in data to f. It
// takes *fields rather than a callback so the per-member call is direct.
func (s *scanner) object(data []byte, f *fields) error {
	s.data, s.pos, s.buf = data, 0, s.buf[:0]
	s.space()
	if !s.consume('{') {
		if s.validValue() {
			return rejectf(ReasonNotObject, "a JSON value that is not an object")
		}
		return s.errorf("expected a JSON object")
	}
	s.space()
	if s.consume('}') {
		return s.end()
	}
	for {
		s.space()
		key, err := s.str()
		if err != nil {
			return err
		}
		s.space()
		if !s.consume(':') {
			return s.errorf("expected ':' after key %q", key)
		}
		s.space()
		v, err := s.value(0)
		if err != nil {
			return err
		}
		f.collect(key, v)
		s.space()
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return s.end()
		}
		return s.errorf("expected ',' or '}'")
	}
}

// validValue reports whether the data from the current position is one
// JSON value and nothing else, to tell JSON that is not an object from
// text that is not JSON at all.
func (s *scanner) validValue() bool {
	if _, err := s.value(0); err != nil {
		return false
	}
	return s.end() == nil
}

func (s *scanner) end() error {
	s.space()
	if s.pos != len(s.data) {
		return errTrailing
	}
	return nil
}

func (s *scanner) errorf(format string, args ...any) error {
	if s.pos >= len(s.data) {
		return fmt.Errorf("broken JSON: unexpected end of input: "+format, args...)
	}
	return fmt.Errorf("broken JSON at byte %d: "+format, append([]any{s.pos}, args...)...)
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		// Records are usually compact: one comparison settles most calls.
		switch c := s.data[s.pos]; {
		case c > ' ':
			return
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *scanner) value(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, s.errorf("nesting deeper than %d", maxDepth)
	}
	if s.pos >= len(s.data) {
		return value{}, s.errorf("expected a value")
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		b, err := s.str()
		return value{kind: kindString, raw: b}, err
	case c == '-' || (c >= '0' && c <= '9'):
		b, err := s.number()
		return value{kind: kindNumber, raw: b}, err
	case c == 't':
		return value{kind: kindBool, raw: []byte("true")}, s.literal("true")
	case c == 'f':
		return value{kind: kindBool, raw: []byte("false")}, s.literal("false")
	case c == 'n':
		return value{kind: kindNull}, s.literal("null")
	case c == '{':
		return value{kind: kindObject}, s.skipContainer('{', '}', depth)
	case c == '[':
		return value{kind: kindArray}, s.skipContainer('[', ']', depth)
	}
	return value{}, s.errorf("unexpected character %q", s.data[s.pos])
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.pos >= len(lit) && string(s.data[s.pos:s.pos+len(lit)]) == lit {
		s.pos += len(lit)
		return nil
	}
	return s.errorf("invalid literal")
}

// skipContainer skips a nested object or array, checking its syntax.
func (s *scanner) skipContainer(open, close byte, depth int) error {
	s.pos++ // open
	s.space()
	if s.consume(close) {
		return nil
	}
	for {
		s.space()
		if open == '{' {
			if _, err := s.str(); err != nil {
				return err
			}
			s.space()
			if !s.consume(':') {
				return s.errorf("expected ':'")
			}
			s.space()
		}
		if _, err := s.value(depth + 1); err != nil {
			return err
		}
		s.space()
		if s.consume(',') {
			continue
		}
		if s.consume(close) {
			return nil
		}
		return s.errorf("expected ',' or %q", close)
	}
}

// number scans a JSON number literal and returns it.
func (s *scanner) number() ([]byte, error) {
	start := s.pos
	s.consume('-')
	digits := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	if s.pos == digits {
		return nil, s.errorf("invalid number")
	}
	if s.consume('.') {
		frac := s.pos
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
		}
		if s.pos == frac {
			return nil, s.errorf("invalid number")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		exp := s.pos
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
		}
		if s.pos == exp {
			return nil, s.errorf("invalid number")
		}
	}
	return s.data[start:s.pos], nil
}

// str scans a JSON string. Strings without escapes are returned as a
// sub-slice of the input; escaped ones are unescaped into s.buf.
func (s *scanner) str() ([]byte, error) {
	if !s.consume('"') {
		return nil, s.errorf("expected a string")
	}
	// Locals and one table lookup per byte: this loop reads most of
	// every record's bytes.
	start := s.pos
	rest := s.data[start:]
	for i, c := range rest {
		if !strStop[c] {
			continue
		}
		s.pos = start + i
		switch c {
		case '"':
			s.pos++
			return rest[:i], nil
		case '\\':
			return s.escaped(start)
		}
		return nil, s.errorf("control character in string")
	}
	s.pos = len(s.data)
	return nil, s.errorf("unterminated string")
}

// strStop marks the bytes that end the plain run of a JSON string: the
// closing quote, an escape, and control characters (not allowed raw).
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func (s *scanner) escaped(start int) ([]byte, error) {
	from := len(s.buf)
	s.buf = append(s.buf, s.data[start:s.pos]...)
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return s.buf[from:], nil
		case c < 0x20:
			return nil, s.errorf("control character in string")
		case c != '\\':
			s.buf = append(s.buf, c)
			s.pos++
			continue
		}
		if s.pos+1 >= len(s.data) {
			break
		}
		s.pos += 2
		switch e := s.data[s.pos-1]; e {
		case '"', '\\', '/':
			s.buf = append(s.buf, e)
		case 'b':
			s.buf = append(s.buf, '\b')
		case 'f':
			s.buf = append(s.buf, '\f')
		case 'n':
			s.buf = append(s.buf, '\n')
		case 'r':
			s.buf = append(s.buf, '\r')
		case 't':
			s.buf = append(s.buf, '\t')
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return nil, s.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
					s.pos += 2
					if r2, ok = s.hex4(); !ok {
						return nil, s.errorf("invalid \\u escape")
					}
				}
				r = utf16.DecodeRune(r, r2)
			}
			s.buf = utf8.AppendRune(s.buf, r)
		default:
			return nil, s.errorf("invalid escape \\%c", e)
		}
	}
	return nil, s.errorf("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s.data[s.pos:s.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	s.pos += 4
	return rune(n), true
}
