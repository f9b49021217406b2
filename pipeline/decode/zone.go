package decode

import (
	"math"
	"time"
)

// Local times: many switches (Asterisk, FreeSWITCH, most mediation) write
// wall-clock time without an offset. Such a time is read in the zone of
// the switch that wrote it (input.switch_zones), or the default zone
// (input.zone). Around a change of offset a wall-clock time can name two
// instants (the hour repeated when clocks go back) or none (the hour
// skipped when they go forward); the rule here is fixed so the same
// record always gives the same instant:
//
//   - a repeated wall-clock time is the earlier instant (the first pass,
//     still at the old offset);
//   - a skipped wall-clock time is read at the offset in force before the
//     change, as a clock not yet moved forward would have written it.

// zoneDay bounds the search for an offset change around a wall-clock time:
// no zone changes its offset twice within two days.
const zoneDay = 86400

// zoneConv converts wall-clock times of one zone to instants. It caches
// the offset of the last period it met and the span of instants in that
// period far enough (two days) from either change that every wall-clock
// time landing in the span has exactly one reading, so almost every
// record costs one subtraction and two comparisons.
type zoneConv struct {
	loc      *time.Location
	off      int64 // seconds east of UTC in the cached period
	from, to int64 // Unix seconds: the span where off holds unambiguously
}

func newZoneConv(loc *time.Location) *zoneConv {
	return &zoneConv{loc: loc, from: 1, to: 0} // empty span: first call fills it
}

// unix returns the instant (Unix seconds) of wall, a wall-clock time
// given as the Unix seconds it would be if it were UTC.
func (z *zoneConv) unix(wall int64) int64 {
	if u := wall - z.off; u >= z.from && u < z.to {
		return u
	}
	u := z.resolve(wall)
	z.cache(u)
	return u
}

// offsetAt returns the zone's offset at instant u.
func (z *zoneConv) offsetAt(u int64) int64 {
	_, off := time.Unix(u, 0).In(z.loc).Zone()
	return int64(off)
}

// resolve applies the rule above: the offsets in force two days before
// and after wall bracket any change near it; each reading u = wall - off
// that the zone confirms is a candidate, and the earliest wins.
func (z *zoneConv) resolve(wall int64) int64 {
	before := z.offsetAt(wall - 2*zoneDay)
	after := z.offsetAt(wall + 2*zoneDay)
	best, found := int64(math.MaxInt64), false
	for _, off := range [2]int64{before, after} {
		if u := wall - off; z.offsetAt(u) == off && u < best {
			best, found = u, true
		}
	}
	if !found {
		return wall - before // skipped by a change: the old offset
	}
	return best
}

// cache remembers the period of instant u.
func (z *zoneConv) cache(u int64) {
	t := time.Unix(u, 0).In(z.loc)
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	z.off = int64(off)
	z.from, z.to = math.MinInt64, math.MaxInt64
	if !start.IsZero() {
		z.from = start.Unix() + 2*zoneDay
	}
	if !end.IsZero() {
		z.to = end.Unix() - 2*zoneDay
	}
}

// zones finds the zone of a record's local times from its switch. It
// keeps one converter per zone and remembers the last switch looked up,
// since records of one switch tend to come together.
type zones struct {
	def      *zoneConv
	bySwitch map[string]*zoneConv
	last     []byte
	lastConv *zoneConv
}

func newZones(def *time.Location, perSwitch map[string]*time.Location) zones {
	if def == nil {
		def = time.UTC
	}
	convs := map[*time.Location]*zoneConv{}
	conv := func(loc *time.Location) *zoneConv {
		if c := convs[loc]; c != nil {
			return c
		}
		c := newZoneConv(loc)
		convs[loc] = c
		return c
	}
	z := zones{def: conv(def), bySwitch: make(map[string]*zoneConv, len(perSwitch))}
	for sw, loc := range perSwitch {
		z.bySwitch[sw] = conv(loc)
	}
	return z
}

// local is the zone of one record's local times: its switch, looked up
// only when the record has a time without an offset.
type local struct {
	z  *zones
	sw []byte
}

// unix returns the instant of wall in the record's zone (see zoneConv).
func (l local) unix(wall int64) int64 { return l.z.of(l.sw).unix(wall) }

// of returns the converter for records of switch sw (empty: unknown).
func (z *zones) of(sw []byte) *zoneConv {
	if len(z.bySwitch) == 0 || len(sw) == 0 {
		return z.def
	}
	if z.lastConv != nil && string(sw) == string(z.last) {
		return z.lastConv
	}
	c := z.bySwitch[string(sw)]
	if c == nil {
		c = z.def
	}
	z.last = append(z.last[:0], sw...)
	z.lastConv = c
	return c
}
