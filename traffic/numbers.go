package traffic

import (
	"math/rand/v2"
	"strconv"
)

// Numbers are kept as national significant numbers (NSN, the E.164 number
// without its country code) in a uint64, and only become text when a record
// is encoded, in one of several written forms chosen per record.

const (
	// mobileLow and mobileHigh bound 11-digit mobile NSNs 1[3-9]X XXXX XXXX.
	mobileLow  = 13_000_000_000
	mobileHigh = 20_000_000_000
	// mobileRangeMargin keeps a sequential-dialing range from running past
	// the last number of its prefix.
	mobileRangeMargin = 1000
	// minCalleeGap separates the random callees of a planted caller so that
	// they never form the numeric runs sequential_dialing looks for.
	minCalleeGap = 1000
)

// landlineAreas are city codes used for landline contacts: Beijing,
// Guangzhou, Shanghai and Shenzhen, each followed by 8 local digits.
var landlineAreas = [...]uint64{10, 20, 21, 755}

// isMobile reports whether nsn is an 11-digit mobile number, which is
// written nationally without a trunk prefix; landlines take a leading 0.
func isMobile(nsn uint64) bool { return nsn >= 10_000_000_000 && nsn < mobileHigh }

// randomMobile returns a random mobile NSN 1[3-9]X XXXX XXXX.
func randomMobile(r *rand.Rand) uint64 {
	return mobileLow + r.Uint64N(mobileHigh-mobileLow)
}

// randomLandline returns a random landline NSN: area code plus 8 local
// digits, the first of which is 2-9 as for real local numbers.
func randomLandline(r *rand.Rand) uint64 {
	area := landlineAreas[r.IntN(len(landlineAreas))]
	return area*100_000_000 + 20_000_000 + r.Uint64N(80_000_000)
}

// uniqueMobile returns a mobile NSN not yet in used, and records it there.
func uniqueMobile(r *rand.Rand, used map[uint64]struct{}) uint64 {
	for {
		n := randomMobile(r)
		if _, dup := used[n]; !dup {
			used[n] = struct{}{}
			return n
		}
	}
}

// spreadMobiles returns n random mobile NSNs no two of which are within
// minCalleeGap of each other, so they are distinct and never sequential.
func spreadMobiles(r *rand.Rand, n int) []uint64 {
	out := make([]uint64, 0, n)
	for len(out) < n {
		c := randomMobile(r)
		if farFromAll(c, out) {
			out = append(out, c)
		}
	}
	return out
}

// farFromAll reports whether c is at least minCalleeGap from every number
// in have; a quadratic scan is fine for the few hundred callees of a burst.
func farFromAll(c uint64, have []uint64) bool {
	for _, h := range have {
		d := c - h
		if h > c {
			d = h - c
		}
		if d < minCalleeGap {
			return false
		}
	}
	return true
}

// numberForm is how a number is written in one record. The pipeline must
// normalise all of them to the same E.164 number.
type numberForm uint8

const (
	formPlus     numberForm = iota // +8613912345678
	formBare                       // 8613912345678
	formIntl                       // 008613912345678
	formNational                   // 13912345678, or 075512345678 for landlines
)

// randomForm picks a written form, mostly the canonical "+CC" one.
func randomForm(r *rand.Rand) numberForm {
	switch p := r.IntN(100); {
	case p < 65:
		return formPlus
	case p < 77:
		return formBare
	case p < 85:
		return formIntl
	default:
		return formNational
	}
}

// appendNumber appends nsn written in form f with country code cc.
func appendNumber(b []byte, cc int, nsn uint64, f numberForm) []byte {
	switch f {
	case formPlus:
		b = append(b, '+')
	case formIntl:
		b = append(b, '0', '0')
	case formNational:
		if !isMobile(nsn) {
			b = append(b, '0')
		}
		return strconv.AppendUint(b, nsn, 10)
	}
	b = strconv.AppendInt(b, int64(cc), 10)
	return strconv.AppendUint(b, nsn, 10)
}

// e164 returns nsn as an E.164 string with a leading '+'.
func e164(cc int, nsn uint64) string {
	return string(appendNumber(make([]byte, 0, 16), cc, nsn, formPlus))
}
