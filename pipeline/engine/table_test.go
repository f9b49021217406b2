package engine

import (
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestTableMatchesMap runs random inserts, updates and removes against a
// table and a Go map, with keys dense enough to build long probe runs.
func TestTableMatchesMap(t *testing.T) {
	for _, keySpace := range []uint64{50, 1000, 1 << 40} {
		r := rand.New(rand.NewPCG(1, keySpace))
		var tab table[int]
		ref := map[uint64]int{}
		for op := range 200000 {
			k := r.Uint64N(keySpace) * 1_000_003
			switch r.IntN(4) {
			case 0, 1:
				v, fresh := tab.upsert(k)
				if _, ok := ref[k]; ok == fresh {
					t.Fatalf("op %d: upsert(%d) fresh=%v, map had it: %v", op, k, fresh, ok)
				}
				*v = op
				ref[k] = op
			case 2:
				_, ok := ref[k]
				if got := tab.remove(k); got != ok {
					t.Fatalf("op %d: remove(%d) = %v, want %v", op, k, got, ok)
				}
				delete(ref, k)
			case 3:
				v := tab.find(k)
				want, ok := ref[k]
				if (v != nil) != ok || ok && *v != want {
					t.Fatalf("op %d: find(%d) = %v, want %d (%v)", op, k, v, want, ok)
				}
			}
			if op%50000 == 0 {
				tab.shrink()
			}
		}
		if tab.len() != len(ref) {
			t.Fatalf("len %d, want %d", tab.len(), len(ref))
		}
		for k, want := range ref {
			if v := tab.find(k); v == nil || *v != want {
				t.Fatalf("find(%d) after run = %v, want %d", k, v, want)
			}
		}
	}
}

func TestTableShrinksAndResets(t *testing.T) {
	var tab table[int32]
	for k := range uint64(100000) {
		v, _ := tab.upsert(k)
		*v = int32(k)
	}
	big := tab.slots()
	for k := range uint64(99000) {
		tab.remove(k)
	}
	tab.shrink()
	if tab.slots() >= big/8 {
		t.Fatalf("after removing 99%% the table kept %d of %d slots", tab.slots(), big)
	}
	for k := uint64(99000); k < 100000; k++ {
		if v := tab.find(k); v == nil || *v != int32(k) {
			t.Fatalf("find(%d) after shrink = %v", k, v)
		}
	}
	tab.reset()
	if tab.len() != 0 || tab.find(99500) != nil {
		t.Fatal("reset left keys behind")
	}
}

func BenchmarkTableUpsert(b *testing.B) {
	var tab table[int32]
	tab.init(1 << 20)
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]uint64, 1<<20)
	for i := range keys {
		keys[i] = 8613900000000 + r.Uint64N(1<<30)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		v, _ := tab.upsert(keys[i&(1<<20-1)])
		*v++
	}
}

// TestStateSizes guards the per-caller and per-callee memory: every
// active caller holds a caller and an index entry, every callee of the
// last spans a hits entry.
func TestStateSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"caller", unsafe.Sizeof(caller{}), 72},
		{"index entry", unsafe.Sizeof(entry[int32]{}), 16},
		{"callee entry", unsafe.Sizeof(entry[hits]{}), 32},
		{"de-duplication entry", unsafe.Sizeof(entry[struct{}]{}), 8},
	} {
		if c.got > c.want {
			t.Errorf("%s is %d bytes, budget %d", c.name, c.got, c.want)
		}
	}
}

func TestSlabKeepsValuesAcrossChunks(t *testing.T) {
	var s slab[int64]
	var first *int64
	for i := range 3<<slabShift + 5 {
		if got := s.add(int64(i)); got != int32(i) {
			t.Fatalf("add returned %d, want %d", got, i)
		}
		if i == 0 {
			first = s.at(0)
		}
	}
	if first != s.at(0) || *first != 0 {
		t.Fatal("a value moved when the slab grew")
	}
	for i := range s.len() {
		if *s.at(int32(i)) != int64(i) {
			t.Fatalf("at(%d) = %d", i, *s.at(int32(i)))
		}
	}
}
