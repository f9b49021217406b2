package detectors

import "fmt"

// CallBombing flags the callers of a number flooded with calls in a short
// span (harassment, or drowning a victim's phone while an account is
// taken over). It is judged per callee, from a Target, not per caller
// window: the victim is protected and each caller taking part is flagged.
type CallBombing struct {
	// MinCalls is the number of calls one callee receives in the span that
	// flags.
	MinCalls int
	// MinPerCaller is how many of those calls the caller being judged must
	// have made, so a friend who rang once during the flood is not flagged.
	MinPerCaller int
	// MinCallsPerCaller is the least calls per distinct caller the callee
	// received: a busy hotline receives hundreds of calls from hundreds
	// of people, and one of them redialling it is not bombing it.
	MinCallsPerCaller float64
}

// Name implements Detector.
func (CallBombing) Name() string { return "call_bombing" }

// NeedsSorted implements Detector.
func (CallBombing) NeedsSorted() bool { return false }

// Check implements Detector. It never flags: call bombing is judged per
// target with CheckTarget.
func (CallBombing) Check(*Window) (Finding, bool) { return Finding{}, false }

// CheckTarget reports a finding for the caller being judged when the
// callee received at least MinCalls calls in the span, at least
// MinCallsPerCaller per distinct caller, and at least MinPerCaller of
// them came from this caller. Value is the callee's calls, the volume
// that makes it bombing.
func (d CallBombing) CheckTarget(t *Target) (Finding, bool) {
	if t.Calls == 0 || t.CallerCalls == 0 || t.Calls < d.MinCalls || t.CallerCalls < d.MinPerCaller {
		return Finding{}, false
	}
	if t.Callers > 0 && float64(t.Calls) < d.MinCallsPerCaller*float64(t.Callers) {
		return Finding{}, false // many people ringing a busy number
	}
	return Finding{
		Score: (ratio(float64(t.Calls), float64(d.MinCalls)) + ratio(float64(t.CallerCalls), float64(d.MinPerCaller))) / 2,
		Value: float64(t.Calls),
		Evidence: fmt.Sprintf("one callee received %d calls from %d numbers within %s, %d of them from this number (threshold %d, at least %d from one number)",
			t.Calls, t.Callers, human(t.Span), t.CallerCalls, d.MinCalls, d.MinPerCaller),
	}, true
}
