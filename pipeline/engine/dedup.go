package engine

// dedup remembers the CDRs a shard stored, to drop re-sent ones before
// they are counted or stored twice. A re-sent CDR has the same key and
// the same start time, so keys are kept per bucket of start time, and a
// bucket's set is dropped once the watermark leaves it behind: memory
// follows the CDRs of the open windows plus lateness. A copy arriving
// later than that is late anyway (not counted) and ReplacingMergeTree
// collapses its row.
//
// Copies of one call can come through different partitions, one on time
// for its partition and one late for its own. The call counts when any
// copy is on time, whichever comes first: a late copy stores the call
// and leaves it uncounted, for an on-time copy to count.
type dedup struct {
	sets map[int32]*table[struct{}]
	// uncounted holds, per bucket, the keys stored by a late copy and
	// not counted yet (rare).
	uncounted map[int32]map[uint64]struct{}
	// last is the set of bucket lastBucket, where most records land.
	lastBucket int32
	last       *table[struct{}]
	spare      []*table[struct{}] // emptied sets kept for reuse
}

func newDedup() dedup {
	return dedup{sets: make(map[int32]*table[struct{}]), uncounted: make(map[int32]map[uint64]struct{})}
}

// maxSpares bounds the emptied tables kept for reuse; more would only
// hold memory after traffic falls.
const maxSpares = 4

// claim takes one copy of the call key of bucket b, on time for its
// partition or not, and says whether to store it (the first copy) and
// whether to count it (the first on-time copy).
func (d *dedup) claim(b int32, key uint64, onTime bool) (store, count bool) {
	if !d.seen(b, key) {
		if !onTime {
			u := d.uncounted[b]
			if u == nil {
				u = make(map[uint64]struct{})
				d.uncounted[b] = u
			}
			u[key] = struct{}{}
		}
		return true, onTime
	}
	if u := d.uncounted[b]; onTime && u != nil {
		if _, ok := u[key]; ok {
			delete(u, key)
			return false, true
		}
	}
	return false, false
}

// seen reports whether key was seen in bucket b, remembering it.
func (d *dedup) seen(b int32, key uint64) bool {
	set := d.last
	if set == nil || d.lastBucket != b {
		if set = d.sets[b]; set == nil {
			set = d.spareSet()
			d.sets[b] = set
		}
		d.lastBucket, d.last = b, set
	}
	_, fresh := set.upsert(keyOf(key))
	return !fresh
}

// touch loads the slot key's lookup will read in the busiest set.
func (d *dedup) touch(key uint64) uint64 {
	if d.last == nil {
		return 0
	}
	return d.last.touch(keyOf(key))
}

func (d *dedup) spareSet() *table[struct{}] {
	if n := len(d.spare); n > 0 {
		set := d.spare[n-1]
		d.spare = d.spare[:n-1]
		return set
	}
	return new(table[struct{}])
}

// dropBefore empties the sets of buckets before b and keeps a few for
// reuse.
func (d *dedup) dropBefore(b int32) {
	for k := range d.uncounted {
		if k < b {
			delete(d.uncounted, k)
		}
	}
	for k, set := range d.sets {
		if k >= b {
			continue
		}
		delete(d.sets, k)
		if d.last == set {
			d.last = nil
		}
		if len(d.spare) < maxSpares {
			set.reset()
			d.spare = append(d.spare, set)
		}
	}
}

// forget drops every set and spare, for measurements that leave the
// per-CDR sets out.
func (d *dedup) forget() {
	clear(d.sets)
	clear(d.uncounted)
	d.last, d.spare = nil, nil
}
