package detectors

import "fmt"

// Burst flags a caller starting many calls within one minute: the "call
// storms" of autodiallers, which no person dialling by hand can produce.
type Burst struct {
	// MinPerMinute is the number of calls started within one minute that
	// flags.
	MinPerMinute int
}

// Name implements Detector.
func (Burst) Name() string { return "burst" }

// NeedsSorted implements Detector.
func (Burst) NeedsSorted() bool { return false }

// Check implements Detector.
func (d Burst) Check(w *Window) (Finding, bool) {
	if w.PeakPerMinute == 0 || w.PeakPerMinute < d.MinPerMinute {
		return Finding{}, false
	}
	return Finding{
		Score: ratio(float64(w.PeakPerMinute), float64(d.MinPerMinute)),
		Value: float64(w.PeakPerMinute),
		Evidence: fmt.Sprintf("%d calls started within one minute in %s (threshold %d)",
			w.PeakPerMinute, human(w.Length), d.MinPerMinute),
	}, true
}
