package detectors

import "fmt"

// SpoofedOrigin flags calls whose caller ID cannot be genuine: a number
// outside the numbering plan, or a domestic number arriving on an
// international trunk to several people. Regulators allow blocking these
// outright, so the threshold is usually a single call; but a subscriber
// roaming abroad who calls home arrives on an international trunk with
// a genuine domestic number, and calls a few people (family, the
// office), not a list of victims.
type SpoofedOrigin struct {
	// MinCalls is the number of such calls that flags.
	MinCalls int
	// MinCalleesAbroad is how many distinct callees a domestic number on
	// international trunks must reach in the window as well.
	MinCalleesAbroad int
}

// Name implements Detector.
func (SpoofedOrigin) Name() string { return "spoofed_origin" }

// NeedsSorted implements Detector.
func (SpoofedOrigin) NeedsSorted() bool { return false }

// Check implements Detector.
func (d SpoofedOrigin) Check(w *Window) (Finding, bool) {
	switch {
	case w.BadID > 0 && w.BadID >= d.MinCalls:
		return Finding{
			Score:    ratio(float64(w.BadID), float64(d.MinCalls)),
			Value:    float64(w.BadID),
			Evidence: fmt.Sprintf("%d calls with a caller ID outside the numbering plan in %s (threshold %d)", w.BadID, human(w.Length), d.MinCalls),
		}, true
	case w.Spoofed > 0 && w.Spoofed >= d.MinCalls && w.Distinct >= d.MinCalleesAbroad:
		return Finding{
			Score: ratio(float64(w.Spoofed), float64(d.MinCalls)),
			Value: float64(w.Spoofed),
			Evidence: fmt.Sprintf("%d calls with a domestic caller ID arrived on an international trunk, to %d distinct callees, in %s (threshold %d calls, %d callees: a roamer calls a few)",
				w.Spoofed, w.Distinct, human(w.Length), d.MinCalls, d.MinCalleesAbroad),
		}, true
	}
	return Finding{}, false
}
