package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/config"
)

// Group is a member of a consumer group reading one topic, one generation
// at a time. Each generation assigns it some partitions, with the offset
// and the metadata last committed for each; it reads them with a reader
// per partition and commits through the generation, so a member whose
// partitions were taken away can no longer commit over their new owner.
// When the group rebalances, the generation is revoked: the runner
// writes and commits what it processed, then closes the assignment, and
// the group moves on to the next generation.
type Group struct {
	*Admin
	cg   *kafka.ConsumerGroup
	slot *memberSlot
	log  *slog.Logger
}

// NewGroup joins cfg's group. A member that an earlier process on this
// host left behind when it was killed is made to leave first, so the
// group rebalances at once instead of waiting for its session to time
// out.
func NewGroup(ctx context.Context, cfg config.Kafka, log *slog.Logger) (*Group, error) {
	adm, err := NewAdmin(cfg)
	if err != nil {
		return nil, err
	}
	g := &Group{Admin: adm, log: log}
	g.slot, err = takeSlot(cfg.StateDir, cfg.Group)
	if err != nil {
		log.Warn("no member slot: a restart after a crash waits for the group's session timeout", "err", err)
	} else if dead := g.slot.member(); dead != "" {
		g.evict(ctx, dead)
	}
	g.cg, err = kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                     cfg.Group,
		Brokers:                cfg.Brokers,
		Dialer:                 adm.conn.Dialer(),
		Topics:                 []string{cfg.Topic},
		GroupBalancers:         []kafka.GroupBalancer{kafka.RangeGroupBalancer{}},
		HeartbeatInterval:      cfg.SessionTimeout / 10,
		SessionTimeout:         cfg.SessionTimeout,
		RebalanceTimeout:       cfg.RebalanceTimeout,
		JoinGroupBackoff:       time.Second,
		PartitionWatchInterval: 5 * time.Second,
		WatchPartitionChanges:  true,
		StartOffset:            kafka.FirstOffset,
		Timeout:                10 * time.Second,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			log.Warn("kafka group", "msg", fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		g.slot.release()
		return nil, fmt.Errorf("join group %s: %w", cfg.Group, err)
	}
	return g, nil
}

// evict asks the coordinator to drop member, left by a process that died.
func (g *Group) evict(ctx context.Context, member string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := g.client.LeaveGroup(ctx, &kafka.LeaveGroupRequest{GroupID: g.cfg.Group,
		Members: []kafka.LeaveGroupRequestMember{{ID: member}}})
	if err == nil && resp.Error != nil {
		err = resp.Error
	}
	if err == nil && len(resp.Members) > 0 && resp.Members[0].Error != nil {
		err = resp.Members[0].Error
	}
	switch {
	case err == nil:
		g.log.Info("a member left by an earlier process was made to leave the group", "group", g.cfg.Group)
	case errors.Is(err, kafka.UnknownMemberId):
		// It timed out already.
	default:
		g.log.Warn("could not make the member of an earlier process leave the group; it leaves when its session times out", "err", err)
	}
}

// Next waits for the group's next generation and returns this member's
// assignment in it. Errors Kafka calls temporary are waited out.
func (g *Group) Next(ctx context.Context) (*Assignment, error) {
	wait := 100 * time.Millisecond
	for {
		gen, err := g.cg.Next(ctx)
		if err == nil {
			return g.assignment(ctx, gen)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !temporary(err) && !errors.Is(err, kafka.RebalanceInProgress) && !unreachable(err) {
			return nil, fmt.Errorf("join group %s: %w", g.cfg.Group, err)
		}
		g.log.Warn("kafka group: temporary error, joining again", "group", g.cfg.Group, "err", err, "wait", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, maxFetchWait)
	}
}

// unreachable reports whether err says the brokers could not be reached
// or dropped the connection: a broker restarting, a network cut. A
// service that runs for months waits for them to come back; refused
// credentials and certificates were caught when it started.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// assignment reads what gen assigned: the partitions with the offsets and
// metadata last committed (kafka-go hands over the offsets only).
func (g *Group) assignment(ctx context.Context, gen *kafka.Generation) (*Assignment, error) {
	g.slot.set(gen.MemberID)
	var parts []int
	for _, pa := range gen.Assignments[g.cfg.Topic] {
		parts = append(parts, pa.ID)
	}
	committed, err := g.committed(ctx, parts)
	if err != nil {
		return nil, err
	}
	a := newAssignment(g.Admin, committed, g.log)
	a.gen = gen
	// The generation lives as long as this function runs: the group
	// joins the next one only once it returns, that is once the runner
	// closed the assignment after writing and committing.
	gen.Start(func(gctx context.Context) {
		select {
		case <-gctx.Done():
			a.revoke()
		case <-a.closed:
		}
		<-a.closed
	})
	return a, nil
}

// committed returns, for parts, the offset (next to read; -1 when none)
// and metadata last committed by the group.
func (g *Group) committed(ctx context.Context, parts []int) ([]Start, error) {
	out := make([]Start, 0, len(parts))
	if len(parts) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, topicWait)
	defer cancel()
	var resp *kafka.OffsetFetchResponse
	err := retry(ctx, func() (err error) {
		resp, err = g.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: g.cfg.Group, Topics: map[string][]int{g.cfg.Topic: parts}})
		if err == nil && !errors.Is(resp.Error, kafka.GroupIdNotFound) {
			err = resp.Error
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of group %s: %w", g.cfg.Group, err)
	}
	got := map[int]kafka.OffsetFetchPartition{}
	if resp != nil {
		for _, p := range resp.Topics[g.cfg.Topic] {
			if p.Error != nil {
				return nil, fmt.Errorf("committed offset of %s/%d: %w", g.cfg.Topic, p.Partition, p.Error)
			}
			got[p.Partition] = p
		}
	}
	for _, p := range parts {
		st := Start{Partition: p, Offset: -1}
		if c, ok := got[p]; ok && c.CommittedOffset >= 0 {
			st.Offset, st.Metadata = c.CommittedOffset, c.Metadata
		}
		out = append(out, st)
	}
	return out, nil
}

// Close leaves the group and frees the member slot.
func (g *Group) Close() error {
	err := g.cg.Close()
	g.slot.release()
	return err
}

// Start is an assigned partition: where its group last committed (the
// offset next to read, -1 when nothing was committed) and what with.
type Start struct {
	Partition int
	Offset    int64
	Metadata  string
}

// Commit is what is committed for one partition: the offset next to read
// and the progress saved with it.
type Commit struct {
	Offset   int64
	Metadata string
}

// ErrRevoked is returned by Fetch once the assignment was taken back.
var ErrRevoked = errors.New("partitions revoked by a rebalance")

// ErrFenced is returned by Commit when the group has moved to a newer
// generation: the partitions may belong to another member, whose commits
// must not be overwritten. The rows are written; whoever reads the
// partitions next re-reads the messages and stores none of them twice.
var ErrFenced = errors.New("commit refused: the group moved on to a newer generation")

// Assignment is the partitions a source hands to the runner until it
// takes them back: where each was left, a reader per partition, and
// commits. A group's assignments are revoked by rebalances; a replay's
// never.
type Assignment struct {
	adm    *Admin
	starts []Start
	gen    *kafka.Generation // nil outside a group
	log    *slog.Logger

	msgs       chan kafka.Message
	errs       chan error
	stop       context.CancelFunc
	wg         sync.WaitGroup
	revoked    chan struct{}
	revokeOnce sync.Once
	closed     chan struct{}
	closeOnce  sync.Once
	// ends bounds reading per partition (replays); nil reads on.
	ends map[int]int64
}

func newAssignment(adm *Admin, starts []Start, log *slog.Logger) *Assignment {
	return &Assignment{adm: adm, starts: starts, log: log, msgs: make(chan kafka.Message, 4096),
		errs: make(chan error, len(starts)+1), revoked: make(chan struct{}), closed: make(chan struct{})}
}

// Partitions returns the assigned partitions with where their group left
// them.
func (a *Assignment) Partitions() []Start { return a.starts }

// Revoked is closed when the group takes the partitions back.
func (a *Assignment) Revoked() <-chan struct{} { return a.revoked }

func (a *Assignment) revoke() { a.revokeOnce.Do(func() { close(a.revoked) }) }

// Read starts reading each assigned partition at from[partition] (an
// offset, or kafka.FirstOffset; the committed offset or the first when
// from has none), handing each message to put, which may block to hold a
// partition back; nil put queues them for Fetch. Reader errors come out
// of Fetch, or of Err.
func (a *Assignment) Read(from map[int]int64, put func(context.Context, kafka.Message) error) {
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	if put == nil {
		put = func(ctx context.Context, m kafka.Message) error {
			select {
			case a.msgs <- m:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	for _, st := range a.starts {
		off, ok := from[st.Partition]
		if !ok {
			off = kafka.FirstOffset
			if st.Offset >= 0 {
				off = st.Offset
			}
		}
		if end, bounded := a.ends[st.Partition]; bounded && off >= end {
			continue
		}
		a.wg.Go(func() {
			if err := a.read(ctx, st.Partition, off, put); err != nil && ctx.Err() == nil {
				a.errs <- err
			}
		})
	}
}

func (a *Assignment) read(ctx context.Context, p int, from int64, put func(context.Context, kafka.Message) error) error {
	cfg := a.adm.cfg
	rd := kafka.NewReader(kafka.ReaderConfig{
		Brokers: cfg.Brokers, Dialer: a.adm.conn.Dialer(), Topic: cfg.Topic, Partition: p,
		MinBytes: 1, MaxBytes: cfg.MaxBytes, MaxWait: cfg.MaxWait, ReadBatchTimeout: cfg.MaxWait + 5*time.Second,
		QueueCapacity: 1024,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			a.log.Warn("kafka", "partition", p, "msg", fmt.Sprintf(msg, args...))
		}),
	})
	defer rd.Close()
	if err := rd.SetOffset(from); err != nil {
		return fmt.Errorf("read %s/%d from %d: %w", cfg.Topic, p, from, err)
	}
	end, bounded := a.ends[p]
	wait := 100 * time.Millisecond
	for {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			// A broker that dies leaves its partitions to another; the
			// reader finds the new leader while we wait.
			if ctx.Err() != nil || !temporary(err) && !unreachable(err) {
				return fmt.Errorf("fetch from %s/%d: %w", cfg.Topic, p, err)
			}
			a.log.Warn("kafka: temporary error, fetching again", "topic", cfg.Topic, "partition", p, "err", err, "wait", wait)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait = min(2*wait, maxFetchWait)
			continue
		}
		if bounded && m.Offset >= end {
			return nil
		}
		if err := put(ctx, m); err != nil {
			return err
		}
		if bounded && m.Offset == end-1 {
			return nil
		}
	}
}

// Err delivers the first error of a partition's reader.
func (a *Assignment) Err() <-chan error { return a.errs }

// Fetch returns the next message of any assigned partition (when Read was
// given no put); each partition's come in order. After a revoke it
// returns ErrRevoked.
func (a *Assignment) Fetch(ctx context.Context) (kafka.Message, error) {
	select {
	case m := <-a.msgs:
		return m, nil
	case err := <-a.errs:
		return kafka.Message{}, err
	case <-a.revoked:
		return kafka.Message{}, ErrRevoked
	case <-ctx.Done():
		return kafka.Message{}, ctx.Err()
	}
}

// Commit commits, per partition, the offset next to read and the progress
// saved with it, fenced by the generation: once the group has moved on it
// fails with ErrFenced and commits nothing.
func (a *Assignment) Commit(ctx context.Context, next map[int]Commit) error {
	if a.gen == nil || len(next) == 0 {
		return nil
	}
	var offs []kafka.OffsetCommit
	for p, c := range next {
		if c.Offset > 0 {
			offs = append(offs, kafka.OffsetCommit{Partition: p, Offset: c.Offset, Metadata: c.Metadata})
		}
	}
	if len(offs) == 0 {
		return nil
	}
	topic := a.adm.cfg.Topic
	resp, err := a.adm.client.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: a.adm.cfg.Group,
		GenerationID: int(a.gen.ID), MemberID: a.gen.MemberID, Topics: map[string][]kafka.OffsetCommit{topic: offs}})
	if err != nil {
		return fmt.Errorf("commit offsets of %s: %w", topic, err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error == nil {
			continue
		}
		if errors.Is(p.Error, kafka.IllegalGeneration) || errors.Is(p.Error, kafka.UnknownMemberId) ||
			errors.Is(p.Error, kafka.RebalanceInProgress) || errors.Is(p.Error, kafka.FencedInstanceID) {
			a.revoke()
			return fmt.Errorf("commit %s/%d: %w (%w)", topic, p.Partition, ErrFenced, p.Error)
		}
		return fmt.Errorf("commit %s/%d: %w", topic, p.Partition, p.Error)
	}
	return nil
}

// Close stops the readers and hands the partitions back: the group may
// move to its next generation.
func (a *Assignment) Close() {
	if a.stop != nil {
		a.stop()
	}
	a.wg.Wait()
	a.closeOnce.Do(func() { close(a.closed) })
}
