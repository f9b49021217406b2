package detectors

import "fmt"

// SpoofedOrigin flags calls whose caller ID cannot be genuine: a domestic
// number arriving on an international trunk, or a number outside the
// numbering plan. Regulators allow blocking these outright, so the
// threshold is usually a single call.
type SpoofedOrigin struct {
	// MinCalls is the number of such calls that flags.
	MinCalls int
}

// Name implements Detector.
func (SpoofedOrigin) Name() string { return "spoofed_origin" }

// NeedsSorted implements Detector.
func (SpoofedOrigin) NeedsSorted() bool { return false }

// Check implements Detector.
func (d SpoofedOrigin) Check(w *Window) (Finding, bool) {
	if w.Spoofed == 0 || w.Spoofed < d.MinCalls {
		return Finding{}, false
	}
	return Finding{
		Score: ratio(float64(w.Spoofed), float64(d.MinCalls)),
		Value: float64(w.Spoofed),
		Evidence: fmt.Sprintf("%d calls with a domestic caller ID arrived on an international trunk or carried a caller ID outside the numbering plan in %s (threshold %d)",
			w.Spoofed, human(w.Length), d.MinCalls),
	}, true
}
