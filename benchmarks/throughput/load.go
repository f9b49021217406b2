package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// load makes the latency run's CDRs: JSON lines as docs/cdr-format.md
// describes them, dated now, keyed by caller as traffic.Produce keys them.
type load struct {
	id      string // makes call ids unique to this run
	seq     uint64 // CDRs made
	calls   uint64 // ordinary calls made
	pool    uint64 // ordinary subscribers
	maxRing int    // seconds; with maxTalk, keeps a subscriber's two calls apart
	maxTalk int
	rnd     *rand.Rand
}

// newLoad sizes the ordinary population so that, at rate for duration,
// each subscriber makes one or two calls (1.5 on average), a pool's
// length (duration/1.5) apart: like a real network, every caller is seen
// a few times and none comes near a threshold. A call ends before the
// same subscriber's next one starts: the engine promotes a caller with
// two overlapping calls to full window state at once (for
// concurrent_calls), which ordinary subscribers on a real network do not
// need, so overlapping calls would measure another workload.
func newLoad(id string, rate int, duration time.Duration) *load {
	pool := uint64(float64(rate)*duration.Seconds()/1.5) + 1
	gap := int(float64(pool) / float64(rate)) // whole seconds between a subscriber's calls, at least
	ring := max(1, min(8, gap/3))
	talk := max(1, min(290, gap-ring-1))
	return &load{id: id, pool: pool, maxRing: ring, maxTalk: talk, rnd: rand.New(rand.NewPCG(1, 2))}
}

// background is one call of an ordinary subscriber.
func (l *load) background(now time.Time) kafka.Message {
	caller := fmt.Appendf(nil, "+86138%08d", l.calls%l.pool)
	l.calls++
	return l.message(caller, l.randomCallee(), now, 1+l.rnd.IntN(l.maxTalk))
}

// warmUp is the i-th warm-up call, each from a subscriber of its own
// outside the measured population.
func (l *load) warmUp(i int, now time.Time) kafka.Message {
	return l.message(fmt.Appendf(nil, "+86137%08d", i), l.randomCallee(), now, 1+l.rnd.IntN(l.maxTalk))
}

func (l *load) randomCallee() []byte {
	return fmt.Appendf(nil, "+86139%08d", l.rnd.IntN(100_000_000))
}

// abuserCall is the call-th call of planted abuser a, each to a callee
// it has not called before. Callees are scattered (7919 is prime to
// 10000, so the mapping is one-to-one) rather than consecutive, so the
// abuser shows fan-out without also looking like a range scanner.
func (l *load) abuserCall(a, call int, now time.Time) kafka.Message {
	callee := fmt.Appendf(nil, "+86150%04d%04d", a, call*7919%maxPlanted)
	return l.message([]byte(abuserNumber(a)), callee, now, 5+l.rnd.IntN(20))
}

// abuserNumber is planted abuser a's number in E.164, as flagged_numbers
// stores it. Abusers have a prefix of their own, so no ordinary
// subscriber can be mistaken for one.
func abuserNumber(a int) string { return fmt.Sprintf("+86170%08d", a) }

// maxPlanted bounds abusers and calls per abuser to the four digits each
// has in abuser callee numbers.
const maxPlanted = 10000

// message encodes one answered call starting now.
func (l *load) message(caller, callee []byte, now time.Time, talk int) kafka.Message {
	l.seq++
	b := make([]byte, 0, 256)
	b = append(b, `{"call_id":"`...)
	b = append(b, l.id...)
	b = append(b, '-')
	b = strconv.AppendUint(b, l.seq, 10)
	b = append(b, `","caller":"`...)
	b = append(b, caller...)
	b = append(b, `","callee":"`...)
	b = append(b, callee...)
	b = append(b, `","start_time":"`...)
	b = now.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","duration":`...)
	b = strconv.AppendInt(b, int64(talk), 10)
	b = append(b, `,"ring_duration":`...)
	b = strconv.AppendInt(b, int64(1+l.rnd.IntN(l.maxRing)), 10)
	b = append(b, `,"disposition":"answered","cause":16,"switch_id":"BENCH-MSC-01"}`...)
	return kafka.Message{Key: caller, Value: b}
}

// plannedCall is one call of a planted abuser, due at an offset from the
// start of the measured run.
type plannedCall struct {
	due           time.Duration
	abuser, index int
}

// schedule plans each abuser's threshold calls, each to a new callee,
// over a ramp that ends with its crossing call. Crossings are spread
// evenly between the end of the first ramp and the last tenth of the run,
// so they happen while the pipeline is under steady load, at different
// moments of its flush cycle, and with time left to be seen.
func schedule(abusers, threshold int, duration time.Duration) []plannedCall {
	ramp := min(5*time.Second, duration/4)
	span := duration - ramp - duration/10
	out := make([]plannedCall, 0, abusers*threshold)
	for a := range abusers {
		cross := ramp + time.Duration((float64(a)+0.5)/float64(abusers)*float64(span))
		for i := range threshold {
			due := cross - ramp + time.Duration(float64(ramp)*float64(i+1)/float64(threshold))
			out = append(out, plannedCall{due: due, abuser: a, index: i})
		}
	}
	slices.SortStableFunc(out, func(x, y plannedCall) int { return cmp.Compare(x.due, y.due) })
	return out
}

// tickEvery is the producer's pacing step: each step sends what the
// target rate says is due, so CDRs leave in small, even bursts.
const tickEvery = 10 * time.Millisecond

// newLoadWriter returns a synchronous, caller-keyed writer whose partial
// batches wait at most 5 ms, so producing adds little to the latency.
func newLoadWriter(brokers []string, topic string, perTick int) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		BatchSize:    max(100, perTick),
		BatchTimeout: 5 * time.Millisecond,
		RequiredAcks: kafka.RequireAll,
	}
}

// loadResult is what the producer did.
type loadResult struct {
	sent    int64
	elapsed time.Duration
	// crossed holds, per abuser, the time just before the WriteMessages
	// call that carried its threshold-crossing CDR began: the earliest
	// moment it can be said to be produced, so latency is not flattered.
	crossed []time.Time
	writes  []time.Duration // each WriteMessages call
}

// produceLoad sends CDRs at rate for duration: the abusers' planned calls
// when due and ordinary calls to make up the rate. A step that falls
// behind (a slow acknowledgement) is caught up in the next ones.
func produceLoad(ctx context.Context, w *kafka.Writer, l *load, plan []plannedCall, threshold, rate, abusers int, duration time.Duration) (loadResult, error) {
	res := loadResult{crossed: make([]time.Time, abusers)}
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	maxPerWrite := max(1, rate/10)
	next := 0
	var msgs []kafka.Message
	var crossing []int
	start := time.Now()
	for el := time.Duration(0); el < duration; el = time.Since(start) {
		now := time.Now()
		msgs, crossing = msgs[:0], crossing[:0]
		for ; next < len(plan) && plan[next].due <= el; next++ {
			p := plan[next]
			msgs = append(msgs, l.abuserCall(p.abuser, p.index, now))
			if p.index == threshold-1 {
				crossing = append(crossing, p.abuser)
			}
		}
		due := int64(float64(rate)*el.Seconds()) - res.sent
		for n := int64(len(msgs)); n < min(due, int64(maxPerWrite)); n++ {
			msgs = append(msgs, l.background(now))
		}
		if err := writeStep(ctx, w, msgs, crossing, &res); err != nil {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
	}
	res.elapsed = time.Since(start)
	if next < len(plan) {
		return res, fmt.Errorf("BUG: %d planned abuser calls were not due by the end of the run", len(plan)-next)
	}
	return res, nil
}

// writeStep writes one step's messages and records when the crossing
// CDRs among them were produced.
func writeStep(ctx context.Context, w *kafka.Writer, msgs []kafka.Message, crossing []int, res *loadResult) error {
	if len(msgs) == 0 {
		return nil
	}
	t0 := time.Now()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("produce %d CDRs after %d: %w", len(msgs), res.sent, err)
	}
	res.writes = append(res.writes, time.Since(t0))
	for _, a := range crossing {
		res.crossed[a] = t0
	}
	res.sent += int64(len(msgs))
	return nil
}
