package main

import (
	"math/rand/v2"
	"strconv"
)

// numbers allocates distinct E.164 numbers and gives each an index, so
// calls carry 4-byte indexes instead of strings.
type numbers struct {
	r    *rand.Rand
	list []string
	set  map[string]uint32
}

func newNumbers(r *rand.Rand) *numbers {
	return &numbers{r: r, set: map[string]uint32{}}
}

// intern returns the index of s, adding it if new, and whether it was new.
func (n *numbers) intern(s string) (uint32, bool) {
	if i, ok := n.set[s]; ok {
		return i, false
	}
	i := uint32(len(n.list))
	n.list = append(n.list, s)
	n.set[s] = i
	return i, true
}

// fresh draws from f until it yields a number not seen before.
func (n *numbers) fresh(f func() string) uint32 {
	for {
		if i, ok := n.intern(f()); ok {
			return i
		}
	}
}

func (n *numbers) digits(k int) string {
	b := make([]byte, k)
	for i := range b {
		b[i] = byte('0' + n.r.IntN(10))
	}
	return string(b)
}

// mobileDigits returns a random national mobile number, 1[3-9] and nine
// more digits, as an integer.
func (n *numbers) mobileDigits() uint64 {
	return uint64(13+n.r.IntN(7))*1_000_000_000 + uint64(n.r.Int64N(1_000_000_000))
}

// mobile is a new +86 mobile number: +861[3-9] and nine digits.
func (n *numbers) mobile() uint32 {
	return n.fresh(func() string { return "+86" + strconv.FormatUint(n.mobileDigits(), 10) })
}

// fromDigits returns the index of the +86 number with national digits d.
func (n *numbers) fromDigits(d uint64) uint32 {
	i, _ := n.intern("+86" + strconv.FormatUint(d, 10))
	return i
}

var areas = []string{"10", "20", "21", "755"}

// landline is a new +86 fixed number in Beijing, Guangzhou, Shanghai or
// Shenzhen: area code and eight digits.
func (n *numbers) landline() uint32 {
	return n.fresh(func() string {
		return "+86" + areas[n.r.IntN(len(areas))] + strconv.Itoa(2+n.r.IntN(8)) + n.digits(7)
	})
}

// fixed is a new +86 number of prefix and k random digits (400 numbers,
// 95xxx bank service numbers).
func (n *numbers) fixed(prefix string, k int) uint32 {
	return n.fresh(func() string { return "+86" + prefix + n.digits(k) })
}

var foreignPrefixes = []string{"+2162", "+2165", "+3712", "+2341", "+8823"}

// foreign is a new number from a country wangiri operators favour.
func (n *numbers) foreign() uint32 {
	return n.fresh(func() string { return foreignPrefixes[n.r.IntN(len(foreignPrefixes))] + n.digits(7) })
}

// badID is a new caller ID outside the plan: a +86 mobile prefix with a
// national number of 7 to 9 or 12 digits instead of 11.
func (n *numbers) badID() uint32 {
	lengths := []int{7, 8, 9, 12}
	return n.fresh(func() string {
		return "+861" + strconv.Itoa(3+n.r.IntN(7)) + n.digits(lengths[n.r.IntN(len(lengths))]-2)
	})
}

// isMobile reports whether an E.164 number is a well-formed +86 mobile.
func isMobile(s string) bool {
	return len(s) == 14 && s[:4] == "+861" && s[4] >= '3' && s[4] <= '9'
}

// homeValid reports whether s is a +86 number the plan allows: a mobile
// of the right length, or a non-mobile national number of 3 to 11 digits.
func homeValid(s string) bool {
	if len(s) < 3 || s[:3] != "+86" {
		return false
	}
	nat := s[3:]
	if len(nat) >= 2 && nat[0] == '1' && nat[1] >= '3' && nat[1] <= '9' {
		return len(nat) == 11
	}
	return len(nat) >= 3 && len(nat) <= 11
}
