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

// Skews returns the sources whose clock offset is at least the
// report threshold either way, largest offset first. A source is judged
// in partitions where at least three sources are current, so there is a
// majority to compare with, and against the median source there: every
// record starts a little behind its source's latest (it is sent when the
// call ends), which says nothing about clocks.
func (w *Watermark) Skews() []Skew {
	per := map[string][]int64{}
	var names []string
	var offs []int64
	for _, p := range w.parts {
		names, offs = names[:0], offs[:0]
		each := func(s *source) {
			if off, ok := s.offset(); ok {
				names, offs = append(names, s.name), append(offs, off)
			}
		}
		for _, s := range p.sources {
			each(s)
		}
		if p.other != nil {
			each(p.other)
		}
		if len(offs) < 3 {
			continue
		}
		sorted := slices.Sorted(slices.Values(offs))
		mid := sorted[len(sorted)/2]
		for i, name := range names {
			per[name] = append(per[name], offs[i]-mid)
		}
	}
	limit := seconds(w.set.ReportSkew)
	var out []Skew
	for name, offs := range per {
		slices.Sort(offs)
		off := offs[len(offs)/2]
		if off >= limit || -off >= limit {
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
