package main

import (
	"math"
	"strconv"
)

// Call centres behind SIP trunks: campaigns that present a different
// number of their block on every call, and the enterprises whose lines
// call hundreds of customers for good reasons.

// Customer trunks: a carrier names each enterprise's SIP trunk. Campaigns
// and enterprises get trunks of the same kind, numbered alike.
const (
	trunkCampaign   = 6 // campaign i uses trunkCampaign + i%4
	trunkEnterprise = 10
)

// block returns the national prefix ("+86" and all but the last two
// digits) of a landline block of 100 numbers that holds no number yet, and
// of the next block too when pair is set (a call centre given two).
func (n *numbers) block(pair bool) string {
	for {
		p := "+86" + areas[n.r.IntN(len(areas))] + strconv.Itoa(2+n.r.IntN(8)) + n.digits(5)
		if n.free(p) && (!pair || n.free(nextBlock(p))) {
			return p
		}
	}
}

// free reports whether no number of block p is known.
func (n *numbers) free(p string) bool {
	for i := range 100 {
		if _, ok := n.set[blockNumber(p, i)]; ok {
			return false
		}
	}
	return true
}

// nextBlock is the block after p (p's last digits plus one).
func nextBlock(p string) string {
	v, err := strconv.ParseUint(p[1:], 10, 64)
	if err != nil {
		panic("BUG: block prefix " + p)
	}
	return "+" + strconv.FormatUint(v+1, 10)
}

func blockNumber(p string, i int) string {
	return p + string([]byte{byte('0' + i/10), byte('0' + i%10)})
}

// lines interns k numbers drawn from blocks (100 numbers each), as class
// cl, and returns them.
func (g *gen) lines(blocks []string, k int, cl Class) []uint32 {
	out := make([]uint32, 0, k)
	for _, i := range sortedPerm(g.r, 100*len(blocks), k) {
		me, _ := g.nums.intern(blockNumber(blocks[i/100], i%100))
		g.class[me] = cl
		out = append(out, me)
	}
	return out
}

// run interns numbers from..from+k-1 of block p as class cl.
func (g *gen) run(p string, from, k int, cl Class) []uint32 {
	out := make([]uint32, k)
	for j := range out {
		out[j], _ = g.nums.intern(blockNumber(p, from+j))
		g.class[out[j]] = cl
	}
	return out
}

// office makes the calls of an office's lines: 3–6 an hour each, 60%
// answered, real conversations (a fifth cut short), a third of the
// missed calling back.
func (g *gen) office(lines []uint32, trunk uint8) {
	r := g.r
	for _, me := range lines {
		g.sequential(uniform(r, 3, 6), 120e3, func(t int64) *Call {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: trunk, Ring: int32(3000 + r.IntN(15000))}
			switch {
			case r.Float64() >= 0.6:
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(15000+r.IntN(20000))
			case r.Float64() < 0.2:
				c.Disp, c.Cause, c.Talk = DispAnswered, 16, int32(uniform(r, 3e3, 9.5e3))
			default:
				c.Disp, c.Cause, c.Talk = DispAnswered, 16, int32(math.Min(1800e3, 120e3*math.Exp(0.8*r.NormFloat64())))
			}
			g.callback(g.add(c), 0.33, 2*msPerHour)
			return &c
		})
	}
}

// campaignShape is how one kind of campaign calls.
type campaignShape struct {
	numbers [2]int // numbers used, from..to
	pair    bool   // from two adjacent blocks
	// office: the campaign was given the first numbers of its block, and
	// an office has lines in the rest of it (from the next ten on), on
	// the campaign's trunk (a reseller's) or on its own.
	office, ownTrunk bool
	rate             [2]float64 // calls per hour over the trunk
	answered         float64
	short            float64 // share of answered calls hung up within 10 s
}

var campaignShapes = []campaignShape{
	{numbers: [2]int{60, 100}, rate: [2]float64{250, 400}, answered: 0.35, short: 0.8},                              // property and loan telemarketing
	{numbers: [2]int{40, 70}, rate: [2]float64{150, 250}, answered: 0.35, short: 0.65},                              // fraud: some victims stay on the line
	{numbers: [2]int{130, 170}, pair: true, office: true, rate: [2]float64{450, 600}, answered: 0.25, short: 0.85},  // a robocall centre with two blocks
	{numbers: [2]int{25, 35}, office: true, ownTrunk: true, rate: [2]float64{100, 140}, answered: 0.35, short: 0.7}, // a small one, slow
}

// campaign generates campaign i: calls at the trunk's rate, each from a
// number of the block picked at random, to a random subscriber.
func (g *gen) campaign(i int) {
	r := g.r
	sh := campaignShapes[i%len(campaignShapes)]
	blocks := []string{g.nums.block(sh.pair)}
	if sh.pair {
		blocks = append(blocks, nextBlock(blocks[0]))
	}
	k := sh.numbers[0] + r.IntN(sh.numbers[1]-sh.numbers[0]+1)
	trunk := uint8(trunkCampaign + i%4)
	var nums []uint32
	if sh.office {
		// The campaign's numbers run from the first of its blocks; the
		// office's lines start at the next ten of the last.
		for b, p := range blocks {
			nums = append(nums, g.run(p, 0, min(100, k-100*b), Campaign)...)
		}
		last := blocks[len(blocks)-1]
		officeTrunk := trunk
		if sh.ownTrunk {
			officeTrunk = trunkEnterprise + 2
		}
		first := (k - 100*(len(blocks)-1) + 9) / 10 * 10
		g.office(g.run(last, first, min(100, first+8+r.IntN(8))-first, OfficeLine), officeTrunk)
	} else {
		nums = g.lines(blocks, k, Campaign)
	}
	rate := uniform(r, sh.rate[0], sh.rate[1])
	for t := g.start + int64(r.ExpFloat64()*msPerHour/rate); t < g.end; t += int64(r.ExpFloat64() * msPerHour / rate) {
		c := Call{Start: t, Caller: nums[r.IntN(len(nums))], Callee: g.pick(), Trunk: trunk, Ring: int32(3000 + r.IntN(12000))}
		switch p := r.Float64(); {
		case p < sh.answered:
			c.Disp, c.Cause = DispAnswered, 16
			if r.Float64() < sh.short {
				c.Talk = int32(uniform(r, 1.5e3, 9.5e3))
			} else {
				c.Talk = int32(math.Min(1200e3, 60e3*math.Exp(0.9*r.NormFloat64())))
			}
		case p < sh.answered+0.15:
			c.Disp, c.Cause, c.Ring = DispRejected, 21, int32(2000+r.IntN(6000))
		default:
			c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(15000+r.IntN(15000))
		}
		g.callback(g.add(c), 0.01, msPerHour)
	}
}

// enterprise generates enterprise i: a bank's customer service (agents on
// their own lines), an insurer's service desk whose dialler rotates 200
// numbers, or a courier firm's dispatch. All have real conversations, and
// customers call them back.
func (g *gen) enterprise(i int) {
	r := g.r
	trunk := uint8(trunkEnterprise + i%3)
	talk := func(median float64) int32 {
		if r.Float64() < 0.3 {
			return int32(uniform(r, 3e3, 9.5e3)) // "not now", a voicemail greeting cut off
		}
		return int32(math.Min(1800e3, math.Max(10e3, median*math.Exp(0.8*r.NormFloat64()))))
	}
	call := func(t int64, me uint32, answered, median, back float64, backIn int64) *Call {
		c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: trunk, Ring: int32(3000 + r.IntN(15000))}
		if r.Float64() < answered {
			c.Disp, c.Cause, c.Talk = DispAnswered, 16, talk(median)
		} else {
			c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(15000+r.IntN(20000))
		}
		g.callback(g.add(c), back, backIn)
		return &c // a copy: the callback may have moved g.calls
	}
	switch i % 3 {
	case 0: // bank: 60–90 agents, 8–12 calls an hour each
		for _, me := range g.lines([]string{g.nums.block(false)}, 60+r.IntN(31), EnterpriseLine) {
			g.sequential(uniform(r, 8, 12), 150e3, func(t int64) *Call { return call(t, me, 0.6, 150e3, 0.3, 2*msPerHour) })
		}
	case 1: // insurer: a dialler presents any of 200 numbers, 400–600 calls an hour
		p := g.nums.block(true)
		nums := g.lines([]string{p, nextBlock(p)}, 200, EnterpriseLine)
		rate := uniform(r, 400, 600)
		for t := g.start + int64(r.ExpFloat64()*msPerHour/rate); t < g.end; t += int64(r.ExpFloat64() * msPerHour / rate) {
			call(t, nums[r.IntN(len(nums))], 0.55, 120e3, 0.2, 2*msPerHour)
		}
	default: // courier dispatch: 30–50 lines, 15–25 calls an hour each, short but real
		for _, me := range g.lines([]string{g.nums.block(false)}, 30+r.IntN(21), EnterpriseLine) {
			g.sequential(uniform(r, 15, 25), 30e3, func(t int64) *Call { return call(t, me, 0.75, 25e3, 0.4, 30*msPerMin) })
		}
	}
}
