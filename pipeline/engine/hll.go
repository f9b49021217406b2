package engine

import (
	"math"
	"math/bits"
)

// hllPrecision sets the sketch to 2^10 one-byte registers: about 3%
// standard error in 1 KiB, which is plenty for callers who are already
// past thousands of distinct callees.
const hllPrecision = 10

const hllRegisters = 1 << hllPrecision

// hll is a HyperLogLog sketch of distinct callees, used only for callers
// whose exact callee set is full.
type hll [hllRegisters]uint8

// add records the 64-bit hash h.
func (s *hll) add(h uint64) {
	i := h >> (64 - hllPrecision)
	rank := uint8(bits.LeadingZeros64(h<<hllPrecision|1<<(hllPrecision-1)) + 1)
	if rank > s[i] {
		s[i] = rank
	}
}

// merge folds o into s.
func (s *hll) merge(o *hll) {
	for i, r := range o {
		if r > s[i] {
			s[i] = r
		}
	}
}

// estimate returns the estimated number of distinct hashes added.
func (s *hll) estimate() float64 {
	const m = float64(hllRegisters)
	alpha := 0.7213 / (1 + 1.079/m)
	sum, zeros := 0.0, 0
	for _, r := range s {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := alpha * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		return m * math.Log(m/float64(zeros))
	}
	return e
}
