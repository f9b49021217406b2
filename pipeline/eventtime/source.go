package eventtime

import (
	"slices"
)

// skewSamples is how many of a source's latest records its clock offset
// is judged on: the median of their lead over the partition, so a few
// records held back by mediation or long calls do not count.
const skewSamples = 32

// minSkewSamples is how many samples a source needs before it is judged.
const minSkewSamples = 16

// source is one switch's event-time progress within one partition.
type source struct {
	name string
	key  uint64 // SourceKey of name
	// latest is the latest start time (Unix seconds) among its records;
	// has says there was one.
	latest int64
	has    bool
	// offsets holds, for its latest records, how far each record's start
	// was ahead of the partition's progress guard (seconds), as a ring.
	offsets [skewSamples]int32
	nOff    int
}

// observe records one of the source's records, sec its start time, and
// reports whether latest moved. A record dated far ahead moves it too:
// the source then looks fast and holds nobody back, and the partition's
// outlier guard keeps such records from moving the partition.
func (s *source) observe(sec int64) bool {
	if s.has && sec <= s.latest {
		return false
	}
	s.latest, s.has = sec, true
	return true
}

// sample records how far a record was ahead of the partition.
func (s *source) sample(lead int64) {
	lead = max(min(lead, 1<<30), -1<<30)
	s.offsets[s.nOff%skewSamples] = int32(lead)
	s.nOff++
}

// leads returns the leads of the source's latest records, sorted, in
// seconds, or nil until there are enough of them. buf is scratch space.
func (s *source) leads(buf *[skewSamples]int32) []int32 {
	n := min(s.nOff, skewSamples)
	if n < minSkewSamples {
		return nil
	}
	v := buf[:n]
	copy(v, s.offsets[:n])
	slices.Sort(v)
	return v
}
