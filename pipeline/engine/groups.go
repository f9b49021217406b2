package engine

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Campaigns: the volume traits over groups of calling numbers. A call
// centre that presents a different number of its block on every call keeps
// each number under every per-number threshold; its trunk, and its block
// of consecutive numbers, cross them. Calls are kept per group (the trunk
// the CDR names, else the switch that wrote it) and per bucket, and each
// window is judged once, when it closes: over the trunk as a whole, and
// over each block of numbers sharing all but the last few digits.
//
// Groups are few (a carrier's customer trunks, thousands at most) and only
// calls from numbers that can belong to a call centre are kept (not mobile
// ones, unless configured), so one goroutine does it after the shards.

// gcall is one call kept for its group.
type gcall struct {
	caller uint64 // NumberKey of the calling number
	callee uint64
	sec    uint32
	talk   uint16
	flags  uint8 // flagAnswered, flagShort, flagOneRing, flagInvalid
}

// group is the calls of one trunk or switch, per bucket of start time.
type group struct {
	trunk, sw string
	buckets   map[int32][]gcall
	// over marks buckets that dropped calls past their share of
	// campaigns.max_calls: the windows holding them are not judged. The
	// cap is per bucket, so which buckets overflow does not depend on the
	// order calls arrive in.
	over map[int32]bool
	// sorted holds how many of a bucket's calls are in judging order
	// (byNumber): a bucket is sorted once, not again for each of the
	// windows that hold it.
	sorted map[int32]int
	calls  int   // calls held in all buckets
	judged int32 // the last window judged
}

// groupParams are the thresholds of the group traits.
type groupParams struct {
	cfg       config.Campaigns
	divisor   uint64 // 10^block_digits
	rangeDiv  uint64 // 10^range_digits
	detectors []detectors.Detector
	// verdict holds the rules a trunk is judged by, as numbers are.
	verdict schemas.Verdict
}

func newGroupParams(cfg Config) *groupParams {
	c := cfg.Detectors.Campaigns
	if !c.Enabled {
		return nil
	}
	d := cfg.Detectors
	all := []detectors.Detector{
		detectors.NumberRotation{MinNumbers: c.MinNumbers, MaxPerNumber: c.MaxCallsPerNumber},
		detectors.FanOut{MinCallees: c.MinCallees},
		detectors.ShortCalls{MinAnswered: c.MinAnswered, MaxTalk: d.ShortCalls.MaxTalk, MinShare: c.MinShortShare},
		detectors.LowAnswerRate{MinAttempts: c.MinAttempts, MaxRate: c.MaxAnswerRate},
		detectors.OneRing{MinAttempts: c.MinAttempts, MinShare: d.OneRing.MinShare},
		detectors.InvalidCallees{MinAttempts: c.MinAttempts, MinShare: d.InvalidCallees.MinShare},
	}
	g := &groupParams{cfg: c, divisor: 1, rangeDiv: 1, verdict: cfg.Verdict}
	for range c.BlockDigits {
		g.divisor *= 10
	}
	for range c.RangeDigits {
		g.rangeDiv *= 10
	}
	for _, det := range all {
		if !slices.Contains(d.Disabled, det.Name()) {
			g.detectors = append(g.detectors, det)
		}
	}
	return g
}

// groups holds every group's calls and judges their windows.
type groups struct {
	p      *params
	g      *groupParams
	byKey  map[gkey]*group
	closed int32 // windows through this one are judged
	// Scratch reused across windows.
	calls []gcall
	// spare and runs are scratch for merging a window's sorted buckets.
	spare   []gcall
	runs    [][]gcall
	callees []uint64
	numbers []string
	found   []finding
	// blockFound holds a block's findings while its ranges are judged;
	// view and rangeView the detector views of the group and the range.
	blockFound      []finding
	view, rangeView detectors.Window
	out             []schemas.GroupFlag // trunks and blocks of the last advance
}

type finding struct {
	d detectors.Detector
	f detectors.Finding
}

func newGroups(p *params, g *groupParams) *groups {
	return &groups{p: p, g: g, byKey: make(map[gkey]*group)}
}

// GroupOf returns the key of the group (the trunk, else the switch) whose
// campaign traits c's call counts for, and false when none does: campaign
// detection is off, the caller has no number, or it is a mobile one and
// mobile numbers are not grouped. The first of two stages routes a
// group-side copy of the call by the key (GroupSide).
func (e *Engine) GroupOf(c *schemas.CDR) (string, bool) {
	if e.groups == nil || decode.NumberKey(c.Caller) == 0 {
		return "", false
	}
	if !e.groups.g.cfg.Mobile && e.p.plan.mobile(c.Caller) {
		return "", false
	}
	k := groupOf(c)
	if k.trunk != "" {
		return k.trunk, true
	}
	return "\x00" + k.sw, true
}

// gkey is a group: a trunk, or a switch whose CDRs name no trunk.
type gkey struct{ trunk, sw string }

// groupOf is the group of a call: its trunk, or its switch when the CDR
// names no trunk.
func groupOf(c *schemas.CDR) gkey {
	if c.TrunkID != "" {
		return gkey{trunk: c.TrunkID}
	}
	return gkey{sw: c.SwitchID}
}

// keeps reports whether the group traits count r's call (a counted call
// of side Both or GroupSide): a call from a number a call centre can
// hold.
func (gs *groups) keeps(r *Record) bool {
	return r.callerKey != 0 && (gs.g.cfg.Mobile || r.flags&flagMobile == 0)
}

// add keeps the call of r, whose caller-side state counted it.
func (gs *groups) add(r *Record) {
	c := &r.CDR
	k := groupOf(c)
	g := gs.byKey[k]
	if g == nil {
		g = &group{trunk: strings.Clone(c.TrunkID), buckets: make(map[int32][]gcall), sorted: make(map[int32]int), judged: gs.closed}
		if c.TrunkID == "" {
			g.sw = strings.Clone(c.SwitchID)
		}
		gs.byKey[gkey{trunk: g.trunk, sw: g.sw}] = g
	}
	sec := c.StartTime.Unix()
	b := gs.p.bucket(sec)
	if len(g.buckets[b]) >= gs.g.cfg.MaxCalls/int(gs.p.w) {
		if g.over == nil {
			g.over = make(map[int32]bool)
		}
		g.over[b] = true
		return
	}
	f := r.flags & (flagOneRing | flagInvalid)
	if c.Answered() {
		f |= flagAnswered
		if c.Duration < gs.p.shortTalk {
			f |= flagShort
		}
	}
	g.buckets[b] = append(g.buckets[b], gcall{caller: r.callerKey, callee: r.calleeKey, sec: uint32(sec), talk: seconds16(c.Duration), flags: f})
	g.calls++
}

// advance judges every window that closed by watermark wm (Unix seconds)
// and forgets the calls no open window holds. The flags written are in
// gs.out until the next advance.
func (gs *groups) advance(wm int64) {
	gs.out = gs.out[:0]
	p := gs.p
	through := p.bucket(wm) - p.w
	if through <= gs.closed {
		return
	}
	gs.closed = through
	keys := make([]gkey, 0, len(gs.byKey))
	for k := range gs.byKey {
		keys = append(keys, k)
	}
	// Rows come out in the same order on every run.
	slices.SortFunc(keys, func(a, b gkey) int { return cmp.Or(strings.Compare(a.trunk, b.trunk), strings.Compare(a.sw, b.sw)) })
	for _, k := range keys {
		g := gs.byKey[k]
		gs.judgeThrough(g, through)
		for b, calls := range g.buckets {
			if b <= through {
				g.calls -= len(calls)
				delete(g.buckets, b)
				delete(g.sorted, b)
			}
		}
		for b := range g.over {
			if b <= through {
				delete(g.over, b)
			}
		}
		if len(g.buckets) == 0 && len(g.over) == 0 {
			delete(gs.byKey, k)
		}
	}
}

// judgeThrough judges g's windows from the one after the last judged
// through window through, skipping those with no calls.
func (gs *groups) judgeThrough(g *group, through int32) {
	p := gs.p
	lo := through + 1
	for b := range g.buckets {
		lo = min(lo, b)
	}
	for k := max(g.judged+1, lo-p.w+1); k <= through; k++ {
		gs.judge(g, k)
	}
	g.judged = max(g.judged, through)
}
