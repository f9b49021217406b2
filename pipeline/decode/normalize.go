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
	// NationalPrefix is the trunk prefix before a national number ("0";
	// "8" in Russia); empty when the plan has none.
	NationalPrefix string
	// InternationalPrefixes come before a country code ("00"; "011",
	// "810"); the longest that matches wins. None means "00".
	InternationalPrefixes []string
}

// NOA is a number's nature of address, as ISUP and 3GPP records carry it:
// whether its digits hold a country code, a national number or a local
// one. Most records leave it out (NOAUnknown), and the digits decide.
type NOA uint8

// Natures of address, as the fields caller_noa and callee_noa name them.
const (
	NOAUnknown NOA = iota
	NOAInternational
	NOANational
	NOASubscriber
)

// ParseNOA reads a nature of address, case-insensitively: international,
// national, subscriber or unknown (also "" for unknown).
func ParseNOA(b []byte) (NOA, bool) {
	switch {
	case len(b) == 0, asciiEqualFold(b, "unknown"):
		return NOAUnknown, true
	case asciiEqualFold(b, "international"):
		return NOAInternational, true
	case asciiEqualFold(b, "national"):
		return NOANational, true
	case asciiEqualFold(b, "subscriber"):
		return NOASubscriber, true
	}
	return NOAUnknown, false
}

// maxE164Digits is the longest number E.164 allows, country code included.
const maxE164Digits = 15

// minNationalDigits is the shortest national number accepted; shorter
// strings are not numbers a carrier can route (service codes such as 110
// have three).
const minNationalDigits = 3

var errEmptyNumber = errors.New("empty number")

// Normalize turns s into E.164 with '+', when nothing says what kind of
// number it is. It accepts "+CC…", an international prefix and "CC…",
// the national prefix and a national number, "CC…" without '+', and
// plain national numbers; spaces, dashes, dots and parentheses are
// ignored. Digits that start with the home country code and are long
// enough to be international are read as E.164 without '+'.
func (n Numbering) Normalize(s []byte) (string, error) {
	return n.NormalizeNOA(s, NOAUnknown)
}

// NormalizeNOA is Normalize for a number whose nature of address is
// known: an international number's digits start with its country code
// (after an international prefix, if one was written), a national or
// subscriber number's are the home country's (after the national
// prefix, if one was written). A subscriber number should carry its area
// code; when a switch leaves it out it cannot be restored here, and the
// number is kept as the national number it looks like.
func (n Numbering) NormalizeNOA(s []byte, noa NOA) (string, error) {
	var buf [maxE164Len]byte
	out, err := n.appendE164(buf[:0], s, noa)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// maxE164Len is the longest text appendE164 writes: '+' and the digits.
const maxE164Len = 1 + maxE164Digits

// appendE164 appends the normalised form of s (see NormalizeNOA) to dst,
// writing at most maxE164Len bytes. On error dst is returned unchanged,
// so the decoder can write straight into its arena.
func (n Numbering) appendE164(dst, s []byte, noa NOA) ([]byte, error) {
	if noa != NOANational && noa != NOASubscriber && isE164(s) {
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
	// The digits are assembled on the stack and checked before anything
	// is appended to dst.
	var buf [40]byte
	out, national := n.assemble(buf[:0], digits[:nd], plus, noa)
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

// assemble appends the E.164 digits of d to out and returns them with the
// length of the national number when the country code was added (0 when
// the digits carried their own). International prefixes are looked for
// before the national one, which is often a prefix of them ("8" and
// "810").
func (n Numbering) assemble(out, d []byte, plus bool, noa NOA) ([]byte, int) {
	cc := n.CountryCode
	switch noa {
	case NOAInternational:
		if plus {
			return append(out, d...), 0
		}
		if p := n.intlPrefix(d); p > 0 {
			return append(out, d[p:]...), 0
		}
		return append(out, d...), 0
	case NOANational, NOASubscriber:
		if p := n.nationalPrefix(d); p > 0 && !plus {
			d = d[p:]
		}
		return append(append(out, cc...), d...), len(d)
	}
	switch p := n.intlPrefix(d); {
	case plus:
		return append(out, d...), 0
	case p > 0:
		return append(out, d[p:]...), 0
	}
	switch p := n.nationalPrefix(d); {
	case p > 0:
		return append(append(out, cc...), d[p:]...), len(d) - p
	case hasPrefix(d, cc) && len(d)-len(cc) >= 8:
		return append(out, d...), 0
	}
	return append(append(out, cc...), d...), len(d)
}

// intlPrefix returns the length of the longest international prefix d
// starts with (and holds more than), or 0.
func (n Numbering) intlPrefix(d []byte) int {
	prefixes := n.InternationalPrefixes
	if len(prefixes) == 0 {
		prefixes = defaultIntlPrefixes
	}
	best := 0
	for _, p := range prefixes {
		if len(p) > best && len(d) > len(p) && hasPrefix(d, p) {
			best = len(p)
		}
	}
	return best
}

var defaultIntlPrefixes = []string{"00"}

// nationalPrefix returns the length of the national prefix when d starts
// with it and holds more, or 0.
func (n Numbering) nationalPrefix(d []byte) int {
	if p := n.NationalPrefix; p != "" && len(d) > len(p) && hasPrefix(d, p) {
		return len(p)
	}
	return 0
}

// asciiEqualFold reports whether b equals the lower-case ASCII word w,
// ignoring case, without allocating.
func asciiEqualFold(b []byte, w string) bool {
	if len(b) != len(w) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
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
