package detectors

import "fmt"

// OneRing flags wangiri ("one ring and cut"): a caller whose attempts are
// mostly hung up after ringing a second or two, so that the callee sees a
// missed call and rings back a premium-rate number. Which calls count as
// one-ring is the engine's business (see Window.OneRing).
type OneRing struct {
	// MinAttempts is the number of one-ring attempts that flags.
	MinAttempts int
	// MinShare is the share of one-ring attempts among all attempts that
	// flags, so a busy number with a few abandoned calls is not taken for
	// bait.
	MinShare float64
}

// Name implements Detector.
func (OneRing) Name() string { return "one_ring" }

// NeedsSorted implements Detector.
func (OneRing) NeedsSorted() bool { return false }

// Check implements Detector.
func (d OneRing) Check(w *Window) (Finding, bool) {
	if w.Calls == 0 || w.OneRing < d.MinAttempts {
		return Finding{}, false
	}
	share := float64(w.OneRing) / float64(w.Calls)
	if share < d.MinShare {
		return Finding{}, false
	}
	return Finding{
		Score: (ratio(float64(w.OneRing), float64(d.MinAttempts)) + ratio(share, d.MinShare)) / 2,
		Value: share,
		Evidence: fmt.Sprintf("%d of %d attempts (%.0f%%) hung up after ringing a second or two in %s (threshold %d and %.0f%%)",
			w.OneRing, w.Calls, 100*share, human(w.Length), d.MinAttempts, 100*d.MinShare),
	}, true
}
