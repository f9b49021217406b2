package engine

import (
	"encoding/binary"
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

// add records the 64-bit hash h, and reports whether a register changed:
// once a sketch holds a few thousand hashes, most adds change nothing.
func (s *hll) add(h uint64) bool {
	i := h >> (64 - hllPrecision)
	rank := uint8(bits.LeadingZeros64(h<<hllPrecision|1<<(hllPrecision-1)) + 1)
	if rank > s[i] {
		s[i] = rank
		return true
	}
	return false
}

// Registers hold ranks up to 64-hllPrecision+1, under 128: eight of them
// fit in a word with every byte's top bit clear, which merge relies on.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// merge folds o into s: the larger of each pair of registers, eight at a
// time. For bytes under 128, (a|0x80)-b keeps its top bit exactly when
// a >= b, and no borrow crosses into the next byte.
func (s *hll) merge(o *hll) {
	for i := 0; i < hllRegisters; i += 8 {
		a := binary.LittleEndian.Uint64(s[i:])
		b := binary.LittleEndian.Uint64(o[i:])
		ge := ((a | highBits) - b) & highBits // top bit of each byte where a >= b
		mask := (ge >> 7) * 0xff              // 0xff in those bytes
		binary.LittleEndian.PutUint64(s[i:], a&mask|b&^mask)
	}
}

// inversePowers holds 2^-r for every rank a register can hold.
var inversePowers = func() (t [66]float64) {
	for r := range t {
		t[r] = math.Ldexp(1, -r)
	}
	return t
}()

// estimate returns the estimated number of distinct hashes added.
func (s *hll) estimate() float64 {
	const m = float64(hllRegisters)
	alpha := 0.7213 / (1 + 1.079/m)
	sum, zeros := 0.0, 0
	for _, r := range s {
		sum += inversePowers[r&63]
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
