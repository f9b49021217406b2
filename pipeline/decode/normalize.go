package decode

import (
	"errors"
	"fmt"
	"strconv"
)

// Numbering normalises phone numbers to E.164 with a leading '+'.
type Numbering struct {
	// CountryCode is the home country code, digits only ("86").
	CountryCode string
}

// maxE164Digits is the longest number E.164 allows, country code included.
const maxE164Digits = 15

// minNationalDigits is the shortest national number accepted; shorter
// strings are not numbers a carrier can route (service codes such as 110
// have three).
const minNationalDigits = 3

var errEmptyNumber = errors.New("empty number")

// Normalize turns s into E.164 with '+'. It accepts "+CC…", "00CC…",
// "0…" (national with trunk prefix), "CC…" without '+', and plain
// national numbers; spaces, dashes, dots and parentheses are ignored.
// Digits that start with the home country code and are long enough to
// be international are read as E.164 without '+'.
func (n Numbering) Normalize(s []byte) (string, error) {
	var buf [maxE164Len]byte
	out, err := n.appendE164(buf[:0], s)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// maxE164Len is the longest text appendE164 writes: '+' and the digits.
const maxE164Len = 1 + maxE164Digits

// appendE164 appends the normalised form of s (see Normalize) to dst,
// writing at most maxE164Len bytes. On error dst is returned unchanged,
// so the decoder can write straight into its arena.
func (n Numbering) appendE164(dst, s []byte) ([]byte, error) {
	if isE164(s) {
		return append(dst, s...), nil
	}
	var digits [32]byte
	nd, plus := 0, false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if nd == len(digits) {
				return dst, fmt.Errorf("number %q is too long", s)
			}
			digits[nd] = c
			nd++
		case c == '+' && i == 0:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return dst, fmt.Errorf("number %q has a character that is not a digit", s)
		}
	}
	if nd == 0 {
		return dst, errEmptyNumber
	}
	d := digits[:nd]
	cc := n.CountryCode
	// The digits are assembled on the stack and checked before anything
	// is appended to dst.
	var buf [40]byte
	out := buf[:0]
	national := 0
	switch {
	case plus:
		out = append(out, d...)
	case len(d) > 2 && d[0] == '0' && d[1] == '0':
		out = append(out, d[2:]...)
	case d[0] == '0':
		out = append(append(out, cc...), d[1:]...)
		national = len(d) - 1
	case hasPrefix(d, cc) && len(d)-len(cc) >= 8:
		out = append(out, d...)
	default:
		out = append(append(out, cc...), d...)
		national = len(d)
	}
	if national > 0 && national < minNationalDigits {
		return dst, fmt.Errorf("number %q is too short", s)
	}
	if len(out) == 0 || out[0] == '0' {
		return dst, fmt.Errorf("number %q has no valid country code", s)
	}
	if len(out) > maxE164Digits {
		return dst, fmt.Errorf("number %q is longer than %d digits", s, maxE164Digits)
	}
	if len(out) < minNationalDigits+1 {
		return dst, fmt.Errorf("number %q is too short", s)
	}
	return append(append(dst, '+'), out...), nil
}

// isE164 reports whether s is already normalised: '+', a digit other
// than 0, and 3 to 14 more digits. Most switches write numbers this way,
// and the general path would return them unchanged.
func isE164(s []byte) bool {
	if len(s) < 1+minNationalDigits+1 || len(s) > maxE164Len || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func hasPrefix(d []byte, p string) bool {
	return len(p) > 0 && len(d) >= len(p) && string(d[:len(p)]) == p
}

// NumberKey packs a normalised E.164 number into a uint64 so that engine
// state can key on an integer instead of a string. E.164 has at most 15
// digits and no leading zero, so the packing is one-to-one.
func NumberKey(e164 string) uint64 {
	if len(e164) > 0 && e164[0] == '+' {
		e164 = e164[1:]
	}
	v, err := strconv.ParseUint(e164, 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// KeyNumber is the inverse of NumberKey.
func KeyNumber(k uint64) string {
	var b [24]byte
	b[0] = '+'
	return string(strconv.AppendUint(b[:1], k, 10))
}
