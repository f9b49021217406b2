package sink

import (
	"errors"
	"testing"
	"time"
)

// TestJitter keeps each wait between half and all of the backoff, so
// sinks that failed together spread their retries.
func TestJitter(t *testing.T) {
	f := func(wait time.Duration, r float64, want time.Duration) {
		t.Helper()
		if got := jitter(wait, r); got != want {
			t.Errorf("jitter(%v, %v) = %v, want %v", wait, r, got, want)
		}
	}
	f(100*time.Millisecond, 0, 50*time.Millisecond)
	f(100*time.Millisecond, 0.5, 75*time.Millisecond)
	f(100*time.Millisecond, 0.999999, 99999950*time.Nanosecond)
	f(30*time.Second, 0, 15*time.Second)
	f(0, 0.5, 0)
}

// TestHealth checks that Failing keeps the first failure's time and the
// last error, and that a success clears both.
func TestHealth(t *testing.T) {
	var h health
	at := time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC)
	first, second := errors.New("first"), errors.New("second")
	h.record(at, nil)
	h.record(at.Add(time.Second), first)
	h.record(at.Add(2*time.Second), second)
	if !h.since.Equal(at.Add(time.Second)) || h.err != second {
		t.Errorf("after two failures: since %v, err %v", h.since, h.err)
	}
	h.record(at.Add(3*time.Second), nil)
	if !h.since.IsZero() || h.err != nil {
		t.Errorf("after a success: since %v, err %v", h.since, h.err)
	}
}
