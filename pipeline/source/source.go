// Package source reads CDR messages from a Kafka topic as a consumer
// group member, one generation at a time, with explicit commits only: an
// offset is committed when the pipeline says every row derived from the
// messages before it is safely in ClickHouse, never automatically, and
// only by the member the partition is assigned to.
package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/config"
)

// Admin answers questions about the topic and the group without joining
// the group (a reader would, and its arrival would rebalance the others).
type Admin struct {
	cfg    config.Kafka
	conn   Connection
	client *kafka.Client
}

// NewAdmin returns an Admin for cfg's topic and group.
func NewAdmin(cfg config.Kafka) (*Admin, error) {
	conn, err := Connect(cfg)
	if err != nil {
		return nil, err
	}
	return &Admin{cfg: cfg, conn: conn,
		client: &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second, Transport: conn.Transport()}}, nil
}

// maxFetchWait caps the wait between fetches after temporary errors.
const maxFetchWait = 5 * time.Second

// temporary reports whether err is a Kafka error the broker says may go
// away on its own.
func temporary(err error) bool {
	var ke kafka.Error
	return errors.As(err, &ke) && ke.Temporary()
}

// probeTimeout bounds a Probe whose context has no deadline.
const probeTimeout = 2 * time.Second

// Probe asks a broker once, without retrying, for the topic's metadata:
// the broker answers and the topic exists with leaders. It is for a
// readiness endpoint, which must answer quickly.
func (s *Admin) Probe(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, probeTimeout)
		defer cancel()
	}
	md, err := s.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{s.cfg.Topic}})
	if err != nil {
		return fmt.Errorf("probe kafka: %w", err)
	}
	for _, t := range md.Topics {
		if t.Name == s.cfg.Topic {
			if t.Error != nil {
				return fmt.Errorf("probe kafka: topic %s: %w", s.cfg.Topic, t.Error)
			}
			return nil
		}
	}
	return fmt.Errorf("probe kafka: topic %s not found", s.cfg.Topic)
}

// Partitions lists the topic's partitions.
func (s *Admin) Partitions(ctx context.Context) ([]int, error) {
	ctx, cancel := context.WithTimeout(ctx, topicWait)
	defer cancel()
	if err := retry(ctx, func() error { return s.leaders(ctx) }); err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", s.cfg.Topic, err)
	}
	md, err := s.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{s.cfg.Topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", s.cfg.Topic, err)
	}
	for _, t := range md.Topics {
		if t.Name != s.cfg.Topic {
			continue
		}
		if t.Error != nil {
			return nil, fmt.Errorf("metadata of %s: %w", s.cfg.Topic, t.Error)
		}
		var ps []int
		for _, p := range t.Partitions {
			ps = append(ps, p.ID)
		}
		return ps, nil
	}
	return nil, fmt.Errorf("topic %s not found", s.cfg.Topic)
}

// EndOffsets returns, per partition, the offset the next produced message
// will get: a consumer that has read up to it is caught up.
func (s *Admin) EndOffsets(ctx context.Context, parts []int) (map[int]int64, error) {
	req := make([]kafka.OffsetRequest, 0, len(parts))
	for _, p := range parts {
		req = append(req, kafka.LastOffsetOf(p))
	}
	ctx, cancel := context.WithTimeout(ctx, topicWait)
	defer cancel()
	out := make(map[int]int64, len(parts))
	err := retry(ctx, func() error {
		resp, err := s.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{s.cfg.Topic: req}})
		if err != nil {
			return err
		}
		for _, po := range resp.Topics[s.cfg.Topic] {
			if po.Error != nil {
				return po.Error
			}
			out[po.Partition] = po.LastOffset
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", s.cfg.Topic, err)
	}
	return out, nil
}

// Committed returns the group's committed offsets (next to read) per
// partition; partitions without a commit are absent.
func (s *Admin) Committed(ctx context.Context, parts []int) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, topicWait)
	defer cancel()
	var resp *kafka.OffsetFetchResponse
	err := retry(ctx, func() (err error) {
		resp, err = s.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{
			GroupID: s.cfg.Group,
			Topics:  map[string][]int{s.cfg.Topic: parts},
		})
		if err == nil && !errors.Is(resp.Error, kafka.GroupIdNotFound) {
			err = resp.Error
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of group %s: %w", s.cfg.Group, err)
	}
	if errors.Is(resp.Error, kafka.GroupIdNotFound) {
		// Some brokers answer this for a group that never committed;
		// Apache Kafka answers "no offset". Both mean nothing committed.
		return map[int]int64{}, nil
	}
	out := make(map[int]int64)
	for _, p := range resp.Topics[s.cfg.Topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("committed offset of %s/%d: %w", s.cfg.Topic, p.Partition, p.Error)
		}
		if p.CommittedOffset >= 0 {
			out[p.Partition] = p.CommittedOffset
		}
	}
	return out, nil
}

// Reachable checks that a broker accepts connections within timeout.
func Reachable(ctx context.Context, brokers []string, timeout time.Duration) error {
	var errs []error
	for _, b := range brokers {
		d := net.Dialer{Timeout: timeout}
		c, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			c.Close()
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("no kafka broker reachable at %v: %w", brokers, errors.Join(errs...))
}

// EnsureTopic creates topic with partitions (replication 1) unless it
// exists, then waits until every partition has a leader: a topic that was
// just created is not yet writable, and a fresh broker also needs a moment.
// An existing topic is left as it is, whatever its partition count.
func EnsureTopic(ctx context.Context, brokers []string, topic string, partitions int) error {
	return EnsureTopicOn(ctx, Plain(brokers), topic, partitions)
}

// EnsureTopicOn is EnsureTopic through conn (TLS and SASL for a secured
// cluster).
func EnsureTopicOn(ctx context.Context, conn Connection, topic string, partitions int) error {
	return EnsureTopicSpec(ctx, conn, TopicSpec{Name: topic, Partitions: partitions, Replication: 1})
}

// TopicSpec is a topic to create.
type TopicSpec struct {
	Name        string
	Partitions  int
	Replication int
	// Retention is how long the brokers keep messages; zero leaves the
	// brokers' default.
	Retention time.Duration
}

// EnsureTopicSpec creates the topic t describes unless it exists, then
// waits until every partition has a leader. An existing topic is left
// as it is.
func EnsureTopicSpec(ctx context.Context, conn Connection, t TopicSpec) error {
	topic, partitions := t.Name, t.Partitions
	if partitions < 1 || t.Replication < 1 {
		return fmt.Errorf("ensure topic %s: %d partitions and replication %d must be at least 1", topic, partitions, t.Replication)
	}
	tc := kafka.TopicConfig{Topic: topic, NumPartitions: partitions, ReplicationFactor: t.Replication}
	if t.Retention > 0 {
		tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: fmt.Sprint(t.Retention.Milliseconds())}}
	}
	ctx, cancel := context.WithTimeout(ctx, topicWait)
	defer cancel()
	err := retry(ctx, func() error {
		ctrl, err := dialController(ctx, conn)
		if err != nil {
			return err
		}
		defer ctrl.Close()
		setDeadline(ctx, ctrl)
		err = ctrl.CreateTopics(tc)
		if errors.Is(err, kafka.TopicAlreadyExists) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create topic %s with %d partitions: %w", topic, partitions, err)
	}
	adm := &Admin{cfg: config.Kafka{Brokers: conn.Brokers, Topic: topic}, conn: conn,
		client: &kafka.Client{Addr: kafka.TCP(conn.Brokers...), Timeout: 10 * time.Second, Transport: conn.Transport()}}
	if err := retry(ctx, func() error { return adm.leaders(ctx) }); err != nil {
		return fmt.Errorf("topic %s has no leader for every partition: %w", topic, err)
	}
	return nil
}

// topicWait bounds how long EnsureTopic and metadata calls wait for a
// broker that is still settling.
const topicWait = 60 * time.Second

// leaders fails with a temporary error until every partition of the topic
// has a leader.
func (s *Admin) leaders(ctx context.Context) error {
	md, err := s.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{s.cfg.Topic}})
	if err != nil {
		return err
	}
	for _, t := range md.Topics {
		if t.Name != s.cfg.Topic {
			continue
		}
		if t.Error != nil {
			return t.Error
		}
		if len(t.Partitions) == 0 {
			return kafka.LeaderNotAvailable
		}
		for _, p := range t.Partitions {
			if p.Error != nil {
				return p.Error
			}
			if p.Leader.Host == "" {
				return kafka.LeaderNotAvailable
			}
		}
		return nil
	}
	return kafka.UnknownTopicOrPartition
}

// retry runs f until it succeeds, fails with an error Kafka does not call
// temporary (nor a broker out of reach), or ctx ends. A broker that just started, or a group whose
// coordinator is still loading, answers with temporary errors for a while.
func retry(ctx context.Context, f func() error) error {
	wait := 50 * time.Millisecond
	for {
		err := f()
		if err == nil || !temporary(err) && !unreachable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still failing when giving up: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// dialController asks the brokers in turn for the controller and connects
// to it, since only the controller may create topics.
func dialController(ctx context.Context, c Connection) (*kafka.Conn, error) {
	var errs []error
	d := c.Dialer()
	for _, b := range c.Brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err != nil {
			errs = append(errs, fmt.Errorf("dial %s: %w", b, err))
			continue
		}
		setDeadline(ctx, conn)
		ctrl, err := conn.Controller()
		conn.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("find controller via %s: %w", b, err))
			continue
		}
		addr := net.JoinHostPort(ctrl.Host, strconv.Itoa(ctrl.Port))
		cc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("dial controller %s: %w", addr, err))
			continue
		}
		return cc, nil
	}
	if len(errs) == 0 {
		return nil, errors.New("no brokers given")
	}
	return nil, errors.Join(errs...)
}

// setDeadline carries ctx's deadline to conn, whose requests take no
// context.
func setDeadline(ctx context.Context, conn *kafka.Conn) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
}
