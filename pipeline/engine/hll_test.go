package engine

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cdrpipe/cdrpipe/internal/mix"
)

// TestHLLMerge: eight registers at a time give the larger of each pair,
// for every pair of ranks a register can hold.
func TestHLLMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var a, b hll
		for i := range a {
			a[i], b[i] = uint8(r.IntN(64-hllPrecision+2)), uint8(r.IntN(64-hllPrecision+2))
		}
		want := a
		for i := range want {
			want[i] = max(a[i], b[i])
		}
		a.merge(&b)
		if a != want {
			t.Fatal("merge differs from the register-by-register maximum")
		}
	}
}

// TestHLLEstimate: the estimate is within the sketch's error of the
// truth, and the table of powers gives what Ldexp gave.
func TestHLLEstimate(t *testing.T) {
	for _, n := range []int{100, 3000, 50000} {
		var s hll
		for i := range n {
			s.add(mix.Mix64(uint64(i) + 1))
		}
		got := s.estimate()
		if math.Abs(got-float64(n)) > 0.1*float64(n) {
			t.Errorf("%d distinct: estimated %.0f", n, got)
		}
		sum := 0.0
		for _, r := range s {
			sum += math.Ldexp(1, -int(r))
		}
		tab := 0.0
		for _, r := range s {
			tab += inversePowers[r&63]
		}
		if sum != tab {
			t.Errorf("table sum %v, Ldexp sum %v", tab, sum)
		}
	}
}
