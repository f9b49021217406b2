package detectors

import "fmt"

// ConcurrentCalls flags a mobile number with more calls in progress at
// once than a handset can hold (one or two): the number is used from a
// SIM box, a PBX or a spoofing platform. Fixed lines and trunks carry many
// calls legitimately, so only mobile callers are judged.
type ConcurrentCalls struct {
	// MinConcurrent is the number of simultaneous calls that flags.
	MinConcurrent int
}

// Name implements Detector.
func (ConcurrentCalls) Name() string { return "concurrent_calls" }

// NeedsSorted implements Detector.
func (ConcurrentCalls) NeedsSorted() bool { return false }

// Check implements Detector.
func (d ConcurrentCalls) Check(w *Window) (Finding, bool) {
	if !w.Mobile || w.MaxConcurrent == 0 || w.MaxConcurrent < d.MinConcurrent {
		return Finding{}, false
	}
	return Finding{
		Score: ratio(float64(w.MaxConcurrent), float64(d.MinConcurrent)),
		Value: float64(w.MaxConcurrent),
		Evidence: fmt.Sprintf("%d calls in progress at once from a mobile number in %s (threshold %d)",
			w.MaxConcurrent, human(w.Length), d.MinConcurrent),
	}, true
}
