package detectors

import "fmt"

// LowAnswerRate flags a caller whose attempts are rarely answered (a low
// ASR): callees who learned the number reject it, and diallers ring
// numbers nobody uses.
type LowAnswerRate struct {
	// MinAttempts is the volume of attempts needed before the rate means
	// anything.
	MinAttempts int
	// MaxRate is the share of answered attempts at or under which the
	// caller is flagged.
	MaxRate float64
}

// Name implements Detector.
func (LowAnswerRate) Name() string { return "low_answer_rate" }

// NeedsSorted implements Detector.
func (LowAnswerRate) NeedsSorted() bool { return false }

// Check implements Detector.
func (d LowAnswerRate) Check(w *Window) (Finding, bool) {
	if w.Calls < d.MinAttempts || w.Calls == 0 {
		return Finding{}, false
	}
	rate := float64(w.Answered) / float64(w.Calls)
	if rate > d.MaxRate {
		return Finding{}, false
	}
	return Finding{
		Score: (ratio(float64(w.Calls), float64(d.MinAttempts)) + below(rate, d.MaxRate)) / 2,
		Value: rate,
		Evidence: fmt.Sprintf("%d of %d attempts answered (%.0f%%) in %s (threshold at most %.0f%% of at least %d)",
			w.Answered, w.Calls, 100*rate, human(w.Length), 100*d.MaxRate, d.MinAttempts),
	}, true
}

// below is ratio for thresholds that flag from above: the measured value
// v at or under the ceiling t scores 0.5 at the ceiling, rising towards 1
// as v falls, and 1 at zero (nothing answered, no spread, no callback).
// Detectors whose value is better the higher it is use it.
func below(v, t float64) float64 {
	switch {
	case v <= 0:
		return 1
	case t <= 0:
		return 0
	}
	return t / (t + v)
}
