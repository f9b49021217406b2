package traffic

import (
	"errors"
	"fmt"
	"time"
)

// Config describes the traffic Generate writes. Build it with DefaultConfig
// and override fields; Generate validates it before writing anything.
type Config struct {
	// Start is the first possible start_time of the traffic window.
	Start time.Time
	// Duration is the length of the traffic window. It must be at least
	// MinDuration so every planted burst fits inside it.
	Duration time.Duration

	// Subscribers is the number of ordinary (non-nuisance) callers.
	Subscribers int
	// CallsPerSubscriberHour is the mean of the Poisson number of calls an
	// ordinary subscriber makes per hour. Whatever the mean, no subscriber
	// makes more than MaxOrdinaryCallsPerHour calls in any hour, so ordinary
	// traffic never comes near a detector threshold.
	CallsPerSubscriberHour float64

	// FanOut, ShortCalls and Sequential are how many callers of each
	// nuisance kind to plant.
	FanOut     int
	ShortCalls int
	Sequential int

	// Seed selects the random stream; equal configs give identical output.
	Seed int64

	// DuplicateRate is the probability that a valid record is sent again
	// byte-identical: usually within a few hundred lines, sometimes tens of
	// thousands of lines later, to exercise de-duplication memory.
	DuplicateRate float64
	// MalformedRate is the fraction of lines that are malformed.
	MalformedRate float64
	// OutOfOrderRate is the probability that a record is held back and
	// emitted up to MaxOutOfOrder of event time after its place in order,
	// which is within the pipeline's 5-minute allowed lateness. Lateness
	// is true time, which is also each switch's own: a switch whose clock
	// is slow (Switch.Skew) writes times behind the other switches'.
	OutOfOrderRate float64
	// VeryLateCount is how many records of ordinary subscribers are emitted
	// 30 to 40 minutes of event time after their place in order, beyond
	// the allowed lateness. Fewer are emitted if the window is too short
	// to hold them; Truth.VeryLate has the real count.
	VeryLateCount int
	// FarFuture is how many valid records of ordinary subscribers are dated
	// 3 hours after the end of the window and emitted mid-stream.
	FarFuture int

	// InternationalShare is how many calls come in from abroad, as a
	// share of the ordinary subscribers' calls: each from its own foreign
	// number, through the international gateway.
	InternationalShare float64
	// WithheldRate is the probability that an ordinary subscriber's call
	// is made with the caller ID withheld. Whether the number still goes
	// with it depends on the switch (Switch.Withheld).
	WithheldRate float64

	// CountryCode is the E.164 country code of every number (86: China).
	CountryCode int
}

// Limits of the traffic model.
const (
	// MinDuration is the shortest window that holds a planted burst (at
	// most 40 minutes) with room to place it.
	MinDuration = 45 * time.Minute
	// MaxOrdinaryCallsPerHour caps an ordinary subscriber in any sliding
	// hour, far below every detector threshold.
	MaxOrdinaryCallsPerHour = 8
	// MaxOutOfOrder bounds how far behind the stream an out-of-order
	// record is emitted.
	MaxOutOfOrder = 4 * time.Minute
	// FarFutureOffset is how long after the window's end a far-future
	// record is dated.
	FarFutureOffset = 3 * time.Hour
)

// DefaultConfig returns the standard traffic shape: a one-hour window that
// started five hours ago (so the far-future record, 3 h past its end, is
// still in the past and valid), 100k subscribers, 20 planted callers of each kind,
// 1% of calls from abroad, 0.3% of subscribers' calls with the caller ID
// withheld, and light noise. It is the only place that reads the wall clock.
func DefaultConfig() Config {
	return Config{
		Start:                  time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour),
		Duration:               time.Hour,
		Subscribers:            100000,
		CallsPerSubscriberHour: 1.2,
		FanOut:                 20,
		ShortCalls:             20,
		Sequential:             20,
		Seed:                   1,
		DuplicateRate:          0.01,
		MalformedRate:          0.002,
		OutOfOrderRate:         0.05,
		VeryLateCount:          20,
		FarFuture:              1,
		InternationalShare:     0.01,
		WithheldRate:           0.003,
		CountryCode:            86,
	}
}

// End is the exclusive end of the traffic window.
func (c Config) End() time.Time { return c.Start.Add(c.Duration) }

// validate checks each field and the rules that span several of them.
func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Start.IsZero() {
		add("Start is zero: set it or use DefaultConfig")
	}
	if c.Duration < MinDuration {
		add("Duration %v is shorter than %v: planted bursts would not fit", c.Duration, MinDuration)
	}
	if c.Subscribers < 1 {
		add("Subscribers %d must be at least 1", c.Subscribers)
	}
	if c.CallsPerSubscriberHour < 0 || c.CallsPerSubscriberHour > MaxOrdinaryCallsPerHour {
		add("CallsPerSubscriberHour %v must be in [0, %d]", c.CallsPerSubscriberHour, MaxOrdinaryCallsPerHour)
	}
	if c.FanOut < 0 || c.ShortCalls < 0 || c.Sequential < 0 || c.VeryLateCount < 0 || c.FarFuture < 0 {
		add("planted, very-late and far-future counts must not be negative")
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"DuplicateRate", c.DuplicateRate}, {"MalformedRate", c.MalformedRate}, {"OutOfOrderRate", c.OutOfOrderRate},
		{"InternationalShare", c.InternationalShare}, {"WithheldRate", c.WithheldRate}} {
		if r.v < 0 || r.v >= 0.5 {
			add("%s %v must be in [0, 0.5)", r.name, r.v)
		}
	}
	if c.CountryCode < 1 || c.CountryCode > 999 {
		add("CountryCode %d must be 1 to 3 digits", c.CountryCode)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid traffic config: %w", err)
	}
	return nil
}
