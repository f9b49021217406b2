// Package privacy holds how cdrpipe stores personal data it does not need
// to keep in clear. Callee numbers become keyed pseudonyms: the same
// number always gives the same pseudonym under one key, so analysts can
// count callees and join calls on them, but without the key nobody can
// tell which number a pseudonym stands for, not even by hashing every
// number of the plan (a plain hash could be reversed that way in
// minutes).
package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// Prefix starts every pseudonym, so one is never taken for a number.
const Prefix = "hmac:"

// size is how many bytes of the HMAC a pseudonym keeps: 128 bits, so
// that even ten billion numbers collide with a chance below 1e-18.
const size = 16

// Pseudonyms turns numbers into keyed pseudonyms (HMAC-SHA-256, cut to
// 128 bits, in hex after Prefix), except the numbers that are not a
// person's, which it leaves in clear. It reuses one hash state, so it is
// not safe for concurrent use: give each goroutine its own.
type Pseudonyms struct {
	mac      hash.Hash
	exact    map[string]bool
	prefixes []string
	in, sum  []byte
}

// New returns Pseudonyms under key. clear lists the numbers that stay in
// clear: E.164 numbers, or prefixes ending in '*'.
func New(key string, clear []string) *Pseudonyms {
	p := &Pseudonyms{mac: hmac.New(sha256.New, []byte(key)), exact: map[string]bool{}}
	for _, c := range clear {
		if prefix, ok := strings.CutSuffix(c, "*"); ok {
			p.prefixes = append(p.prefixes, prefix)
		} else {
			p.exact[c] = true
		}
	}
	return p
}

// Of returns the pseudonym of number n, or n itself when it is empty or
// one of the numbers left in clear.
func (p *Pseudonyms) Of(n string) string {
	if n == "" || p.clear(n) {
		return n
	}
	p.in = append(p.in[:0], n...)
	p.mac.Reset()
	p.mac.Write(p.in)
	p.sum = p.mac.Sum(p.sum[:0])
	var out [len(Prefix) + 2*size]byte
	copy(out[:], Prefix)
	hex.Encode(out[len(Prefix):], p.sum[:size])
	return string(out[:])
}

func (p *Pseudonyms) clear(n string) bool {
	if p.exact[n] {
		return true
	}
	for _, prefix := range p.prefixes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// Is reports whether s is a pseudonym rather than a number.
func Is(s string) bool { return strings.HasPrefix(s, Prefix) }
