package eventtime

import (
	"slices"
	"strings"
)

// frontierRank guards a partition's progress against records dated far
// ahead (a broken switch clock): it never passes the rank-th largest
// start time the partition delivered, so fewer than rank outliers cannot
// drag it forward, and it is not known before rank records arrived.
const frontierRank = 8

// medianEvery is how many records a partition's median source may go
// without being recomputed (a sort of its sources). It is counted in the
// partition's own records, so the progress each record is judged against
// depends on the partition's order alone.
const medianEvery = 256

// maxSources bounds the sources tracked per partition; records from
// further switch ids share one source, so hostile input cannot grow the
// state without bound.
const maxSources = 256

// otherSources names the shared source past maxSources.
const otherSources = "(other switches)"

// partition tracks one partition's event-time progress from its sources.
type partition struct {
	// top holds the partition's largest start times, ascending (Unix
	// seconds), for the outlier guard.
	top [frontierRank]int64
	n   int

	sources map[uint64]*source // by SourceKey
	// restored holds the sources of a restored snapshot not seen since,
	// by the low 32 bits of their key (all a snapshot keeps).
	restored map[uint32]*source
	other    *source
	// list holds the sources (other last, once it exists), for the scans
	// of recompute and rescan: iterating a slice, not the map.
	list []*source
	// frontier is the partition's progress (Unix seconds): records
	// older than it minus the allowed lateness are late. It never moves
	// back.
	frontier int64
	known    bool
	// median is the upper median of the sources' latest start times at
	// the last recompute: what each source's lead is measured against,
	// and what "far behind" means. current counts the sources within
	// maxLag of it then; since counts records since then.
	median  int64
	current int
	since   int
	// base follows the median lead of the partition's records (seconds),
	// what a source's lead is compared with; see lead.
	base int64
	// lo is the latest start of the slowest source within maxLag of the
	// median (loSrc), what the frontier follows.
	lo    int64
	loSrc *source

	// lastSeen is the wall clock of the latest record; done says the
	// partition was read to its end (bounded runs).
	lastSeenUnix int64
	done         bool
}

func newPartition() *partition {
	return &partition{sources: make(map[uint64]*source)}
}

// observeTop records sec among the largest start times.
func (p *partition) observeTop(sec int64) {
	if p.n < frontierRank {
		i := p.n
		for i > 0 && p.top[i-1] > sec {
			p.top[i] = p.top[i-1]
			i--
		}
		p.top[i] = sec
		p.n++
		return
	}
	if sec <= p.top[0] {
		return
	}
	i := 0
	for i+1 < frontierRank && p.top[i+1] < sec {
		p.top[i] = p.top[i+1]
		i++
	}
	p.top[i] = sec
}

// source returns the state of the source named name (key is its
// SourceKey), creating it (and reporting so) on its first record. Two
// names with one key (a 64-bit collision) would share the first's state.
func (p *partition) source(key uint64, name string) (s *source, fresh bool) {
	if s = p.sources[key]; s != nil {
		return s, false
	}
	if s = p.restored[uint32(key)]; s != nil {
		delete(p.restored, uint32(key))
		s.name, s.key = strings.Clone(name), key
		p.sources[key] = s
		return s, false
	}
	if len(p.sources)+len(p.restored) >= maxSources {
		if p.other == nil {
			p.other = &source{name: otherSources}
			p.list = append(p.list, p.other)
			return p.other, true
		}
		return p.other, false
	}
	// The name may point into a decoder's arena chunk: keep a copy, not
	// the chunk.
	s = &source{name: strings.Clone(name), key: key}
	p.sources[key] = s
	p.list = append(p.list, s)
	return s, true
}

// leadStep is how far base moves towards each record's lead.
const leadStep = 2

// lead returns how far a record starting at sec is ahead of the
// partition's other records at the moment it arrives, in seconds, and
// moves base along. A record's raw lead is its start less the partition's
// 8th-largest start, which every source pushes; base follows the median
// raw lead of the partition's records, stepping leadStep seconds towards
// each, so it reflects the records around this one: the raw lead of a
// switch on time is about -3 min while a switch 3 min fast sets the
// largest starts, and about 0 when traffic is sparse, and subtracting base
// keeps samples taken at different times comparable.
func (p *partition) lead(sec int64) int64 {
	raw := sec - p.top[0]
	d := raw - p.base
	switch {
	case d > 0:
		p.base += min(d, leadStep)
	case d < 0:
		p.base += max(d, -leadStep)
	}
	return d
}

// The partition's progress is the slowest source that is not far behind
// the others, so a source whose clock runs fast moves nothing and one
// that runs a little slow holds everyone back instead of having its
// records made late. A source more than maxLag behind the median (a
// clock far off, or a switch that stopped sending) no longer holds anyone
// back. The progress never passes the outlier guard or the wall clock,
// and never moves back.

// recompute finds the median source and the slowest current one. scratch
// is reused between calls.
func (p *partition) recompute(maxLag int64, scratch []int64) []int64 {
	p.since = 0
	vals := scratch[:0]
	for _, s := range p.list {
		if s.has {
			vals = append(vals, s.latest)
		}
	}
	if len(vals) == 0 {
		return vals
	}
	slices.Sort(vals)
	p.median = vals[len(vals)/2]
	p.current = 0
	for _, v := range vals {
		if v >= p.median-maxLag {
			p.current++
		}
	}
	p.rescan(maxLag)
	return vals
}

// rescan finds the slowest source within maxLag of the median.
func (p *partition) rescan(maxLag int64) {
	p.loSrc = nil
	for _, s := range p.list {
		if s.has && s.latest >= p.median-maxLag && (p.loSrc == nil || s.latest < p.lo) {
			p.lo, p.loSrc = s.latest, s
		}
	}
}

// moved updates the slowest current source after s's latest moved on.
func (p *partition) moved(s *source, maxLag int64) {
	switch {
	case s == p.loSrc:
		p.rescan(maxLag) // the slowest moved on: who is slowest now?
	case s.latest >= p.median-maxLag && (p.loSrc == nil || s.latest < p.lo):
		p.lo, p.loSrc = s.latest, s // a source came back within reach
	}
}

// advance moves the frontier to what the sources allow, at most capSec.
func (p *partition) advance(capSec int64) {
	if p.n < frontierRank || p.loSrc == nil {
		return
	}
	f := min(p.lo, p.top[0], capSec)
	if !p.known || f > p.frontier {
		p.frontier, p.known = f, true
	}
}
