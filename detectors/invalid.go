package detectors

import "fmt"

// InvalidCallees flags a caller whose attempts often reach unallocated or
// invalid numbers (Q.850 cause 1 or 28, or outside the numbering plan):
// diallers walking random or sequential numbers hit them, people calling
// their contacts rarely do.
type InvalidCallees struct {
	// MinAttempts is the number of attempts to invalid numbers that flags.
	MinAttempts int
	// MinShare is the share of such attempts among all attempts that
	// flags, so a busy number with a few misdialled calls is not flagged.
	MinShare float64
}

// Name implements Detector.
func (InvalidCallees) Name() string { return "invalid_callees" }

// NeedsSorted implements Detector.
func (InvalidCallees) NeedsSorted() bool { return false }

// Check implements Detector.
func (d InvalidCallees) Check(w *Window) (Finding, bool) {
	if w.Calls == 0 || w.Invalid < d.MinAttempts {
		return Finding{}, false
	}
	share := float64(w.Invalid) / float64(w.Calls)
	if share < d.MinShare {
		return Finding{}, false
	}
	return Finding{
		Score: (ratio(float64(w.Invalid), float64(d.MinAttempts)) + ratio(share, d.MinShare)) / 2,
		Value: share,
		Evidence: fmt.Sprintf("%d of %d attempts (%.0f%%) went to unallocated or invalid numbers in %s (threshold %d and %.0f%%)",
			w.Invalid, w.Calls, 100*share, human(w.Length), d.MinAttempts, 100*d.MinShare),
	}, true
}
