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

	// OneRing counts unanswered attempts released by the caller after
	// ringing at most the one-ring limit (wangiri bait).
	OneRing int
	// Invalid counts attempts to unallocated or invalid numbers: Q.850
	// cause 1 or 28, or a callee outside the numbering plan.
	Invalid int
	// PeakPerMinute is the most calls started within one minute.
	PeakPerMinute int
	// MaxConcurrent is the most of this caller's calls in progress at
	// once. Mobile says whether the caller is a mobile number, the only
	// kind a handset limits to one or two calls.
	MaxConcurrent int
	Mobile        bool
	// TalkSquares is the sum of squared talk times (seconds) of answered
	// calls, for the spread of talk times.
	TalkSquares float64
	// Gaps, GapSum and GapSquares describe the seconds between
	// consecutive call starts of the window, in start order; the engine
	// measures them when the window closes (Closing).
	Gaps       int
	GapSum     float64
	GapSquares float64
	// Callbacks counts distinct callees of the window who called the
	// caller back while the engine held its state.
	Callbacks int
	// Spoofed counts calls with a domestic caller ID that arrived on an
	// international trunk, or a caller ID outside the numbering plan;
	// BadID those of the second kind.
	Spoofed int
	BadID   int
	// Numbers is the number of distinct calling numbers, for a window of
	// a trunk or number block (0 for one caller's window).
	Numbers int
	// Closing is true when the window has ended and this is its final
	// summary; detectors that need the whole window (no_callback) wait
	// for it.
	Closing bool
}

// Target summarises the calls one callee received in a short span, for
// call bombing: the victim is protected, the callers are flagged.
type Target struct {
	// Span is the length of time the counts cover.
	Span time.Duration
	// Calls counts calls to the callee in the span; Callers the distinct
	// numbers that made them.
	Calls   int
	Callers int
	// CallerCalls is how many of those calls the caller being judged made.
	CallerCalls int
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
