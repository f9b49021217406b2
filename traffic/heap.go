package traffic

// minHeap is a binary min-heap ordered by (at, seq). It is generic over the
// payload so held-back records are stored by value; container/heap would
// box every push into an interface.
type minHeap[T any] struct {
	items []heapItem[T]
	seq   uint64
}

// heapItem orders by at, then by insertion order, so equal keys pop in a
// deterministic order.
type heapItem[T any] struct {
	at  int64
	seq uint64
	val T
}

func (h *minHeap[T]) len() int { return len(h.items) }

func (h *minHeap[T]) less(i, j int) bool {
	a, b := &h.items[i], &h.items[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (h *minHeap[T]) push(at int64, v T) {
	h.seq++
	h.items = append(h.items, heapItem[T]{at: at, seq: h.seq, val: v})
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

// peek returns the smallest key; the heap must not be empty.
func (h *minHeap[T]) peek() int64 { return h.items[0].at }

// pop removes and returns the smallest item; the heap must not be empty.
func (h *minHeap[T]) pop() T {
	top := h.items[0].val
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	var zero heapItem[T]
	h.items[last] = zero // drop references held by the payload
	h.items = h.items[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < last && h.less(l, small) {
			small = l
		}
		if r := l + 1; r < last && h.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		h.items[i], h.items[small] = h.items[small], h.items[i]
		i = small
	}
	return top
}
