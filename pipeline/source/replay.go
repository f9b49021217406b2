package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/config"
)

// Replay reads a stretch of the topic, from the first message produced at
// or after From to the last one before To, partition by partition and
// outside any consumer group: shadow runs re-read production traffic
// without touching production's offsets.
type Replay struct {
	*Admin
	from, to map[int]int64
	log      *slog.Logger

	start sync.Once
	msgs  chan kafka.Message
	errs  chan error
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

// NewReplay resolves the offsets of the stretch [from, to) by message
// timestamp.
func NewReplay(ctx context.Context, cfg config.Kafka, from, to time.Time, log *slog.Logger) (*Replay, error) {
	if !from.Before(to) {
		return nil, fmt.Errorf("replay: --from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	a, err := NewAdmin(cfg)
	if err != nil {
		return nil, err
	}
	parts, err := a.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	start, err := a.OffsetsAt(ctx, parts, from)
	if err != nil {
		return nil, err
	}
	end, err := a.OffsetsAt(ctx, parts, to)
	if err != nil {
		return nil, err
	}
	return &Replay{Admin: a, from: start, to: end, log: log, msgs: make(chan kafka.Message, 4096), errs: make(chan error, len(parts))}, nil
}

// Range returns, per partition, the first offset read and the offset
// after the last.
func (r *Replay) Range() (from, to map[int]int64) { return r.from, r.to }

// OffsetsAt returns, per partition, the offset of the first message whose
// timestamp is at or after t, or the end offset when there is none.
func (s *Admin) OffsetsAt(ctx context.Context, parts []int, t time.Time) (map[int]int64, error) {
	ends, err := s.EndOffsets(ctx, parts)
	if err != nil {
		return nil, err
	}
	req := make([]kafka.OffsetRequest, 0, len(parts))
	for _, p := range parts {
		req = append(req, kafka.TimeOffsetOf(p, t))
	}
	resp, err := s.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{s.cfg.Topic: req}})
	if err != nil {
		return nil, fmt.Errorf("offsets of %s at %s: %w", s.cfg.Topic, t.Format(time.RFC3339), err)
	}
	out := make(map[int]int64, len(parts))
	for p, end := range ends {
		out[p] = end
	}
	for _, po := range resp.Topics[s.cfg.Topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("offsets of %s/%d at %s: %w", s.cfg.Topic, po.Partition, t.Format(time.RFC3339), po.Error)
		}
		for off := range po.Offsets {
			if off >= 0 {
				out[po.Partition] = off
			}
		}
	}
	return out, nil
}

// Fetch returns the next message of the stretch. Messages of different
// partitions interleave; each partition's come in order.
func (r *Replay) Fetch(ctx context.Context) (kafka.Message, error) {
	r.start.Do(func() { r.launch() })
	select {
	case m := <-r.msgs:
		return m, nil
	case err := <-r.errs:
		return kafka.Message{}, err
	case <-ctx.Done():
		return kafka.Message{}, ctx.Err()
	}
}

// launch starts one reader per partition with something to read.
func (r *Replay) launch() {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	for p, from := range r.from {
		to := r.to[p]
		if from >= to {
			continue
		}
		r.wg.Go(func() {
			if err := r.read(ctx, p, from, to); err != nil && !errors.Is(err, context.Canceled) {
				r.errs <- err
			}
		})
	}
}

func (r *Replay) read(ctx context.Context, p int, from, to int64) error {
	rd := kafka.NewReader(kafka.ReaderConfig{
		Brokers: r.cfg.Brokers, Dialer: r.conn.Dialer(), Topic: r.cfg.Topic, Partition: p,
		MinBytes: 1, MaxBytes: r.cfg.MaxBytes, MaxWait: r.cfg.MaxWait,
	})
	defer rd.Close()
	if err := rd.SetOffset(from); err != nil {
		return fmt.Errorf("replay %s/%d from %d: %w", r.cfg.Topic, p, from, err)
	}
	for {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			return fmt.Errorf("replay %s/%d: %w", r.cfg.Topic, p, err)
		}
		if m.Offset >= to {
			return nil
		}
		select {
		case r.msgs <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
		if m.Offset == to-1 {
			return nil
		}
	}
}

// Commit does nothing: a replay belongs to no group.
func (r *Replay) Commit(context.Context, map[int]int64) error { return nil }

// EndOffsets returns where the stretch ends.
func (r *Replay) EndOffsets(context.Context, []int) (map[int]int64, error) { return r.to, nil }

// Committed returns where the stretch starts, as if it had been committed.
func (r *Replay) Committed(context.Context, []int) (map[int]int64, error) { return r.from, nil }

// Close stops the partition readers.
func (r *Replay) Close() error {
	if r.stop != nil {
		r.stop()
	}
	r.wg.Wait()
	return nil
}
