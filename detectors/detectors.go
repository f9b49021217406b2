// Package detectors holds the nuisance-call traits cdrpipe looks for. Each
// detector is a small pure type: it reads one caller's summary of one
// window and says whether its threshold is crossed, with a score and the
// evidence in plain words. The engine owns windows and state.
package detectors

import (
	"fmt"
	"time"
)

// Window summarises one caller's calls in one window.
type Window struct {
	// Length is the window's length, for evidence text.
	Length time.Duration
	// Calls counts attempts; Answered those answered; Short the answered
	// ones under the short-call limit.
	Calls    int
	Answered int
	Short    int
	// TalkSeconds is the sum of talk time of answered calls.
	TalkSeconds float64
	// Distinct is the number of distinct callees.
	Distinct int
	// Sorted holds the distinct callees as numbers, ascending, when the
	// engine computed them (only sequential dialing needs them).
	Sorted []uint64
}

// Finding is a crossed threshold.
type Finding struct {
	// Score is how far past the threshold, from 0.5 at the threshold
	// towards 1.
	Score float64
	// Value is the measured value that was compared to the threshold.
	Value float64
	// Evidence says in plain words what was measured against what.
	Evidence string
}

// Detector is one trait.
type Detector interface {
	// Name is the detector's name as stored in flagged_numbers.
	Name() string
	// Check reports a finding when w crosses the threshold.
	Check(w *Window) (Finding, bool)
	// NeedsSorted reports whether Check reads w.Sorted.
	NeedsSorted() bool
}

// ratio maps a measured value v and threshold t (both positive) to a
// score of 0.5 at the threshold rising towards 1.
func ratio(v, t float64) float64 {
	if v <= 0 || t <= 0 {
		return 0
	}
	return v / (v + t)
}

// human writes a window length the way an analyst says it.
func human(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
