package mix

import "testing"

func TestMix64IsOneToOneOnASample(t *testing.T) {
	seen := make(map[uint64]uint64, 1<<16)
	for x := range uint64(1 << 16) {
		y := Mix64(x)
		if prev, ok := seen[y]; ok {
			t.Fatalf("Mix64(%d) = Mix64(%d) = %#x", x, prev, y)
		}
		seen[y] = x
	}
	if Mix64(1) == 1 || Mix64(2)&0xff == 2 {
		t.Fatal("Mix64 leaves small inputs unscrambled")
	}
}
