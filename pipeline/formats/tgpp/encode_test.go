package tgpp_test

import (
	"bytes"
	"fmt"
	"strings"
)

// A BER encoder for the tests: enough of X.690 to write the call records
// of TS 32.298 by hand, including the forms a decoder must accept but an
// encoder need not write (long-form lengths of any size, indefinite
// lengths), so the samples are built from the ASN.1, not from the parser.

// Identifier octets: class and form bits.
const (
	context     = 0x80
	constructed = 0x20
)

// ident writes the identifier octets of a tag: one octet below 31, else
// 0x1f and the number in base 128, high digits first.
func ident(class byte, tag uint32) []byte {
	if tag < 31 {
		return []byte{class | byte(tag)}
	}
	var digits []byte
	for t := tag; t > 0; t >>= 7 {
		digits = append([]byte{byte(t & 0x7f)}, digits...)
	}
	for i := range digits[:len(digits)-1] {
		digits[i] |= 0x80
	}
	return append([]byte{class | 0x1f}, digits...)
}

// lenOctets writes a definite length: the short form below 128, else the
// long form in the fewest octets, or in exactly long octets when long > 0
// (BER allows any number; some encoders always write 0x82).
func lenOctets(n, long int) []byte {
	if n < 128 && long == 0 {
		return []byte{byte(n)}
	}
	var be []byte
	for v := n; v > 0; v >>= 8 {
		be = append([]byte{byte(v)}, be...)
	}
	for len(be) < long {
		be = append([]byte{0}, be...)
	}
	return append([]byte{0x80 | byte(len(be))}, be...)
}

// el is one element: identifier, length (long: see lenOctets; -1:
// indefinite, with end-of-contents) and contents.
type el struct {
	class byte
	tag   uint32
	long  int
	body  []byte
}

func (e el) bytes() []byte {
	out := ident(e.class, e.tag)
	if e.long < 0 {
		out = append(append(append(out, 0x80), e.body...), 0, 0)
		return out
	}
	return append(append(out, lenOctets(len(e.body), e.long)...), e.body...)
}

// prim is a context-specific primitive member, [tag] IMPLICIT.
func prim(tag uint32, body []byte) el { return el{class: context, tag: tag, body: body} }

// cons is a context-specific constructed element: a record or a CHOICE.
func cons(tag uint32, members ...el) el {
	var body []byte
	for _, m := range members {
		body = append(body, m.bytes()...)
	}
	return el{class: context | constructed, tag: tag, body: body}
}

// withLen gives e a length in long octets (-1: indefinite).
func (e el) withLen(long int) el { e.long = long; return e }

// tbcd writes digits as a TBCD-STRING: two a octet, the first in the low
// nibble, 0xF after an odd last digit; '*', '#', 'a', 'b', 'c' are the
// nibbles 0xA-0xE.
func tbcd(digits string) []byte {
	nib := func(c byte) byte {
		if i := strings.IndexByte("0123456789*#abc", c); i >= 0 {
			return byte(i)
		}
		panic(fmt.Sprintf("tbcd: %q is not a TBCD digit", c))
	}
	var out []byte
	for i := 0; i < len(digits); i += 2 {
		hi := byte(0x0f)
		if i+1 < len(digits) {
			hi = nib(digits[i+1])
		}
		out = append(out, hi<<4|nib(digits[i]))
	}
	return out
}

// Types of number of AddressString (TS 29.002), bits 7-5 of its first
// octet.
const (
	tonUnknown       = 0b000
	tonInternational = 0b001
	tonNational      = 0b010
	tonSubscriber    = 0b100
)

// address writes an AddressString: no extension, the type of number,
// numbering plan 1 (ISDN/E.164), then the digits in TBCD.
func address(ton byte, digits string) []byte {
	return append([]byte{0x80 | ton<<4 | 0x01}, tbcd(digits)...)
}

// timeStamp writes a TimeStamp from "YYMMDDhhmmss+hhmm": BCD with the tens
// in the high nibble, and the sign as its ASCII octet.
func timeStamp(s string) []byte {
	if len(s) != 17 {
		panic("timeStamp: want YYMMDDhhmmss+hhmm, got " + s)
	}
	bcd := func(p string) byte { return (p[0]-'0')<<4 | (p[1] - '0') }
	var out []byte
	for i := 0; i < 12; i += 2 {
		out = append(out, bcd(s[i:i+2]))
	}
	return append(out, s[12], bcd(s[13:15]), bcd(s[15:17]))
}

// integer writes a BER INTEGER: two's complement in the fewest octets.
func integer(n int64) []byte {
	out := []byte{byte(n)}
	for n >= 128 || n < -128 {
		n >>= 8
		out = append([]byte{byte(n)}, out...)
	}
	return out
}

// concat joins encoded records as a file holds them.
func concat(recs ...[]byte) []byte { return bytes.Join(recs, nil) }
