package engine

import "math/bits"

// table is an open-addressing hash map from uint64 keys to values of V,
// with linear probing and deletion by backward shift (no tombstones). It
// replaces Go maps on the per-CDR path: one probe usually lands in the
// right cache line, lookups hand out a pointer to the value so an update
// is one probe, not two, and a table can be emptied and reused without
// allocating, or rebuilt smaller when its contents shrink, which a Go map
// never does.
//
// Keys and values sit side by side, so a probe that finds its key has the
// value in the same cache line: on tables of millions of numbers each
// lookup is one miss, not two.
//
// The key emptyKey cannot be stored; callers map it away (keyOf).
type table[V any] struct {
	slot []entry[V]
	n    int
}

// entry puts the value first: a zero-size value last would be padded
// (a pointer to it must not point past the entry), doubling a set's size.
type entry[V any] struct {
	val V
	key uint64
}

// emptyKey marks a free slot. E.164 numbers are below 10^15 and hashes
// are remapped by keyOf, so it never occurs as a real key.
const emptyKey = ^uint64(0)

// keyOf maps a hash onto the keys a table can hold.
func keyOf(h uint64) uint64 {
	if h == emptyKey {
		return emptyKey - 1
	}
	return h
}

// minTableSlots is the smallest table; rebuilding below it saves nothing.
const minTableSlots = 64

// init sizes t for about n keys, dropping what it held: two thirds
// full, half-way between where it grows (three quarters) and where the
// last growth left it (a half). Sizes are not powers of two, so a table
// of a million keys does not take room for two.
func (t *table[V]) init(n int) {
	slots := max(minTableSlots, n*3/2)
	t.slot = make([]entry[V], slots)
	for i := range t.slot {
		t.slot[i].key = emptyKey
	}
	t.n = 0
}

// home is where k's probe sequence starts: a Fibonacci multiply spreads
// runs of consecutive numbers (and does not reuse the low bits the engine
// picks shards by), and the high word of its product with the size maps
// it onto the slots without a division.
func (t *table[V]) home(k uint64) uint64 {
	hi, _ := bits.Mul64(k*0x9e3779b97f4a7c15, uint64(len(t.slot)))
	return hi
}

// next is the slot after i, wrapping round.
func (t *table[V]) next(i uint64) uint64 {
	if i++; i == uint64(len(t.slot)) {
		return 0
	}
	return i
}

// touch loads the first slot k's probe would read and returns its key,
// so that a later lookup of k finds the line in cache.
func (t *table[V]) touch(k uint64) uint64 {
	if len(t.slot) == 0 {
		return 0
	}
	return t.slot[t.home(k)].key
}

// len returns the number of keys held.
func (t *table[V]) len() int { return t.n }

// find returns a pointer to k's value, or nil. The pointer is valid until
// the next insert or remove.
func (t *table[V]) find(k uint64) *V {
	if t.n == 0 {
		return nil
	}
	for i := t.home(k); ; i = t.next(i) {
		switch e := &t.slot[i]; e.key {
		case k:
			return &e.val
		case emptyKey:
			return nil
		}
	}
}

// upsert returns a pointer to k's value, inserting the zero value first
// when k is absent (fresh is then true). The pointer is valid until the
// next insert or remove.
func (t *table[V]) upsert(k uint64) (v *V, fresh bool) {
	if t.slot == nil || (t.n+1)*4 > len(t.slot)*3 {
		t.resize(len(t.slot)) // half full after growing by half
	}
	for i := t.home(k); ; i = t.next(i) {
		switch e := &t.slot[i]; e.key {
		case k:
			return &e.val, false
		case emptyKey:
			e.key = k
			t.n++
			return &e.val, true
		}
	}
}

// remove deletes k, reporting whether it was there. Later keys of the
// same probe run shift back into the hole, so lookups never need
// tombstones.
func (t *table[V]) remove(k uint64) bool {
	if t.n == 0 {
		return false
	}
	i := t.home(k)
	for t.slot[i].key != k {
		if t.slot[i].key == emptyKey {
			return false
		}
		i = t.next(i)
	}
	for j := t.next(i); t.slot[j].key != emptyKey; j = t.next(j) {
		// The key at j may move back into the hole at i unless its home
		// slot lies after the hole.
		if !cyclicBetween(t.home(t.slot[j].key), i, j) {
			t.slot[i] = t.slot[j]
			i = j
		}
	}
	t.slot[i] = entry[V]{key: emptyKey}
	t.n--
	return true
}

// cyclicBetween reports whether slot h lies in (i, j] going round the
// table.
func cyclicBetween(h, i, j uint64) bool {
	if i <= j {
		return i < h && h <= j
	}
	return i < h || h <= j
}

// reset empties t, keeping its memory.
func (t *table[V]) reset() {
	if t.n == 0 {
		return
	}
	for i := range t.slot {
		t.slot[i] = entry[V]{key: emptyKey}
	}
	t.n = 0
}

// resize rehashes t into room for about n keys.
func (t *table[V]) resize(n int) {
	old := t.slot
	t.init(n)
	for _, e := range old {
		if e.key != emptyKey {
			v, _ := t.upsert(e.key)
			*v = e.val
		}
	}
}

// shrink rebuilds t smaller when it holds far fewer keys than it has
// room for, so memory follows the traffic back down.
func (t *table[V]) shrink() {
	if len(t.slot) > minTableSlots && t.n*8 < len(t.slot) {
		t.resize(t.n)
	}
}

// slots returns the room t has, in keys.
func (t *table[V]) slots() int { return len(t.slot) }

// each calls f with every key and its value. f must not insert or
// remove.
func (t *table[V]) each(f func(k uint64, v *V)) {
	for i := range t.slot {
		if e := &t.slot[i]; e.key != emptyKey {
			f(e.key, &e.val)
		}
	}
}

// slab holds values in fixed chunks addressed by an int32 index. Unlike a
// slice grown by append, it never copies what it holds and never keeps
// room it was not asked for (a slice of millions of callers grows by a
// quarter at a time, and both copies live until the collector runs).
type slab[T any] struct {
	chunks [][]T
	n      int
}

// slabShift sets the chunk size: 4096 values.
const slabShift = 12

// at returns a pointer to value i, valid as long as the slab.
func (s *slab[T]) at(i int32) *T {
	return &s.chunks[i>>slabShift][i&(1<<slabShift-1)]
}

// add appends v and returns its index.
func (s *slab[T]) add(v T) int32 {
	if s.n == len(s.chunks)<<slabShift {
		s.chunks = append(s.chunks, make([]T, 1<<slabShift))
	}
	i := int32(s.n)
	s.n++
	*s.at(i) = v
	return i
}

// len returns how many values were added.
func (s *slab[T]) len() int { return s.n }
