package eventtime

import (
	"cmp"
	"slices"
	"time"
)

// Skew is a source whose clock differs from the other sources'.
type Skew struct {
	// Source is the switch id ("" for records without one).
	Source string
	// Offset is how far ahead of the others its records start (negative:
	// behind), the median over its latest records and its partitions.
	Offset time.Duration
	// Partitions counts the partitions it was judged on.
	Partitions int
}

// Skews returns the sources whose clock offset is at least the report
// threshold either way, largest offset first. A source is judged in each
// partition where at least three sources are current, so there is a
// majority to compare with: its offset there is the median lead of its
// latest records over the partition's others (partition.lead), less the
// median source's. It counts as skewed in a partition only when the
// middle half of its records is off the same way, by at least half the
// threshold: a few records of a quiet switch, far apart, make a noisy
// median but not a shifted quartile. Its offset is the median over its
// partitions (0 where it was not skewed).
func (w *Watermark) Skews() []Skew {
	per := map[string][]int64{}
	limit := seconds(w.set.ReportSkew)
	type judged struct {
		name       string
		q1, q2, q3 int64
	}
	var srcs []judged
	var mids []int64
	var buf [skewSamples]int32
	for _, p := range w.parts {
		if p == nil {
			continue
		}
		srcs, mids = srcs[:0], mids[:0]
		each := func(s *source) {
			if v := s.leads(&buf); v != nil {
				n := len(v)
				srcs = append(srcs, judged{s.name, int64(v[n/4]), int64(v[n/2]), int64(v[3*n/4])})
				mids = append(mids, int64(v[n/2]))
			}
		}
		for _, s := range p.list {
			each(s)
		}
		if len(srcs) < 3 {
			continue
		}
		slices.Sort(mids)
		mid := mids[len(mids)/2]
		for _, j := range srcs {
			off := j.q2 - mid
			if !(off >= limit && j.q1-mid >= limit/2 || -off >= limit && mid-j.q3 >= limit/2) {
				off = 0
			}
			per[j.name] = append(per[j.name], off)
		}
	}
	var out []Skew
	for name, offs := range per {
		slices.Sort(offs)
		if off := offs[len(offs)/2]; off != 0 {
			out = append(out, Skew{Source: name, Offset: time.Duration(off) * time.Second, Partitions: len(offs)})
		}
	}
	slices.SortFunc(out, func(a, b Skew) int {
		if c := cmp.Compare(abs(b.Offset), abs(a.Offset)); c != 0 {
			return c
		}
		return cmp.Compare(a.Source, b.Source)
	})
	return out
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
