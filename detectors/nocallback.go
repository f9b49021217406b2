package detectors

import "fmt"

// NoCallback flags a caller that many callees never call back: calls
// between people go both ways, telemarketing and fraud go one way
// (reciprocity). Callbacks arrive after the calls they answer, so the
// detector judges only the final summary of a window (Window.Closing).
type NoCallback struct {
	// MinCallees is the number of distinct callees needed before the share
	// means anything.
	MinCallees int
	// MaxShare is the share of callees who called back at or under which
	// the caller is flagged.
	MaxShare float64
}

// Name implements Detector.
func (NoCallback) Name() string { return "no_callback" }

// NeedsSorted implements Detector.
func (NoCallback) NeedsSorted() bool { return false }

// Check implements Detector.
func (d NoCallback) Check(w *Window) (Finding, bool) {
	if !w.Closing || w.Distinct == 0 || w.Distinct < d.MinCallees {
		return Finding{}, false
	}
	share := float64(w.Callbacks) / float64(w.Distinct)
	if share > d.MaxShare {
		return Finding{}, false
	}
	return Finding{
		Score: (ratio(float64(w.Distinct), float64(d.MinCallees)) + below(share, d.MaxShare)) / 2,
		Value: share,
		Evidence: fmt.Sprintf("%d of %d callees called back (%.0f%%) in %s (threshold at most %.0f%% of at least %d)",
			w.Callbacks, w.Distinct, 100*share, human(w.Length), 100*d.MaxShare, d.MinCallees),
	}, true
}
