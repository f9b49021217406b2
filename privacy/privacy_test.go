package privacy_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/cdrpipe/cdrpipe/privacy"
)

const key = "0123456789abcdef0123456789abcdef"

// TestPseudonyms checks pseudonyms are stable, keyed, distinct per
// number, marked, and that service numbers stay in clear.
func TestPseudonyms(t *testing.T) {
	p := privacy.New(key, []string{"+86110", "+86400*"})
	a := p.Of("+8613800000001")
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("+8613800000001"))
	if want := "hmac:" + hex.EncodeToString(mac.Sum(nil)[:16]); a != want {
		t.Fatalf("Of = %q, want %q (HMAC-SHA-256, 128 bits, hex)", a, want)
	}
	if again := p.Of("+8613800000001"); again != a {
		t.Errorf("the same number gave %q then %q", a, again)
	}
	if b := p.Of("+8613800000002"); b == a || !privacy.Is(b) {
		t.Errorf("the next number gave %q (first %q)", b, a)
	}
	if other := privacy.New(key+"x", nil).Of("+8613800000001"); other == a {
		t.Error("another key gave the same pseudonym")
	}
	for _, n := range []string{"+86110", "+864001234567", "", "+86400"} {
		if got := p.Of(n); got != n {
			t.Errorf("Of(%q) = %q, want it in clear", n, got)
		}
	}
	if got := p.Of("+861101"); !privacy.Is(got) {
		t.Errorf("Of(+861101) = %q: only exact +86110 is in clear", got)
	}
	if privacy.Is("+8613800000001") {
		t.Error("Is(number) = true")
	}
}

// BenchmarkPseudonym is the cost per stored call when pseudonyms are on.
func BenchmarkPseudonym(b *testing.B) {
	p := privacy.New(key, []string{"+86110", "+86400*", "+86800*"})
	nums := []string{"+8613800000001", "+8613912345678", "+8675512345678", "+8618611112222"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = p.Of(nums[i&3])
	}
}
