package detectors

import (
	"fmt"
	"math"
)

// RoboticTiming flags a caller whose calls are too regular for a person:
// talk times that hardly vary (a recorded message played to the end) or
// calls started at near-constant intervals (a dialler on a timer). The
// spread is the coefficient of variation, standard deviation over mean,
// so it reads the same for 20 s messages and 2 min scripts.
//
// A mean of zero is never flagged: zero talk times are short_calls'
// business, and calls all started in the same second are burst's.
type RoboticTiming struct {
	// MinCalls is how many answered calls (for talk times) or gaps between
	// call starts (for intervals) are needed before the spread means
	// anything. At least two are always needed: one value has no spread.
	MinCalls int
	// MaxCV is the coefficient of variation at or under which timing is
	// robotic.
	MaxCV float64
}

// Name implements Detector.
func (RoboticTiming) Name() string { return "robotic_timing" }

// NeedsSorted implements Detector.
func (RoboticTiming) NeedsSorted() bool { return false }

// Check implements Detector. When both talk times and gaps qualify, the
// more regular of the two is reported.
func (d RoboticTiming) Check(w *Window) (Finding, bool) {
	talkCV, talkMean, talkOK := d.spread(w.Answered, w.TalkSeconds, w.TalkSquares)
	gapCV, gapMean, gapOK := d.spread(w.Gaps, w.GapSum, w.GapSquares)
	if gapOK && (!talkOK || gapCV < talkCV) {
		return Finding{
			Score: (ratio(float64(w.Gaps), float64(d.MinCalls)) + below(gapCV, d.MaxCV)) / 2,
			Value: gapCV,
			Evidence: fmt.Sprintf("%d gaps between call starts vary by only %.1f%% around %.0f s in %s (threshold %.0f%% of at least %d)",
				w.Gaps, 100*gapCV, gapMean, human(w.Length), 100*d.MaxCV, d.MinCalls),
		}, true
	}
	if talkOK {
		return Finding{
			Score: (ratio(float64(w.Answered), float64(d.MinCalls)) + below(talkCV, d.MaxCV)) / 2,
			Value: talkCV,
			Evidence: fmt.Sprintf("talk times of %d answered calls vary by only %.1f%% around %.0f s in %s (threshold %.0f%% of at least %d)",
				w.Answered, 100*talkCV, talkMean, human(w.Length), 100*d.MaxCV, d.MinCalls),
		}, true
	}
	return Finding{}, false
}

// spread returns the coefficient of variation and mean of n values from
// their sum and sum of squares (population variance), and whether they
// qualify: enough values, a positive mean and a spread at most MaxCV.
func (d RoboticTiming) spread(n int, sum, squares float64) (cv, mean float64, ok bool) {
	if n < 2 || n < d.MinCalls {
		return 0, 0, false
	}
	mean = sum / float64(n)
	if !(mean > 0) || math.IsInf(mean, 0) {
		return 0, 0, false
	}
	// Rounding can leave a tiny negative variance when all values are
	// equal; that is no spread at all.
	cv = math.Sqrt(max(squares/float64(n)-mean*mean, 0)) / mean
	return cv, mean, cv <= d.MaxCV // false for NaN
}
