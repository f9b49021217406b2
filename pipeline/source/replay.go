package source

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
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
	given    bool
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
	return &Replay{Admin: a, from: start, to: end, log: log}, nil
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

// Next returns the whole stretch as one assignment, which is never
// revoked and commits nothing; then io.EOF.
func (r *Replay) Next(ctx context.Context) (*Assignment, error) {
	if r.given {
		return nil, io.EOF
	}
	r.given = true
	var starts []Start
	for p, from := range r.from {
		starts = append(starts, Start{Partition: p, Offset: from})
	}
	slices.SortFunc(starts, func(a, b Start) int { return a.Partition - b.Partition })
	a := newAssignment(r.Admin, starts, r.log)
	a.ends = r.to
	return a, nil
}

// EndOffsets returns where the stretch ends.
func (r *Replay) EndOffsets(context.Context, []int) (map[int]int64, error) { return r.to, nil }

// Close does nothing: the assignment holds the readers.
func (r *Replay) Close() error { return nil }
