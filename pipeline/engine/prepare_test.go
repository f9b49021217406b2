package engine

import (
	"hash/fnv"
	"testing"
)

func TestFNV64aMatchesLibrary(t *testing.T) {
	for _, s := range []string{"", "a", "call-0001", "h:0123456789abcdef"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := fnv64a(s), h.Sum64(); got != want {
			t.Errorf("fnv64a(%q) = %x, want %x", s, got, want)
		}
	}
}
