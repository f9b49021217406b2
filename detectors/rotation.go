package detectors

import "fmt"

// NumberRotation flags a trunk or number block that spreads its calls thin
// over many calling numbers: a call centre presenting a different number
// of its block on each call, so that no number crosses a per-number
// threshold. Only groups of numbers show it; an enterprise whose dialler
// rotates its lines does too, so it never blocks on its own.
type NumberRotation struct {
	// MinNumbers is how many distinct calling numbers flag.
	MinNumbers int
	// MaxPerNumber is the most calls per number, on average, that still
	// counts as spreading thin.
	MaxPerNumber float64
}

// Name implements Detector.
func (NumberRotation) Name() string { return "number_rotation" }

// NeedsSorted implements Detector.
func (NumberRotation) NeedsSorted() bool { return false }

// Check implements Detector.
func (d NumberRotation) Check(w *Window) (Finding, bool) {
	if w.Numbers < d.MinNumbers || w.Numbers == 0 {
		return Finding{}, false
	}
	per := float64(w.Calls) / float64(w.Numbers)
	if per > d.MaxPerNumber {
		return Finding{}, false
	}
	return Finding{
		Score: ratio(float64(w.Numbers), float64(d.MinNumbers)),
		Value: float64(w.Numbers),
		Evidence: fmt.Sprintf("%d calls from %d distinct numbers in %s, %.1f calls per number (threshold %d numbers, at most %.1f calls each)",
			w.Calls, w.Numbers, human(w.Length), per, d.MinNumbers, d.MaxPerNumber),
	}, true
}
