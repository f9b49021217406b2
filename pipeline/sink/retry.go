package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// firstBackoff is the wait after the first failure; it doubles up to
// sink.max_backoff.
const firstBackoff = 100 * time.Millisecond

// probeTimeout bounds a Probe whose context has no deadline, so that a
// readiness check answers while a dial would hang.
const probeTimeout = 2 * time.Second

// retry runs f until it succeeds, backing off with jitter from
// s.minBackoff to s.maxBackoff. It returns f's error at once when final
// says it is not worth retrying (nil final retries every error), and
// gives up only when ctx ends.
func (s *Sink) retry(ctx context.Context, what string, f func() error, final func(error) bool) error {
	wait := s.minBackoff
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			if attempt > 1 {
				s.log.Info("clickhouse recovered", "op", what, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		if final != nil && final(err) {
			return err
		}
		s.Retries.Add(1)
		sleep := jitter(wait, rand.Float64())
		s.log.Warn("clickhouse write failed, retrying", "op", what, "attempt", attempt, "wait", sleep, "err", err)
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(sleep):
		}
		wait = min(2*wait, s.maxBackoff)
	}
}

// jitter returns a wait between half of wait and wait, r being uniform in
// [0, 1): sinks that failed together do not retry in step, as they would
// after a restart of the server.
func jitter(wait time.Duration, r float64) time.Duration {
	return wait/2 + time.Duration(r*float64(wait-wait/2))
}

// health remembers whether inserts succeed.
type health struct {
	mu    sync.Mutex
	since time.Time // first failure since the last success; zero when writes succeed
	err   error     // last failure
}

// record notes the outcome of an insert attempt made at now.
func (h *health) record(now time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.since, h.err = time.Time{}, nil
		return
	}
	if h.since.IsZero() {
		h.since = now
	}
	h.err = err
}

// Failing tells whether the sink's inserts are failing: since is when the
// first failed attempt since the last successful insert was made, and err
// the last failure; both are zero while inserts succeed. Every attempt
// counts, including the data errors that a split then works around, so a
// readiness check should allow a grace period (a few times
// sink.max_backoff) before declaring the sink unready.
func (s *Sink) Failing() (since time.Time, err error) {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.since, s.health.err
}

// Probe pings ClickHouse once, without retrying, for a readiness endpoint
// that must answer quickly. ctx bounds it; without a deadline it is given
// two seconds. Probe does not change Failing: a server that answers pings
// can still refuse inserts (a missing table), so /readyz should check both.
func (s *Sink) Probe(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, probeTimeout)
		defer cancel()
	}
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("probe clickhouse: %w", err)
	}
	return nil
}
