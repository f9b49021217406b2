package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// rec builds a prepared record with full control over the call.
func rec(e *Engine, caller, callee string, at time.Time, d schemas.Disposition, ring, talk float64, cause uint16, trunk string) *Record {
	seq++
	c := schemas.CDR{CallID: fmt.Sprint("t", seq), Caller: caller, Callee: callee, StartTime: at,
		Disposition: d, RingDuration: ring, Duration: talk, Cause: cause, TrunkID: trunk}
	c.Key = c.CallID
	r := &Record{CDR: c}
	e.Prepare(r)
	return r
}

// flagsAfterClose runs recs, then closes every window, and returns the
// numbers flagged per detector.
func flagsAfterClose(e *Engine, recs []*Record) map[string]map[string]bool {
	got := map[string]map[string]bool{}
	collect := func(outs []Output) {
		for _, o := range outs {
			for _, f := range o.Flags {
				if got[f.Detector] == nil {
					got[f.Detector] = map[string]bool{}
				}
				got[f.Detector][f.Number] = true
			}
		}
	}
	collect(e.Process(recs, time.Time{}, false))
	collect(e.Process(nil, t0.Add(6*time.Hour), true))
	return got
}

func TestTraitsThroughTheEngine(t *testing.T) {
	const caller = "+8613800000100"
	const landline = "+861088880000"
	cfg := config.Default()
	cfg.Engine.Shards = 2
	cfg.Numbering.InternationalTrunks = []string{"INTL-1"}
	newEngine := func() *Engine {
		e, err := New(engineConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	tests := []struct {
		name  string
		calls func(e *Engine) []*Record
		want  string // detector that must flag caller
		not   string // detector that must not
	}{{
		name: "one ring",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 12 {
				rs = append(rs, rec(e, caller, number(i*100), at(i*70), schemas.Cancelled, 1.5, 0, 16, ""))
			}
			return
		},
		want: "one_ring",
	}, {
		name: "ringing long is not one ring",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 12 {
				rs = append(rs, rec(e, caller, number(i*100), at(i*70), schemas.Cancelled, 12, 0, 16, ""))
			}
			return
		},
		not: "one_ring",
	}, {
		name: "low answer rate",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 45 {
				d, talk := schemas.NoAnswer, 0.0
				if i%20 == 0 {
					d, talk = schemas.Answered, 30
				}
				rs = append(rs, rec(e, caller, number(i%30*100), at(i*70), d, 20, talk, 19, ""))
			}
			return
		},
		want: "low_answer_rate",
	}, {
		name: "burst",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 12 {
				rs = append(rs, rec(e, caller, number(i*100), at(i*4), schemas.NoAnswer, 3, 0, 19, ""))
			}
			return
		},
		want: "burst",
	}, {
		name: "concurrent calls on a mobile",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 3 {
				rs = append(rs, rec(e, caller, number(i*100), at(i*10), schemas.Answered, 2, 120, 16, ""))
			}
			return
		},
		want: "concurrent_calls",
	}, {
		name: "concurrent calls arriving out of order",
		calls: func(e *Engine) (rs []*Record) {
			for _, i := range []int{2, 0, 1} {
				rs = append(rs, rec(e, caller, number(i*100), at(i*10), schemas.Answered, 2, 120, 16, ""))
			}
			return
		},
		want: "concurrent_calls",
	}, {
		name: "two at once is what a handset holds",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 6 {
				rs = append(rs, rec(e, caller, number(i*100), at(i/2*300+i%2*10), schemas.Answered, 2, 120, 16, ""))
			}
			return
		},
		not: "concurrent_calls",
	}, {
		name: "invalid callees",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 12 {
				rs = append(rs, rec(e, caller, number(i*100), at(i*70), schemas.Failed, 0, 0, 1, ""))
			}
			return
		},
		want: "invalid_callees",
	}, {
		name: "robotic talk times",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 25 {
				rs = append(rs, rec(e, caller, number(i%8*100), at(i*97+i*i%13), schemas.Answered, 3, 30, 16, ""))
			}
			return
		},
		want: "robotic_timing",
	}, {
		name: "no callback",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 25 {
				rs = append(rs, rec(e, caller, number(i*100), at(i*97+i*i%13*7), schemas.Answered, 3, float64(20+i*7%50), 16, ""))
			}
			return
		},
		want: "no_callback",
	}, {
		name: "callbacks clear no_callback",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 25 {
				rs = append(rs, rec(e, caller, number(i*100), at(i*97+i*i%13*7), schemas.Answered, 3, float64(20+i*7%50), 16, ""))
			}
			for i := range 5 {
				rs = append(rs, rec(e, number(i*100), caller, at(3000+i*60), schemas.Answered, 3, 40, 16, ""))
			}
			return
		},
		not: "no_callback",
	}, {
		name: "callbacks within the grace after the window still count",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 25 {
				rs = append(rs, rec(e, caller, number(i*100), at(i*97+i*i%13*7), schemas.Answered, 3, float64(20+i*7%50), 16, ""))
			}
			// An hour and twenty minutes after the first call: past the
			// end of the windows holding the early calls.
			for i := range 5 {
				rs = append(rs, rec(e, number(i*100), caller, at(4800+i*60), schemas.Answered, 3, 40, 16, ""))
			}
			return
		},
		not: "no_callback",
	}, {
		name: "spoofed: domestic caller ID on an international trunk, to five people",
		calls: func(e *Engine) []*Record {
			var out []*Record
			for i := range 5 {
				out = append(out, rec(e, caller, number(i), at(i*300), schemas.Answered, 3, 40, 16, "INTL-1"))
			}
			return out
		},
		want: "spoofed_origin",
	}, {
		name: "a roamer calling home: domestic caller ID on an international trunk, to two people, five times",
		calls: func(e *Engine) []*Record {
			var out []*Record
			for i := range 5 {
				out = append(out, rec(e, caller, number(i%2), at(i*300), schemas.Answered, 3, 40, 16, "INTL-1"))
			}
			return out
		},
		not: "spoofed_origin",
	}, {
		name: "not spoofed on a domestic trunk",
		calls: func(e *Engine) []*Record {
			return []*Record{rec(e, caller, number(1), at(0), schemas.Answered, 3, 40, 16, "DOM-1")}
		},
		not: "spoofed_origin",
	}, {
		name: "spoofed: caller ID outside the plan",
		calls: func(e *Engine) []*Record {
			return []*Record{rec(e, "+86138000001", number(1), at(0), schemas.Answered, 3, 40, 16, "DOM-1")}
		},
		want: "spoofed_origin",
	}, {
		name: "landline service centre may hold many calls",
		calls: func(e *Engine) (rs []*Record) {
			for i := range 6 {
				rs = append(rs, rec(e, landline, number(i*100), at(i*10), schemas.Answered, 2, 300, 16, ""))
			}
			return
		},
		not: "concurrent_calls",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine()
			got := flagsAfterClose(e, tt.calls(e))
			number := caller
			if tt.name == "spoofed: caller ID outside the plan" {
				number = "+86138000001"
			}
			if tt.name == "landline service centre may hold many calls" {
				number = landline
			}
			if tt.want != "" && !got[tt.want][number] {
				t.Errorf("%s not flagged; flags: %v", tt.want, got)
			}
			if tt.not != "" && got[tt.not][number] {
				t.Errorf("%s flagged", tt.not)
			}
		})
	}
}

func TestCallBombingFlagsTheCallersNotTheVictim(t *testing.T) {
	e := testEngine(t, 2)
	victim := "+8613800000200"
	var recs []*Record
	callers := []string{"+8613900000001", "+8613900000002", "+8613900000003"}
	for i := range 24 {
		c := callers[i%3]
		if i >= 21 {
			c = fmt.Sprintf("+86139000001%02d", i) // one-off callers
		}
		recs = append(recs, rec(e, c, victim, t0.Add(time.Duration(i)*20*time.Second), schemas.NoAnswer, 5, 0, 19, ""))
	}
	got := flagsAfterClose(e, recs)
	for _, c := range callers {
		if !got["call_bombing"][c] {
			t.Errorf("caller %s of the flood not flagged: %v", c, got["call_bombing"])
		}
	}
	if got["call_bombing"][victim] || got["call_bombing"]["+8613900000121"] {
		t.Errorf("victim or one-off caller flagged: %v", got["call_bombing"])
	}
}

// TestConcurrencyOnOneSwitchClock: a handset's calls, one after the
// other, written by three switches whose clocks disagree by minutes seem
// to overlap; they are not compared, while calls really at once on one
// switch are.
func TestConcurrencyOnOneSwitchClock(t *testing.T) {
	cfg := config.Default()
	cfg.Engine.Shards = 1
	const caller = "+8613800000777"
	skew := map[string]time.Duration{"SW-A": 0, "SW-B": -3 * time.Minute, "SW-C": -6 * time.Minute}
	for _, tc := range []struct {
		name     string
		switches []string
		gap      time.Duration // between the calls' real starts
		want     bool
	}{
		{"three switches, clocks apart", []string{"SW-A", "SW-B", "SW-C"}, 270 * time.Second, false},
		{"one switch, calls really at once", []string{"SW-A", "SW-A", "SW-A"}, 30 * time.Second, true},
	} {
		e, err := New(engineConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		var rs []*Record
		for i, sw := range tc.switches {
			// 4-minute calls; each switch writes its own clock's time.
			at := t0.Add(time.Duration(i)*tc.gap + skew[sw])
			c := schemas.CDR{CallID: fmt.Sprint("cc", i), Key: fmt.Sprint(sw, "/cc", i), Caller: caller, Callee: number(900 + i),
				StartTime: at, Disposition: schemas.Answered, RingDuration: 5, Duration: 240, SwitchID: sw}
			r := &Record{CDR: c}
			e.Prepare(r)
			rs = append(rs, r)
		}
		if got := flagsAfterClose(e, rs)["concurrent_calls"][caller]; got != tc.want {
			t.Errorf("%s: concurrent_calls flagged %v, want %v", tc.name, got, tc.want)
		}
	}
}
