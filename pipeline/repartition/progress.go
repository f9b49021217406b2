package repartition

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/pipeline/eventtime"
)

// Progress is the second stage's event-time progress. The first stage
// judged lateness and followed each input partition's progress; it says
// where each one stood after every message it wrote (marks). A copy of
// input partition p precedes, in its internal partition, every mark of p
// written after it was read, so the watermark here, the slowest input
// partition over the internal partitions owned, less the allowed
// lateness, never passes a copy on time that is still to come: windows
// close on the input alone, whichever instance reads which partition.
//
// Progress also recognises copies written twice: a first stage that
// restarts reads again from its last commit and writes again what it had
// written since, and a publish retried after a partial failure writes
// again to the partitions that had it. Per internal partition, the copies
// of one input partition come in input order, so a copy at or below the
// highest input offset seen there for its side is such a repeat.
type Progress struct {
	lateness int64
	inputs   int // input partitions, from the messages; 0 until one says
	parts    map[int]map[int]Mark
	seen     map[int]map[int][3]int64 // internal → input partition → highest offset per side
	current  int64
	known    bool
}

// NewProgress returns the progress of nothing read yet.
func NewProgress(lateness time.Duration) *Progress {
	return &Progress{lateness: int64(lateness / time.Second), parts: map[int]map[int]Mark{}, seen: map[int]map[int][3]int64{}}
}

// Fresh reports whether c, read from internal partition q, is new there,
// and notes it; false means a repeat of a copy already read.
func (p *Progress) Fresh(q int, c *Copy) bool {
	sm := p.seen[q]
	if sm == nil {
		sm = map[int][3]int64{}
		p.seen[q] = sm
	}
	side := 0
	switch c.Side {
	case engine.CalleeSide:
		side = 1
	case engine.GroupSide:
		side = 2
	}
	s, ok := sm[c.Partition]
	if !ok {
		s = [3]int64{-1, -1, -1}
	}
	if c.Offset <= s[side] {
		return false
	}
	s[side] = c.Offset
	sm[c.Partition] = s
	return true
}

// Apply takes the marks of a message read from internal partition q,
// after its copies. Frontiers only move forward; a partition read to its
// end stays so.
func (p *Progress) Apply(q, inputs int, marks []Mark) {
	p.inputs = max(p.inputs, inputs)
	pm := p.part(q)
	for _, m := range marks {
		prev, ok := pm[m.Partition]
		if ok {
			m.Frontier = max(m.Frontier, prev.Frontier)
			m.Done = m.Done || prev.Done
		}
		pm[m.Partition] = m
	}
}

func (p *Progress) part(q int) map[int]Mark {
	pm := p.parts[q]
	if pm == nil {
		pm = map[int]Mark{}
		p.parts[q] = pm
	}
	return pm
}

// Expect registers the internal partitions owned, which hold the
// watermark back until each has marks of every input partition.
func (p *Progress) Expect(qs []int, _ time.Time) {
	for _, q := range qs {
		p.part(q)
	}
}

// Frontier returns how far internal partition q has come: its slowest
// input partition still moving; ok is false until it has marks of all.
func (p *Progress) Frontier(q int) (int64, bool) {
	pm, ok := p.parts[q]
	if !ok || p.inputs == 0 || len(pm) < p.inputs {
		return 0, false
	}
	lo, hi, active := int64(0), int64(0), false
	for in := range p.inputs {
		m, ok := pm[in]
		if !ok {
			return 0, false
		}
		hi = max(hi, m.Frontier)
		if m.Idle || m.Done {
			continue
		}
		if !active || m.Frontier < lo {
			lo, active = m.Frontier, true
		}
	}
	if !active {
		return hi, true
	}
	return lo, true
}

// Floor returns the slowest known internal partition's progress less the
// allowed lateness.
func (p *Progress) Floor() (int64, bool) {
	var lo int64
	found := false
	for q := range p.parts {
		if f, ok := p.Frontier(q); ok && (!found || f < lo) {
			lo, found = f, true
		}
	}
	return lo - p.lateness, found
}

// Advance recomputes the watermark: per input partition the least
// frontier over the internal partitions owned, the least of those over
// the input partitions still moving, less the allowed lateness. Idle and
// finished input partitions hold nothing back (if all are, the furthest
// decides). It never moves back; ok is false until every owned internal
// partition has marks of every input partition. The wall clock plays no
// part: the first stage judged idleness.
func (p *Progress) Advance(time.Time) (time.Time, bool) {
	if wm, ok := p.compute(); ok && (!p.known || wm > p.current) {
		p.current, p.known = wm, true
	}
	return time.Unix(p.current, 0).UTC(), p.known
}

func (p *Progress) compute() (int64, bool) {
	if p.inputs == 0 || len(p.parts) == 0 {
		return 0, false
	}
	var lo, hi int64
	active, any := false, false
	for in := range p.inputs {
		least, moving := int64(0), false
		for _, pm := range p.parts {
			m, ok := pm[in]
			if !ok {
				return 0, false
			}
			if !any || m.Frontier > hi {
				hi, any = m.Frontier, true
			}
			if m.Idle || m.Done {
				continue
			}
			if !moving || m.Frontier < least {
				least, moving = m.Frontier, true
			}
		}
		if moving && (!active || least < lo) {
			lo, active = least, true
		}
	}
	if !active {
		lo = hi
	}
	return lo - p.lateness, true
}

// AllDone reports whether every owned internal partition has seen every
// input partition read to its end: a bounded second stage is through.
func (p *Progress) AllDone() bool {
	if p.inputs == 0 || len(p.parts) == 0 {
		return false
	}
	for _, pm := range p.parts {
		for in := range p.inputs {
			if m, ok := pm[in]; !ok || !m.Done {
				return false
			}
		}
	}
	return true
}

// Done does nothing: a bounded second stage ends on the first stage's
// marks (AllDone), not on offsets.
func (p *Progress) Done(int) {}

// Skews returns nothing: the first stage reports skewed switches.
func (p *Progress) Skews() []eventtime.Skew { return nil }

// Snapshot returns internal partition q's marks and the copies seen
// there as text for a commit's metadata: "inputs;marks;seen", seen as
// "p:caller:callee:group" offsets.
func (p *Progress) Snapshot(q int) string {
	pm, sm := p.parts[q], p.seen[q]
	if len(pm) == 0 && len(sm) == 0 {
		return ""
	}
	marks := make([]Mark, 0, len(pm))
	var seen []string
	for in := range max(p.inputs, maxKey(sm)+1) {
		if m, ok := pm[in]; ok {
			marks = append(marks, m)
		}
		if s, ok := sm[in]; ok {
			seen = append(seen, fmt.Sprintf("%d:%d:%d:%d", in, s[0], s[1], s[2]))
		}
	}
	return strconv.Itoa(p.inputs) + ";" + FormatMarks(marks) + ";" + strings.Join(seen, ",")
}

func maxKey(m map[int][3]int64) int {
	k := -1
	for in := range m {
		k = max(k, in)
	}
	return k
}

// Restore sets internal partition q's marks from a Snapshot.
func (p *Progress) Restore(q int, s string) error {
	if s == "" {
		return nil
	}
	bad := fmt.Errorf("restore progress of internal partition %d: %w", q, &FormatError{What: "snapshot " + strconv.Quote(s)})
	f := strings.Split(s, ";")
	if len(f) != 3 {
		return bad
	}
	inputs, err := strconv.Atoi(f[0])
	if err != nil || inputs < 0 {
		return bad
	}
	marks, err := ParseMarks(f[1])
	if err != nil {
		return fmt.Errorf("restore progress of internal partition %d: %w", q, err)
	}
	seen := map[int][3]int64{}
	for _, e := range strings.Split(f[2], ",") {
		if e == "" {
			continue
		}
		var in int
		s := [3]int64{-1, -1, -1}
		// Snapshots written before group sides existed have three fields.
		colons := strings.Count(e, ":")
		n, _ := fmt.Sscanf(e, "%d:%d:%d:%d", &in, &s[0], &s[1], &s[2])
		if colons < 2 || colons > 3 || n != colons+1 || in < 0 {
			return bad
		}
		seen[in] = s
	}
	p.Apply(q, inputs, marks)
	p.seen[q] = seen
	return nil
}
