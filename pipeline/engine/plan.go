package engine

import (
	"slices"
	"strings"

	"github.com/cdrpipe/cdrpipe/config"
)

// plan is the home numbering plan, for judging numbers without a lookup
// service: lengths, mobile prefixes and which trunks come from abroad.
type plan struct {
	home       string // "+86"
	mobiles    []string
	mobileLen  int
	minLen     int
	maxLen     int
	intlTrunks []string
}

func newPlan(n config.Numbering) plan {
	return plan{
		home:       "+" + n.CountryCode,
		mobiles:    n.MobilePrefixes,
		mobileLen:  n.MobileDigits,
		minLen:     n.MinNationalDigits,
		maxLen:     n.MaxNationalDigits,
		intlTrunks: n.InternationalTrunks,
	}
}

// mobile reports whether number (E.164) is a home mobile number.
func (p *plan) mobile(number string) bool {
	for _, m := range p.mobiles {
		if strings.HasPrefix(number, m) {
			return true
		}
	}
	return false
}

// outside reports whether a home number breaks the plan: a national
// number of impossible length, or a mobile number of the wrong length.
// Foreign numbers are not judged.
func (p *plan) outside(number string) bool {
	if p.home == "+" || !strings.HasPrefix(number, p.home) {
		return false
	}
	n := len(number) - len(p.home)
	if n < p.minLen || n > p.maxLen {
		return true
	}
	return p.mobile(number) && n != p.mobileLen
}

// spoofed reports whether a caller ID cannot be genuine: a home number
// arriving on an international trunk, or one outside the plan.
func (p *plan) spoofed(caller, trunk string) bool {
	if !strings.HasPrefix(caller, p.home) {
		return false
	}
	return p.outside(caller) || trunk != "" && slices.Contains(p.intlTrunks, trunk)
}
