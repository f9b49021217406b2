package main

import "math"

// The generators of the heavy classes: one caller (or, for campaigns and
// enterprises, one group of numbers) per call.

// heavy generates the i-th caller of class cl.
func (g *gen) heavy(cl Class, i int) {
	r := g.r
	switch cl {
	case ServiceCentre:
		var me uint32
		if i%2 == 0 {
			me = g.nums.fixed("400", 7)
		} else {
			me = g.nums.landline()
		}
		g.class[me] = cl
		for _, t := range g.paced(uniform(r, 100, 300)) {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: g.dom(), Ring: int32(3000 + r.IntN(15000))}
			if r.Float64() < 0.8 {
				c.Disp, c.Cause, c.Talk = DispAnswered, 16, int32(60e3*math.Exp(r.Float64()*math.Log(10)))
			} else {
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(20000))
			}
			g.callback(g.add(c), 0.15, 2*msPerHour)
		}
	case NotificationLine:
		me := g.nums.fixed("955", 2)
		g.class[me] = cl
		rate := uniform(r, 1500, 3000)
		for t := g.start + int64(r.ExpFloat64()*msPerHour/rate); t < g.end; t += int64(r.ExpFloat64() * msPerHour / rate) {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: g.dom(), Ring: int32(3000 + r.IntN(12000))}
			if r.Float64() < 0.6 {
				c.Disp, c.Cause, c.Talk = DispAnswered, 16, int32(uniform(r, 20e3, 40e3))
			} else {
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(10000))
			}
			g.callback(g.add(c), 0.01, msPerHour)
		}
	case Clinic:
		me := g.nums.landline()
		g.class[me] = cl
		for _, t := range g.paced(uniform(r, 70, 150)) {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: g.dom(), Ring: int32(3000 + r.IntN(15000))}
			if r.Float64() < 0.7 {
				c.Disp, c.Cause, c.Talk = DispAnswered, 16, int32(uniform(r, 15e3, 60e3))
			} else {
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(20000))
			}
			g.callback(g.add(c), 0.10, 2*msPerHour)
		}
	case Courier:
		me := g.nums.mobile()
		g.class[me] = cl
		rate := uniform(r, 30, 40)
		if i%2 == 1 {
			rate = uniform(r, 56, 60)
		}
		g.sequential(rate, 25e3, func(t int64) *Call {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: g.dom(), Ring: int32(3000 + r.IntN(12000))}
			if r.Float64() < 0.7 {
				c.Disp, c.Cause, c.Talk = DispAnswered, 16, int32(uniform(r, 10.5e3, 40e3))
			} else {
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(15000+r.IntN(10000))
			}
			p := g.add(c)
			end := p.End()
			g.callback(p, 0.4, 30*msPerMin)
			return &Call{Start: t, Ring: int32(end - t)}
		})
	case RepeatCaller:
		me := g.nums.mobile()
		g.class[me] = cl
		k := 2 + r.IntN(2)
		contacts := make([]uint32, k)
		for j := range contacts {
			contacts[j] = g.pick()
		}
		g.sequential(uniform(r, 20, 40), 25e3, func(t int64) *Call {
			c := Call{Start: t, Caller: me, Callee: contacts[r.IntN(k)], Trunk: g.dom()}
			switch p := r.Float64(); {
			case p < 0.4:
				c.Disp, c.Cause, c.Ring = DispAnswered, 16, int32(3000+r.IntN(10000))
				c.Talk = int32(math.Min(600e3, math.Max(1000, 20e3*math.Exp(0.8*r.NormFloat64()))))
			case p < 0.8:
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(10000))
			default:
				c.Disp, c.Cause, c.Ring = DispCancelled, 16, int32(5000+r.IntN(5000))
			}
			p := g.add(c)
			end := p.End()
			g.callback(p, 0.1, 20*msPerMin)
			return &Call{Start: t, Ring: int32(end - t)}
		})
	case HotlineRedialer:
		if i%20 == 0 {
			g.hotline = g.busyHotline()
		}
		me := g.nums.mobile()
		g.class[me] = cl
		t := g.start + r.Int64N(max(1, g.end-g.start-15*msPerMin))
		n := 3 + r.IntN(6)
		for k := range n {
			c := Call{Start: t, Caller: me, Callee: g.hotline, Trunk: g.dom()}
			if k == n-1 {
				c.Disp, c.Cause, c.Ring, c.Talk = DispAnswered, 16, int32(2000+r.IntN(8000)), int32(uniform(r, 60e3, 400e3))
			} else {
				c.Disp, c.Cause, c.Ring = DispBusy, 17, int32(r.IntN(2000))
			}
			p := g.add(c)
			t = p.End() + int64(uniform(r, 10e3, 90e3))
		}
	case WorriedRelative:
		me := g.nums.mobile()
		g.class[me] = cl
		relative := g.pick()
		t := g.start + r.Int64N(max(1, g.end-g.start-16*msPerMin))
		for range 1 + r.IntN(2) {
			if t >= g.end {
				break
			}
			for range 6 + r.IntN(10) {
				c := Call{Start: t, Caller: me, Callee: relative, Trunk: g.dom()}
				if r.Float64() < 0.7 {
					c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(15000))
				} else {
					c.Disp, c.Cause, c.Ring = DispCancelled, 16, int32(5000+r.IntN(10000))
				}
				p := g.add(c)
				t = p.End() + int64(uniform(r, 5e3, 60e3))
			}
			t += int64(uniform(r, 1, 2) * msPerHour) // tries again later
		}
	case Roamer:
		// Abroad: calls home arrive through the international gateway
		// with the subscriber's own number, to family and the office,
		// redialled when nobody answers.
		me := g.nums.mobile()
		g.class[me] = cl
		home := make([]uint32, 1+r.IntN(3))
		for j := range home {
			home[j] = g.pick()
		}
		trunk := uint8(trunkINTL1 + r.IntN(2))
		for range 2 + r.IntN(5) {
			t := g.start + r.Int64N(max(1, g.end-g.start))
			callee := home[r.IntN(len(home))]
			for try := 0; try < 3 && t < g.end; try++ {
				c := Call{Start: t, Caller: me, Callee: callee, Trunk: trunk, Ring: int32(3000 + r.IntN(15000))}
				if r.Float64() < 0.6 {
					c.Disp, c.Cause, c.Talk = DispAnswered, 16, int32(math.Min(1800e3, 180e3*math.Exp(0.8*r.NormFloat64())))
					g.add(c)
					break
				}
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(15000))
				p := g.add(c)
				t = p.End() + int64(uniform(r, 30e3, 300e3))
			}
		}
	case Robocaller:
		me := g.nums.landline()
		g.class[me] = cl
		rate := uniform(r, 300, 800)
		answer := math.Min(0.11, uniform(r, 30, 50)/rate)
		msg := uniform(r, 4e3, 8e3)
		for h := g.start; h < g.end; h += msPerHour {
			b := 14 + r.IntN(7)
			batches := min(57, int(math.Round(rate/float64(b))))
			for _, m := range r.Perm(60)[:batches] {
				t := h + int64(m)*msPerMin + r.Int64N(20*msPerSec)
				for range b {
					c := Call{Start: t, Caller: me, Callee: g.nums.mobile(), Trunk: g.dom()}
					switch p := r.Float64(); {
					case p < answer:
						c.Disp, c.Cause, c.Ring = DispAnswered, 16, int32(2000+r.IntN(8000))
						c.Talk = int32(msg * uniform(r, 0.98, 1.02))
					case p < 0.75:
						c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(10000))
					case p < 0.9:
						c.Disp, c.Cause, c.Ring = DispRejected, 21, int32(4000+r.IntN(6000))
					default:
						c.Disp, c.Cause, c.Ring = DispBusy, 17, int32(r.IntN(1000))
					}
					g.add(c)
					t += 2000
				}
			}
		}
	case TelemarketerLow:
		me := g.nums.mobile()
		g.class[me] = cl
		g.sequential(uniform(r, 35, 45), 15e3, func(t int64) *Call {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: g.dom(), Ring: int32(3000 + r.IntN(10000))}
			switch p := r.Float64(); {
			case p < 0.8:
				c.Disp, c.Cause = DispAnswered, 16
				if r.Float64() < 0.9 {
					c.Talk = int32(uniform(r, 2e3, 9.5e3))
				} else {
					c.Talk = int32(uniform(r, 15e3, 120e3))
				}
			default:
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(10000))
			}
			p := g.add(c)
			end := p.End()
			g.callback(p, 0.005, msPerHour)
			return &Call{Start: t, Ring: int32(end - t)}
		})
	case TelemarketerSlow:
		// A twelve-hour shift inside one Shanghai day of the span.
		me := g.nums.mobile()
		g.class[me] = cl
		from, to := g.shift(12 * msPerHour)
		rate := uniform(r, 19, 24)
		for t := from + int64(r.Float64()*msPerHour/rate); t < to; {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: g.dom(), Ring: int32(3000 + r.IntN(10000))}
			if r.Float64() < 0.5 {
				c.Disp, c.Cause = DispAnswered, 16
				if r.Float64() < 0.85 {
					c.Talk = int32(uniform(r, 2e3, 9.5e3))
				} else {
					c.Talk = int32(uniform(r, 15e3, 120e3))
				}
			} else {
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(20000+r.IntN(10000))
			}
			p := g.add(c)
			end := p.End()
			g.callback(p, 0.005, msPerHour)
			t = max(end+2000, t+int64(float64(msPerHour)/rate*uniform(r, 0.7, 1.3)))
		}
	case ScannerFast, ScannerSlow:
		me := g.nums.mobile()
		g.class[me] = cl
		rate := uniform(r, 100, 200)
		if cl == ScannerSlow {
			rate = uniform(r, 13, 18)
		}
		target := g.nums.mobileDigits()
		for _, t := range g.paced(rate) {
			target += uint64(1 + r.IntN(3))
			c := Call{Start: t, Caller: me, Callee: g.nums.fromDigits(target), Trunk: g.dom()}
			switch p := r.Float64(); {
			case p < 0.3:
				c.Disp, c.Cause, c.Ring, c.Talk = DispAnswered, 16, int32(2000+r.IntN(6000)), int32(uniform(r, 1e3, 6e3))
			case p < 0.4:
				c.Disp, c.Cause, c.Ring = DispFailed, 1, int32(r.IntN(1000))
			default:
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(15000+r.IntN(10000))
			}
			g.add(c)
		}
	case Wangiri:
		var me uint32
		if i%2 == 0 {
			me = g.nums.mobile()
		} else {
			me = g.nums.foreign()
		}
		g.class[me] = cl
		trunk := g.dom()
		if i%2 == 1 {
			trunk = uint8(trunkINTL1 + r.IntN(2))
		}
		for _, t := range g.paced(uniform(r, 40, 120)) {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: trunk, Disp: DispCancelled, Cause: 31,
				Ring: int32(uniform(r, 1000, 2000))}
			g.callback(g.add(c), 0.15, msPerHour)
		}
	case CallBomber:
		me := g.nums.mobile()
		g.class[me] = cl
		episodes := 1 + r.IntN(3)
		slot := (g.end - g.start) / int64(episodes)
		for e := range episodes {
			victim := g.nums.mobile()
			n := 30 + r.IntN(51)
			spurts := (n + 12) / 13
			base := g.start + int64(e)*slot + r.Int64N(max(1, slot-11*msPerMin))
			base -= base % msPerMin
			for si, m := range sortedPerm(r, 10, spurts) {
				k := n / spurts
				if si < n%spurts {
					k++
				}
				t := base + int64(m)*msPerMin + r.Int64N(4*msPerSec)
				for range k {
					c := Call{Start: t, Caller: me, Callee: victim, Trunk: g.dom()}
					if r.Float64() < 0.2 {
						c.Disp, c.Cause, c.Ring, c.Talk = DispAnswered, 16, int32(1000+r.IntN(1000)), int32(1000+r.IntN(1000))
					} else {
						c.Disp, c.Cause, c.Ring = DispRejected, 21, int32(1000+r.IntN(2000))
					}
					g.add(c)
					t += 4000 + r.Int64N(500)
				}
			}
		}
	case CallBomberDist:
		if i%10 != 0 {
			return // the group's first member generates all ten
		}
		size := min(10, g.cfg.count(cl)-i)
		victim := g.nums.mobile()
		base := g.start + r.Int64N(max(1, g.end-g.start-11*msPerMin))
		for range size {
			me := g.nums.mobile()
			g.class[me] = cl
			for range 3 + r.IntN(4) {
				c := Call{Start: base + r.Int64N(10*msPerMin), Caller: me, Callee: victim, Trunk: g.dom(),
					Disp: DispRejected, Cause: 21, Ring: int32(1000 + r.IntN(2000))}
				g.add(c)
			}
		}
	case Simbox:
		me := g.nums.mobile()
		g.class[me] = cl
		lines := 3 + r.IntN(4)
		for range lines {
			g.sequential(60, 70e3, func(t int64) *Call {
				c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: g.dom(), Ring: int32(3000 + r.IntN(12000))}
				if r.Float64() < 0.65 {
					c.Disp, c.Cause = DispAnswered, 16
					c.Talk = int32(math.Min(600e3, math.Max(10e3, 60e3*math.Exp(0.7*r.NormFloat64()))))
				} else {
					c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(15000+r.IntN(15000))
				}
				p := g.add(c)
				end := p.End()
				g.callback(p, 0.2, msPerHour)
				return &Call{Start: t, Ring: int32(end - t)}
			})
		}
	case Spoofer, SpooferBadID:
		var me uint32
		trunk := func() uint8 { return g.dom() }
		rate := uniform(r, 20, 40)
		if cl == Spoofer {
			me = g.nums.mobile()
			trunk = func() uint8 { return uint8(trunkINTL1 + r.IntN(2)) }
		} else {
			me = g.nums.badID()
			rate = uniform(r, 25, 40)
		}
		g.class[me] = cl
		for _, t := range g.paced(rate) {
			c := Call{Start: t, Caller: me, Callee: g.pick(), Trunk: trunk(), Ring: int32(3000 + r.IntN(12000))}
			if r.Float64() < 0.4 {
				c.Disp, c.Cause = DispAnswered, 16
				c.Talk = int32(math.Min(900e3, math.Max(3e3, 30e3*math.Exp(0.9*r.NormFloat64()))))
			} else {
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(15000+r.IntN(15000))
			}
			p := g.add(c)
			if cl == Spoofer {
				g.callback(p, 0.2, msPerHour)
			}
		}
	case InvalidDialer:
		me := g.nums.mobile()
		if i%2 == 1 {
			me = g.nums.landline()
		}
		g.class[me] = cl
		for _, t := range g.paced(uniform(r, 60, 150)) {
			c := Call{Start: t, Caller: me, Callee: g.nums.mobile(), Trunk: g.dom()}
			switch p := r.Float64(); {
			case p < 0.5:
				c.Disp, c.Cause, c.Ring = DispFailed, 1, int32(r.IntN(1500))
			case p < 0.55:
				c.Disp, c.Cause, c.Ring = DispFailed, 28, int32(r.IntN(1500))
			case p < 0.61:
				c.Disp, c.Cause, c.Ring, c.Talk = DispAnswered, 16, int32(3000+r.IntN(8000)), int32(uniform(r, 3e3, 40e3))
			default:
				c.Disp, c.Cause, c.Ring = DispNoAnswer, 19, int32(15000+r.IntN(15000))
			}
			g.add(c)
		}
	case Campaign:
		g.campaign(i)
	case EnterpriseLine:
		g.enterprise(i)
	default:
		panic("BUG: no generator for class " + string(cl))
	}
}
