package detectors

import "fmt"

// FanOut flags a caller reaching many distinct callees in a window:
// mass calling by telemarketers and robocallers.
type FanOut struct {
	// MinCallees is the number of distinct callees that flags.
	MinCallees int
}

// Name implements Detector.
func (FanOut) Name() string { return "fan_out" }

// NeedsSorted implements Detector.
func (FanOut) NeedsSorted() bool { return false }

// Check implements Detector.
func (d FanOut) Check(w *Window) (Finding, bool) {
	if w.Distinct < d.MinCallees {
		return Finding{}, false
	}
	return Finding{
		Score:    ratio(float64(w.Distinct), float64(d.MinCallees)),
		Value:    float64(w.Distinct),
		Evidence: fmt.Sprintf("%d distinct callees in %s (threshold %d)", w.Distinct, human(w.Length), d.MinCallees),
	}, true
}
