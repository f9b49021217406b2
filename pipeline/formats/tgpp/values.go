package tgpp

import (
	"fmt"
	"strconv"
)

// The value types of TS 32.298 and TS 29.002 the parser reads: TBCD
// strings (IMSI, IMEI, the digits of an address), AddressString, the
// BCD TimeStamp, INTEGER and OCTET STRING. Each appends its text to the
// parser's scratch buffer, so a record costs no allocation.

// tbcdDigits are the characters of TBCD nibbles 0x0-0xE (TS 29.002
// TBCD-STRING): digits, then '*', '#', 'a', 'b', 'c'. 0xF is the filler.
const tbcdDigits = "0123456789*#abc"

// appendTBCD appends the digits of a TBCD string: the low nibble of each
// octet first. The filler 0xF may only end the string (the high nibble of
// the last octet), as an odd number of digits leaves it.
func appendTBCD(dst, b []byte) ([]byte, error) {
	for i, c := range b {
		lo, hi := c&0x0f, c>>4
		if lo == 0x0f {
			return dst, fmt.Errorf("octet %d (0x%02x) has the filler 0xF before a digit", i+1, c)
		}
		dst = append(dst, tbcdDigits[lo])
		if hi == 0x0f {
			if i != len(b)-1 {
				return dst, fmt.Errorf("octet %d (0x%02x) has the filler 0xF before the last octet", i+1, c)
			}
			break
		}
		dst = append(dst, tbcdDigits[hi])
	}
	return dst, nil
}

// typesOfNumber are the natures of address of TS 29.002 AddressString
// (bits 7-5 of its first octet) as decode.ParseNOA reads them; the types
// the contract has no word for (network specific, abbreviated, reserved)
// are unknown, and the digits decide.
var typesOfNumber = [8][]byte{
	0b000: []byte("unknown"),
	0b001: []byte("international"),
	0b010: []byte("national"),
	0b011: []byte("unknown"), // network specific number
	0b100: []byte("subscriber"),
	0b101: []byte("unknown"), // reserved
	0b110: []byte("unknown"), // abbreviated number
	0b111: []byte("unknown"), // reserved for extension
}

// appendAddress appends the digits of an AddressString (an octet with the
// type of number and numbering plan, then TBCD digits) and returns the
// type of number as a nature-of-address word.
func appendAddress(dst, b []byte) (out, noa []byte, err error) {
	if len(b) == 0 {
		return dst, nil, nil
	}
	noa = typesOfNumber[b[0]>>4&0x07]
	out, err = appendTBCD(dst, b[1:])
	return out, noa, err
}

// timeStampLen is the size of a TS 32.298 TimeStamp: YYMMDDhhmmss, the
// sign of the offset, hhmm.
const timeStampLen = 9

// appendTimeStamp appends a TimeStamp as RFC 3339 text with its offset
// ("2026-11-30T08:15:02+08:00"). The digits are BCD with the tens in the
// high nibble (not swapped as TBCD is); years are 2000 + YY, as no CDR
// predates 2000. Whether the date exists is left to the decoder.
func appendTimeStamp(dst, b []byte) ([]byte, error) {
	if len(b) != timeStampLen {
		return dst, fmt.Errorf("%d octets, want %d (YYMMDDhhmmss, sign, hhmm)", len(b), timeStampLen)
	}
	for i, c := range b {
		if i != 6 && (c>>4 > 9 || c&0x0f > 9) {
			return dst, fmt.Errorf("octet %d (0x%02x) is not two BCD digits", i+1, c)
		}
	}
	sign := b[6]
	if sign != '+' && sign != '-' {
		return dst, fmt.Errorf("octet 7 (0x%02x) is not the sign of the offset ('+' or '-')", sign)
	}
	dst = append(dst, '2', '0')
	dst = appendBCD(dst, b[0])
	for i, sep := range [...]byte{'-', '-', 'T', ':', ':'} {
		dst = appendBCD(append(dst, sep), b[i+1])
	}
	dst = appendBCD(append(dst, sign), b[7])
	return appendBCD(append(dst, ':'), b[8]), nil
}

// appendBCD appends the two digits of a BCD octet, tens first.
func appendBCD(dst []byte, c byte) []byte {
	return append(dst, '0'+c>>4, '0'+c&0x0f)
}

// maxIntegerLen bounds an INTEGER: 8 octets hold any int64, and no
// duration or cause needs more.
const maxIntegerLen = 8

// integer reads a BER INTEGER: big-endian two's complement.
func integer(b []byte) (int64, error) {
	switch {
	case len(b) == 0:
		return 0, fmt.Errorf("INTEGER has no octets")
	case len(b) > maxIntegerLen:
		return 0, fmt.Errorf("INTEGER of %d octets is too large (at most %d)", len(b), maxIntegerLen)
	}
	n := int64(int8(b[0])) // the sign comes from the first octet
	for _, c := range b[1:] {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// appendInteger appends a BER INTEGER in decimal.
func appendInteger(dst, b []byte) ([]byte, error) {
	n, err := integer(b)
	if err != nil {
		return dst, err
	}
	return strconv.AppendInt(dst, n, 10), nil
}
