package report

import (
	"testing"

	"github.com/cdrpipe/cdrpipe/traffic"
)

func TestScore(t *testing.T) {
	truth := &traffic.Truth{Planted: []traffic.Planted{
		{Number: "+1", Kind: "fan_out"}, {Number: "+2", Kind: "fan_out"},
		{Number: "+3", Kind: "short_calls"},
	}}
	flagged := []Flagged{
		{Number: "+1", Detector: "fan_out"},
		{Number: "+1", Detector: "fan_out"}, // a second window counts once
		{Number: "+9", Detector: "fan_out"}, // ordinary subscriber
		{Number: "+3", Detector: "short_calls"},
		{Number: "+1", Detector: "short_calls"}, // planted, but for another trait
	}
	scores := score(flagged, truth)
	f := func(d string, planted, flagged, tp int, precision, recall float64) {
		t.Helper()
		for _, s := range scores {
			if s.Detector != d {
				continue
			}
			if s.Planted != planted || s.Flagged != flagged || s.TruePos != tp || s.Precision != precision || s.Recall != recall {
				t.Errorf("%s: %+v", d, s)
			}
			return
		}
		t.Errorf("no score for %s", d)
	}
	f("fan_out", 2, 2, 1, 0.5, 0.5)
	f("short_calls", 1, 2, 1, 0.5, 1)
	f("sequential_dialing", 0, 0, 0, 1, 1)
	r := &Report{Scores: scores}
	if err := r.MinQuality(0.5); err != nil {
		t.Errorf("MinQuality(0.5): %v", err)
	}
	if err := r.MinQuality(0.99); err == nil {
		t.Error("MinQuality(0.99) passed")
	}
}
