package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Liveness and readiness, for the /livez and /readyz endpoints of a
// service that runs for months under an orchestrator: live says whether
// restarting the process could help, ready whether it is doing its job.

// livenessTimeout is how long the run loop may go without turning, while
// it is not waiting for ClickHouse, before the process is reported dead.
// The loop turns at least every 50 ms when idle.
const livenessTimeout = 2 * time.Minute

// writeGrace is how long inserts may keep failing before the pipeline is
// reported not ready: a retry after a hiccup, or the split of an insert
// around refused rows, recovers well within it.
const writeGrace = 10 * time.Second

// health is what the run loop tells the endpoints.
type health struct {
	running atomic.Bool
	beat    atomic.Int64 // Unix nanoseconds of the loop's last turn
	waiting atomic.Bool  // the loop waits for the writer (back-pressure)
}

func (h *health) turn(now time.Time) { h.beat.Store(now.UnixNano()) }

// Live reports an error when the run loop is stuck: it has not turned for
// livenessTimeout and is not waiting for ClickHouse. Waiting for a slow
// or absent ClickHouse is back-pressure, not a fault a restart mends, so
// it does not count.
func (r *Runner) Live() error {
	if !r.h.running.Load() || r.h.waiting.Load() {
		return nil
	}
	if age := r.opts.Now().Sub(time.Unix(0, r.h.beat.Load())); age > livenessTimeout {
		return fmt.Errorf("the run loop has not turned for %s", age.Round(time.Second))
	}
	return nil
}

// Ready reports what stops the pipeline from doing its job, if anything:
// not running, Kafka or ClickHouse not answering, or inserts failing for
// longer than writeGrace (ClickHouse may answer pings while refusing
// inserts). It asks Kafka and ClickHouse once each, bounded by ctx.
func (r *Runner) Ready(ctx context.Context) error {
	var errs []error
	if !r.h.running.Load() {
		errs = append(errs, errors.New("not consuming (starting or stopped)"))
	}
	if err := r.src.Probe(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := r.sink.Probe(ctx); err != nil {
		errs = append(errs, err)
	}
	if since, err := r.sink.Failing(); !since.IsZero() && r.opts.Now().Sub(since) > writeGrace {
		errs = append(errs, fmt.Errorf("clickhouse inserts failing since %s: %w", since.UTC().Format(time.RFC3339), err))
	}
	return errors.Join(errs...)
}
