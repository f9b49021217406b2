package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestSpoofedCallersStaySmall: random spoofed caller IDs, one call each,
// are flagged without full window state, in every window their call
// falls in, exactly as a heavy caller would be at the crossing.
func TestSpoofedCallersStaySmall(t *testing.T) {
	cfg := config.Default()
	cfg.Engine.Shards = 2
	cfg.Numbering.InternationalTrunks = []string{"INTL-1"}
	e, err := New(engineConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	const callers = 20000
	var recs []*Record
	for i := range callers {
		// Ten national digits: a mobile prefix with one digit short.
		recs = append(recs, rec(e, fmt.Sprintf("+861380%06d", i), number(i), t0.Add(time.Duration(i)*100*time.Millisecond),
			schemas.Answered, 2, 30, 16, "INTL-1"))
	}
	outs := e.Process(recs, time.Time{}, false)
	flags := map[string]int{}
	for _, o := range outs {
		if o.Promoted != 0 {
			t.Errorf("%d callers promoted to full window state", o.Promoted)
		}
		for _, f := range o.Flags {
			if f.Detector != "spoofed_origin" {
				t.Fatalf("unexpected flag %+v", f)
			}
			flags[f.Number]++
			if f.Evidence == "" || f.Score < 0.5 {
				t.Errorf("flag without evidence or score: %+v", f)
			}
		}
	}
	if _, heavy := e.Size(); heavy != 0 {
		t.Errorf("%d heavy callers, want none", heavy)
	}
	if len(flags) != callers {
		t.Errorf("%d callers flagged, want %d", len(flags), callers)
	}
	for n, k := range flags {
		if k != 12 {
			t.Fatalf("%s flagged in %d windows, want the 12 its call falls in", n, k)
		}
	}
}

// TestSpoofedSmallMatchesHeavy: with a threshold of three calls, a small
// caller is flagged in the windows where the third spoofed call lands,
// the same windows full state flags.
func TestSpoofedSmallMatchesHeavy(t *testing.T) {
	windows := func(promote bool) map[time.Time]bool {
		cfg := config.Default()
		cfg.Engine.Shards = 1
		cfg.Numbering.InternationalTrunks = []string{"INTL-1"}
		cfg.Detectors.SpoofedOrigin.MinCalls = 3
		cfg.Detectors.SpoofedOrigin.MinCalleesAbroad = 2 // reached at the second call
		e, err := New(engineConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		caller := "+8613800000777"
		var recs []*Record
		for i, min := range []int{0, 20, 50, 70, 95} {
			trunk := "INTL-1"
			if i == 1 {
				trunk = "DOM-1"
			}
			recs = append(recs, rec(e, caller, number(i*1000), t0.Add(time.Duration(min)*time.Minute), schemas.Answered, 2, 30, 16, trunk))
		}
		if promote { // two overlapping calls promote the caller first
			recs = append([]*Record{
				rec(e, caller, number(90001), t0.Add(-10*time.Minute), schemas.Answered, 2, 300, 16, ""),
				rec(e, caller, number(90002), t0.Add(-9*time.Minute), schemas.Answered, 2, 300, 16, ""),
			}, recs...)
		}
		got := map[time.Time]bool{}
		for _, o := range e.Process(recs, time.Time{}, false) {
			if promote != (o.Promoted > 0) && o.Promoted > 0 {
				t.Errorf("promote=%v: %d promoted", promote, o.Promoted)
			}
			for _, f := range o.Flags {
				if f.Detector == "spoofed_origin" {
					got[f.WindowStart] = true
				}
			}
		}
		return got
	}
	small, heavy := windows(false), windows(true)
	if len(small) == 0 {
		t.Fatal("small caller never flagged")
	}
	if fmt.Sprint(small) != fmt.Sprint(heavy) {
		t.Errorf("windows flagged: small %v, heavy %v", small, heavy)
	}
}

// TestWithheldNotCounted: a withheld caller ID without a number is stored
// but counted for nobody, however many such calls there are.
func TestWithheldNotCounted(t *testing.T) {
	e := testEngine(t, 2)
	var recs []*Record
	for i := range 500 {
		r := call("", number(i), t0.Add(time.Duration(i)*time.Second), 3)
		r.CDR.Withheld = true
		recs = append(recs, r)
	}
	r := run(e, time.Time{}, recs...)
	if len(r.out.CDRs) != 500 {
		t.Errorf("%d of 500 withheld calls stored", len(r.out.CDRs))
	}
	if len(r.flags) != 0 {
		t.Errorf("withheld calls flagged somebody: %v", r.flags)
	}
	if callers, _ := e.Size(); callers != 0 {
		t.Errorf("%d callers held for withheld calls", callers)
	}
}
