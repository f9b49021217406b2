package engine

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// worker makes caller's calls from local hour from to hour to of the day
// of t0 in Shanghai: perHour a hour to distinct people, answered with
// probability answer, talking talk() seconds.
func worker(e *Engine, r *rand.Rand, caller string, from, to, perHour int, answer float64, talk func() float64) []*Record {
	day := time.Date(2026, 11, 29, 0, 0, 0, 0, shanghai)
	var out []*Record
	gap := 3600 / perHour // one call at a time: a handset
	for h := from; h < to; h++ {
		for k := range perHour {
			at := day.Add(time.Duration(h)*time.Hour + time.Duration(k*gap+r.IntN(gap/4))*time.Second)
			d, t := schemas.NoAnswer, 0.0
			if r.Float64() < answer {
				d, t = schemas.Answered, talk()
			}
			out = append(out, rec(e, caller, fmt.Sprintf("+86139%08d", r.IntN(1e8)), at, d, 8, t, 16, ""))
		}
	}
	return out
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// dailyFlags runs recs (in time order, give or take a few minutes) in
// batches of size, the watermark five minutes behind the earliest call
// still to come, then closes every window and day; it returns the numbers
// flagged per daily detector, and the daily flags.
func dailyFlags(e *Engine, recs []*Record, size int) (map[string][]string, []schemas.Flag) {
	got := map[string][]string{}
	var days []schemas.Flag
	collect := func(outs []Output) {
		for _, o := range outs {
			for _, f := range o.Flags {
				if f.WindowEnd.Sub(f.WindowStart) <= time.Hour {
					continue // an hourly trait (no_callback: nobody calls them back)
				}
				if !slices.Contains(got[f.Detector], f.Number) {
					got[f.Detector] = append(got[f.Detector], f.Number)
					slices.Sort(got[f.Detector])
				}
				days = append(days, f)
			}
		}
	}
	// The watermark stays behind every call still to come, as the
	// pipeline's does: none is late.
	rest := make([]time.Time, len(recs)+1)
	rest[len(recs)] = recs[len(recs)-1].CDR.StartTime
	for i := len(recs) - 1; i >= 0; i-- {
		rest[i] = rest[i+1]
		if at := recs[i].CDR.StartTime; at.Before(rest[i]) {
			rest[i] = at
		}
	}
	wm := time.Date(2026, 11, 28, 23, 0, 0, 0, shanghai)
	for i := 0; i < len(recs); i += size {
		if at := rest[i].Add(-5 * time.Minute); at.After(wm) {
			wm = at
		}
		collect(e.Process(recs[i:min(i+size, len(recs))], wm, true))
	}
	collect(e.Process(nil, wm.Add(48*time.Hour), true))
	return got, days
}

func TestLowAndSlowOverADay(t *testing.T) {
	cfg := config.Default()
	cfg.Engine.Shards = 2
	cfg.Detectors.Daily.Zone = "Asia/Shanghai"
	const (
		slow    = "+8613900000001" // 20 people an hour for 12 hours, most hang up: 240 a day
		courier = "+8613900000002" // 35 an hour for 10 hours, real if short talks
		thin    = "+8613900000003" // 8 an hour round the clock, hanging up
	)
	e, err := New(engineConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	hangUp := func() float64 {
		if r.Float64() < 0.85 {
			return 2 + 6*r.Float64()
		}
		return 30 + 60*r.Float64()
	}
	recs := worker(e, r, slow, 9, 21, 20, 0.6, hangUp)
	recs = append(recs, worker(e, r, courier, 8, 18, 35, 0.7, func() float64 { return 12 + 30*r.Float64() })...)
	recs = append(recs, worker(e, r, thin, 0, 24, 8, 0.6, hangUp)...)
	byTime := func(a, b *Record) int { return a.CDR.StartTime.Compare(b.CDR.StartTime) }
	slices.SortFunc(recs, byTime)
	got, days := dailyFlags(e, recs, 20)
	want := map[string][]string{
		"daily_fan_out":     {slow, courier},
		"daily_short_calls": {slow},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("daily flags %v, want %v", got, want)
	}
	midnight := time.Date(2026, 11, 29, 0, 0, 0, 0, shanghai)
	for _, f := range days {
		if !f.WindowStart.Equal(midnight) || !f.WindowEnd.Equal(midnight.Add(24*time.Hour)) || !f.Final {
			t.Errorf("%s %s from %s to %s, want the Shanghai day, final", f.Number, f.Detector, f.WindowStart, f.WindowEnd)
		}
	}

	// The same calls in another order and other batches, on another
	// number of shards, flag the same.
	cfg.Engine.Shards = 3
	e2, err := New(engineConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(recs)
	for _, x := range shuffled {
		x.Stored, x.counted = false, false
	}
	// Up to ten minutes out of order (as switches send).
	sh := rand.New(rand.NewPCG(3, 4))
	sent := map[*Record]time.Time{}
	for _, x := range shuffled {
		sent[x] = x.CDR.StartTime.Add(time.Duration(sh.IntN(600)) * time.Second)
	}
	slices.SortFunc(shuffled, func(a, b *Record) int { return sent[a].Compare(sent[b]) })
	_, days2 := dailyFlags(e2, shuffled, 13)
	key := func(fs []schemas.Flag) []string {
		var out []string
		for _, f := range fs {
			out = append(out, fmt.Sprintf("%s %s %.0f %s", f.Number, f.Detector, f.Value, f.Evidence))
		}
		slices.Sort(out)
		return out
	}
	if a, b := key(days), key(days2); !slices.Equal(a, b) {
		t.Errorf("another order gave\n%v\nnot\n%v", b, a)
	}
}
