package detectors

import (
	"fmt"
	"time"
)

// ShortCalls flags a caller whose answered calls are mostly very short:
// recorded messages and "are you there" probing hang up within seconds.
type ShortCalls struct {
	// MinAnswered is the volume of answered calls needed before the share
	// means anything.
	MinAnswered int
	// MaxTalk is the talk time under which a call is short.
	MaxTalk time.Duration
	// MinShare is the share of short calls among answered ones that flags.
	MinShare float64
}

// Name implements Detector.
func (ShortCalls) Name() string { return "short_calls" }

// NeedsSorted implements Detector.
func (ShortCalls) NeedsSorted() bool { return false }

// Check implements Detector.
func (d ShortCalls) Check(w *Window) (Finding, bool) {
	if w.Answered < d.MinAnswered || w.Answered == 0 {
		return Finding{}, false
	}
	share := float64(w.Short) / float64(w.Answered)
	if share < d.MinShare {
		return Finding{}, false
	}
	return Finding{
		Score: (ratio(float64(w.Answered), float64(d.MinAnswered)) + ratio(share, d.MinShare)) / 2,
		Value: share,
		Evidence: fmt.Sprintf("%.0f%% of %d answered calls under %s in %s (threshold %.0f%% of at least %d)",
			100*share, w.Answered, d.MaxTalk, human(w.Length), 100*d.MinShare, d.MinAnswered),
	}, true
}
