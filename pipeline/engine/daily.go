package engine

import (
	"slices"
	"time"

	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/internal/mix"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Low and slow: the day-long window. A caller who keeps under every hourly
// threshold can still reach hundreds of people in a day. Keeping a day of
// every caller's calls would cost a day of traffic; instead, each hourly
// window that tiles the day (window.size divides it) adds to its caller's
// day when it closes with at least stats.min_calls calls: exactly the
// windows that get a caller_stats row, which only callers with full state
// reach, so the day is a function of the input whatever the order it came
// in. A caller spread thinner than that cannot reach hundreds a day. The
// day's distinct callees are a HyperLogLog sketch, 1 KiB per such caller
// and day. Each window added is also written to day_windows (its counts
// and a sketch of its callees), from which a restarted run rebuilds the
// days (RestoreDays): windows are added to a day once, so one closed again
// after the restart is not counted twice.

// dayParams are the day window's settings.
type dayParams struct {
	zone      *time.Location
	detectors []detectors.Detector
}

func newDayParams(cfg Config) *dayParams {
	d := cfg.Detectors
	if !d.Daily.Enabled || (24*time.Hour)%cfg.Window.Size != 0 || 24*time.Hour/cfg.Window.Size > 64 {
		return nil
	}
	zone, err := time.LoadLocation(d.Daily.Zone)
	if err != nil {
		zone = time.UTC // config validated it
	}
	all := []detectors.Detector{
		detectors.Daily{D: detectors.FanOut{MinCallees: d.Daily.MinCallees}},
		detectors.Daily{D: detectors.ShortCalls{MinAnswered: d.Daily.MinAnswered, MaxTalk: d.ShortCalls.MaxTalk, MinShare: d.ShortCalls.MinShare}},
		detectors.Daily{D: detectors.LowAnswerRate{MinAttempts: d.Daily.MinAttempts, MaxRate: d.LowAnswerRate.MaxRate}},
	}
	p := &dayParams{zone: zone}
	for _, det := range all {
		if !slices.Contains(d.Disabled, det.Name()) {
			p.detectors = append(p.detectors, det)
		}
	}
	return p
}

// day is one caller's counts over one day.
type day struct {
	start, end int64  // Unix seconds: local midnight to the next
	folded     uint64 // bit i: the day's i-th window was added
	calls      uint32
	answered   uint32
	short      uint32
	talk       float64
	callees    hll
}

// dayOf returns the local day holding Unix second sec, and where in it a
// window of size seconds starting at sec lies (-1: it does not tile it).
func (dp *dayParams) dayOf(sec, size int64) (start, end int64, index int) {
	t := time.Unix(sec, 0).In(dp.zone)
	y, m, dd := t.Date()
	start = time.Date(y, m, dd, 0, 0, 0, 0, dp.zone).Unix()
	end = time.Date(y, m, dd+1, 0, 0, 0, 0, dp.zone).Unix()
	if (sec-start)%size != 0 || (sec-start)/size >= 64 {
		return start, end, -1
	}
	return start, end, int((sec - start) / size)
}

// addDay adds heavy caller h's closing window k to its day when the window
// tiles the day and holds at least stats.min_calls calls; keep also writes
// it to day_windows (not for the provisional windows of a bounded run's
// end).
func (s *shard) addDay(h *heavy, k int32, keep bool) {
	p := s.p
	if p.day == nil {
		return
	}
	wn := &h.wins[mod(k, p.ring)]
	if !wn.valid || wn.start != k || int(wn.agg.calls) < p.statsMin {
		return
	}
	sec := int64(k) * p.slide
	start, end, i := p.day.dayOf(sec, int64(p.size/time.Second))
	if i < 0 {
		return
	}
	var sketch hll
	s.sorted = h.sortedIn(k, p.w, s.sorted)
	for _, c := range s.sorted {
		sketch.add(mix.Mix64(c))
	}
	for b := k; h.overflow != nil && b < k+p.w; b++ {
		// Past engine.max_callees the window's further callees are only
		// in its sketches.
		if slot := mod(b, p.ring); h.overflow[slot] != nil && h.overSlot[slot] == b {
			sketch.merge(h.overflow[slot])
		}
	}
	a := &wn.agg
	row := schemas.DayWindow{DayStart: time.Unix(start, 0).UTC(), DayEnd: time.Unix(end, 0).UTC(), WindowStart: p.time(k),
		Calls: a.calls, Answered: a.answered, Short: a.short, Talk: a.talk}
	s.fold(h.number, &row, &sketch)
	if keep {
		row.Caller = decode.KeyNumber(h.number)
		row.Callees = string(sketch[:])
		s.out.Days = append(s.out.Days, row)
	}
}

// fold adds a window's counts to its caller's day, once: a window read
// back after a restart and closed again is not counted twice.
func (s *shard) fold(number uint64, row *schemas.DayWindow, sketch *hll) {
	start, end := row.DayStart.Unix(), row.DayEnd.Unix()
	i := (row.WindowStart.Unix() - start) / int64(s.p.size/time.Second)
	if i < 0 || i >= 64 {
		return
	}
	days := s.days[number]
	var d *day
	for _, x := range days {
		if x.start == start {
			d = x
		}
	}
	if d == nil {
		d = &day{start: start, end: end}
		s.days[number] = append(days, d)
		if s.dayEnd == 0 || end < s.dayEnd {
			s.dayEnd = end
		}
	}
	if d.folded&(1<<i) != 0 {
		return
	}
	d.folded |= 1 << i
	d.calls += row.Calls
	d.answered += row.Answered
	d.short += row.Short
	d.talk += row.Talk
	d.callees.merge(sketch)
}

// RestoreDays adds windows an earlier run wrote to day_windows to their
// callers' days, after a restart and before any record: windows the
// restarted run closes again are not counted twice. Rows of callers
// another instance owns must be left out by the caller.
func (e *Engine) RestoreDays(rows []schemas.DayWindow) {
	if e.p.day == nil {
		return
	}
	for i := range rows {
		row := &rows[i]
		number := decode.NumberKey(row.Caller)
		if number == 0 || len(row.Callees) != hllRegisters {
			continue
		}
		var sketch hll
		copy(sketch[:], row.Callees)
		e.shards[mix.Mix64(number)%uint64(len(e.shards))].fold(number, row, &sketch)
	}
}

// DaysOn reports whether the engine keeps days (RestoreDays has work).
func (e *Engine) DaysOn() bool { return e.p.day != nil }

// closeDays judges and forgets the days that ended by watermark wm (Unix
// seconds): their last window closed in this advance.
func (s *shard) closeDays(wm int64) {
	if s.p.day == nil || s.dayEnd == 0 || wm < s.dayEnd {
		return
	}
	next := int64(0)
	for number, days := range s.days {
		kept := days[:0]
		for _, d := range days {
			if d.end <= wm {
				s.judgeDay(number, d)
				continue
			}
			kept = append(kept, d)
			if next == 0 || d.end < next {
				next = d.end
			}
		}
		if len(kept) == 0 {
			delete(s.days, number)
		} else {
			s.days[number] = kept
		}
	}
	s.dayEnd = next
}

// judgeDay runs the daily detectors on one caller's day.
func (s *shard) judgeDay(number uint64, d *day) {
	w := &s.view
	*w = detectors.Window{Length: time.Duration(d.end-d.start) * time.Second, Calls: int(d.calls), Answered: int(d.answered),
		Short: int(d.short), TalkSeconds: d.talk, Distinct: int(d.callees.estimate() + 0.5), Closing: true}
	var text string
	for _, det := range s.p.day.detectors {
		f, ok := det.Check(w)
		if !ok {
			continue
		}
		if text == "" {
			text = decode.KeyNumber(number)
		}
		start := time.Unix(d.start, 0).UTC()
		s.out.Flags = append(s.out.Flags, schemas.Flag{Number: text, Detector: det.Name(), WindowStart: start,
			WindowEnd: time.Unix(d.end, 0).UTC(), Score: f.Score, Value: f.Value, Evidence: f.Evidence, FlaggedAt: start, Final: true})
	}
}
