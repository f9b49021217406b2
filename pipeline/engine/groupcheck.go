package engine

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Judging a group's closed window: the trunk as a whole, then each block
// of consecutive numbers in it.

// rotation is the trait a trunk must show to be flagged.
var rotation = detectors.NumberRotation{}.Name()

// judge judges window k of g.
func (gs *groups) judge(g *group, k int32) {
	p := gs.p
	gs.runs = gs.runs[:0]
	for b := k; b < k+p.w; b++ {
		if g.over[b] {
			return // calls were dropped: the group is an interconnect, not a customer's lines
		}
		calls := g.buckets[b]
		if len(calls) == 0 {
			continue
		}
		if g.sorted[b] != len(calls) {
			slices.SortFunc(calls, byNumber)
			g.sorted[b] = len(calls)
		}
		gs.runs = append(gs.runs, calls)
	}
	if len(gs.runs) == 0 {
		return
	}
	// By number, so a block's calls lie together.
	gs.calls = gs.merge(gs.runs)
	if g.trunk != "" {
		gs.judgeTrunk(g, k, gs.calls)
	}
	for i := 0; i < len(gs.calls); {
		block := gs.calls[i].caller / gs.g.divisor
		j := i + 1
		for j < len(gs.calls) && gs.calls[j].caller/gs.g.divisor == block {
			j++
		}
		gs.judgeBlock(g, k, block, gs.calls[i:j])
		i = j
	}
}

// byNumber orders calls by caller, start and callee: a block's calls lie
// together, in the same order whatever order they came in.
func byNumber(a, b gcall) int {
	switch {
	case a.caller != b.caller:
		return cmp.Compare(a.caller, b.caller)
	case a.sec != b.sec:
		return cmp.Compare(a.sec, b.sec)
	}
	return cmp.Compare(a.callee, b.callee)
}

// merge merges runs, each sorted byNumber, into one sorted slice, two
// runs at a time; the result is one of the groups' scratch buffers.
func (gs *groups) merge(runs [][]gcall) []gcall {
	n := 0
	for _, r := range runs {
		n += len(r)
	}
	dst, spare := gs.calls[:0], gs.spare[:0]
	if len(runs) == 1 {
		return append(dst, runs[0]...)
	}
	for len(runs) > 1 {
		// Runs i and i+1 are read before merged run i/2 is written: the
		// merged runs can take the places of the ones they came from.
		next := runs[:0]
		dst = dst[:0]
		for i := 0; i < len(runs); i += 2 {
			from := len(dst)
			if i+1 == len(runs) {
				dst = append(dst, runs[i]...)
			} else {
				dst = mergeTwo(dst, runs[i], runs[i+1])
			}
			next = append(next, dst[from:])
		}
		// The merged runs live in dst: the next pass writes the other
		// buffer.
		runs = next
		if len(runs) > 1 {
			dst, spare = spare[:0], dst
		}
	}
	gs.calls, gs.spare = dst, spare
	return dst[:n]
}

// mergeTwo appends a and b, each sorted byNumber, to dst in order.
func mergeTwo(dst, a, b []gcall) []gcall {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if byNumber(b[j], a[i]) < 0 {
			dst = append(dst, b[j])
			j++
		} else {
			dst = append(dst, a[i])
			i++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

// summary fills w with the detector view of calls, sorted by caller. The
// views are the groups' own scratch (detectors take a pointer, which
// would move a fresh one to the heap at every judgement).
func (gs *groups) summary(w *detectors.Window, calls []gcall) {
	*w = detectors.Window{Length: gs.p.size, Closing: true, Calls: len(calls)}
	gs.callees = gs.callees[:0]
	var last uint64
	for i, c := range calls {
		if i == 0 || c.caller != last {
			w.Numbers++
			last = c.caller
		}
		if c.flags&flagAnswered != 0 {
			w.Answered++
			w.TalkSeconds += float64(c.talk)
			w.TalkSquares += float64(c.talk) * float64(c.talk)
		}
		if c.flags&flagShort != 0 {
			w.Short++
		}
		if c.flags&flagOneRing != 0 {
			w.OneRing++
		}
		if c.flags&flagInvalid != 0 {
			w.Invalid++
		}
		gs.callees = append(gs.callees, c.callee)
	}
	slices.Sort(gs.callees)
	w.Distinct = len(slices.Compact(gs.callees))
}

// check runs the group detectors on w; the findings are in gs.found.
func (gs *groups) check(w *detectors.Window) []string {
	gs.found = gs.found[:0]
	var traits []string
	for _, d := range gs.g.detectors {
		if f, ok := d.Check(w); ok {
			gs.found = append(gs.found, finding{d, f})
			traits = append(traits, d.Name())
		}
	}
	return traits
}

// judgeTrunk writes the trunk's rows to flagged_trunks when it spreads its
// calls over many numbers (number_rotation) and its traits together reach
// the blocking risk. The table is for the carrier's line management: a
// trunk that only calls many people (a bank's customer service) is not
// flagged, nor is an interconnect whose many callers include abusers
// (each of them answers for its own number).
func (gs *groups) judgeTrunk(g *group, k int32, calls []gcall) {
	w := &gs.view
	gs.summary(w, calls)
	traits := gs.check(w)
	if !slices.Contains(traits, rotation) || gs.g.verdict.Risk(traits) < gs.g.verdict.MinScore {
		return
	}
	numbers := gs.members(calls)
	for _, f := range gs.found {
		gs.emit(schemas.GroupFlag{TrunkID: g.trunk}, k, f, "trunk "+g.trunk+": ", numbers)
	}
}

// judgeBlock writes range_flags rows for the traits of one block's calls
// when it used enough numbers: one per range of campaigns.range_digits
// that its numbers fall in, so what is blocked is what the campaign used.
// The verdict views weigh them as they weigh a number's flags.
func (gs *groups) judgeBlock(g *group, k int32, block uint64, calls []gcall) {
	w := &gs.view
	gs.summary(w, calls)
	if w.Numbers < gs.g.cfg.MinNumbers {
		return
	}
	if len(gs.check(w)) == 0 {
		return
	}
	where := "trunk " + g.trunk
	if g.trunk == "" {
		where = "switch " + g.sw
	}
	what := fmt.Sprintf("block %s%s on %s: ", decode.KeyNumber(block), strings.Repeat("x", gs.g.cfg.BlockDigits), where)
	found := append(gs.blockFound[:0], gs.found...)
	gs.blockFound = found
	// One row per range of the block its numbers fall in (calls are
	// sorted by number, so each range's calls lie together), for each
	// trait the range's own calls show too (rangeShows): the lines of an
	// office that shares the block (and the trunk) with a campaign talk
	// with people, and their range is not taken for the campaign's.
	for i := 0; i < len(calls); {
		rng := calls[i].caller / gs.g.rangeDiv
		j := i + 1
		for j < len(calls) && calls[j].caller/gs.g.rangeDiv == rng {
			j++
		}
		blockNumbers := w.Numbers
		rw := &gs.rangeView
		gs.summary(rw, calls[i:j])
		frac := float64(rw.Numbers) / float64(blockNumbers)
		var numbers []string
		for _, f := range found {
			if !rangeShows(f.d, rw, frac) {
				continue
			}
			if numbers == nil {
				numbers = gs.members(calls[i:j])
			}
			gs.emit(schemas.GroupFlag{TrunkID: g.trunk, SwitchID: g.sw, Prefix: decode.KeyNumber(rng)}, k, f, what, numbers)
		}
		i = j
	}
}

// rangeShows reports whether a range's own calls (summary rw, frac of the
// block's numbers) show the trait d found in the block: counts (numbers,
// callees) in proportion, shares beyond doubt. A window is judged every
// slide and a range has few calls, so a share taken at face value would
// come up by chance (two short calls of an office's three); the range
// must show it with 95% confidence (the Wilson bound), on at least
// minShareCalls calls.
func rangeShows(d detectors.Detector, rw *detectors.Window, frac float64) bool {
	n := func(v int) int { return max(1, int(math.Ceil(float64(v)*frac))) }
	switch d := d.(type) {
	case detectors.NumberRotation:
		d.MinNumbers = n(d.MinNumbers)
		_, ok := d.Check(rw)
		return ok
	case detectors.FanOut:
		d.MinCallees = n(d.MinCallees)
		_, ok := d.Check(rw)
		return ok
	case detectors.ShortCalls:
		return surely(rw.Short, rw.Answered, d.MinShare)
	case detectors.LowAnswerRate:
		return surely(rw.Calls-rw.Answered, rw.Calls, 1-d.MaxRate)
	case detectors.OneRing:
		return surely(rw.OneRing, rw.Calls, d.MinShare)
	case detectors.InvalidCallees:
		return surely(rw.Invalid, rw.Calls, d.MinShare)
	}
	panic(fmt.Sprintf("BUG: group detector %T has no range check", d))
}

// minShareCalls is the fewest calls a range's share is judged on.
const minShareCalls = 10

// surely reports whether k of n is at least share with 95% confidence:
// the lower Wilson score bound, one-sided.
func surely(k, n int, share float64) bool {
	if n < minShareCalls {
		return false
	}
	const z = 1.645
	p, nn := float64(k)/float64(n), float64(n)
	centre := p + z*z/(2*nn)
	spread := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn))
	return (centre-spread)/(1+z*z/nn) >= share
}

// members lists the distinct calling numbers of calls (sorted by caller),
// at most schemas.MaxGroupNumbers.
func (gs *groups) members(calls []gcall) []string {
	var out []string
	for i, c := range calls {
		if i > 0 && c.caller == calls[i-1].caller {
			continue
		}
		if len(out) == schemas.MaxGroupNumbers {
			break
		}
		out = append(out, decode.KeyNumber(c.caller))
	}
	return out
}

func (gs *groups) emit(row schemas.GroupFlag, k int32, f finding, what string, numbers []string) {
	p := gs.p
	row.Detector = f.d.Name()
	row.WindowStart, row.WindowEnd = p.time(k), p.time(k+p.w)
	row.Score, row.Value = f.f.Score, f.f.Value
	row.Evidence = what + f.f.Evidence
	row.Numbers = numbers
	gs.out = append(gs.out, row)
}
