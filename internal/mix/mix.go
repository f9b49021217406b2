// Package mix scrambles 64-bit keys: the splitmix64 finaliser, a cheap
// bijection whose output bits all depend on every input bit. The engine
// picks shards and sketch registers with it; the benchmarks draw
// deterministic pseudo-random numbers from it.
package mix

// Mix64 returns x scrambled. Distinct inputs give distinct outputs.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
