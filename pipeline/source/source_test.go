package source

// These tests run an in-process Kafka-protocol broker (franz-go's kfake)
// so that the group member, its per-partition readers, explicit commits
// through the generation, resumption and the admin look-ups are
// exercised against a real wire protocol without any external service.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/cdrpipe/cdrpipe/config"
)

const (
	testTopic      = "cdrs"
	testPartitions = 4
	// testTimeout bounds every test's broker round trips, so a protocol
	// mismatch fails the test instead of hanging it.
	testTimeout = 60 * time.Second
)

// perPartition is how many messages each test produces to each partition;
// uneven counts catch offsets attributed to the wrong partition.
var perPartition = map[int]int{0: 5, 1: 7, 2: 3, 3: 9}

// total is the sum of perPartition.
func total(counts map[int]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// newCluster starts a one-broker kfake cluster seeded with the test topic
// and returns its listen addresses; the cluster is closed when t ends.
func newCluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(testPartitions, testTopic))
	if err != nil {
		t.Fatalf("start kfake cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// testConfig is the source configuration used against brokers.
func testConfig(brokers []string, group string) config.Kafka {
	return config.Kafka{
		Brokers:  brokers,
		Topic:    testTopic,
		Group:    group,
		MaxWait:  200 * time.Millisecond,
		MaxBytes: 1 << 20,
		// kfake's group coordinator runs with Kafka's defaults.
		SessionTimeout:   10 * time.Second,
		RebalanceTimeout: 10 * time.Second,
	}
}

// discard is a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// produce writes counts[p] messages to each partition p of the test topic
// and waits until all are acknowledged.
func produce(ctx context.Context, t *testing.T, brokers []string, counts map[int]int) {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.DefaultProduceTopic(testTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		t.Fatalf("new kgo producer: %v", err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for _, p := range slices.Sorted(maps.Keys(counts)) {
		for i := range counts[p] {
			recs = append(recs, &kgo.Record{
				Partition: int32(p),
				Key:       fmt.Appendf(nil, "p%d", p),
				Value:     fmt.Appendf(nil, "p%d-m%d", p, i),
			})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records: %v", len(recs), err)
	}
}

// fetchN fetches n messages from s, failing t on the first error.
func fetchN(ctx context.Context, t *testing.T, s *member, n int) []kafka.Message {
	t.Helper()
	out := make([]kafka.Message, 0, n)
	for len(out) < n {
		m, err := s.Fetch(ctx)
		if err != nil {
			t.Fatalf("fetch message %d of %d: %v", len(out)+1, n, err)
		}
		out = append(out, m)
	}
	return out
}

// pos is a message's place in the topic.
type pos struct {
	partition int
	offset    int64
}

// checkExactlyOnce fails t unless msgs holds, for each partition p, exactly
// the offsets [from[p], counts[p]) once each, in increasing order
// (a missing from[p] is 0).
func checkExactlyOnce(t *testing.T, msgs []kafka.Message, counts map[int]int, from map[int]int64) {
	t.Helper()
	seen := make(map[pos]int)
	last := make(map[int]int64)
	for _, m := range msgs {
		if m.Topic != testTopic {
			t.Errorf("message %d/%d has topic %q, want %q", m.Partition, m.Offset, m.Topic, testTopic)
		}
		if want := fmt.Sprintf("p%d-m%d", m.Partition, m.Offset); string(m.Value) != want {
			t.Errorf("message %d/%d has value %q, want %q", m.Partition, m.Offset, m.Value, want)
		}
		if prev, ok := last[m.Partition]; ok && m.Offset <= prev {
			t.Errorf("partition %d: offset %d delivered after %d", m.Partition, m.Offset, prev)
		}
		last[m.Partition] = m.Offset
		seen[pos{m.Partition, m.Offset}]++
	}
	for p, c := range counts {
		for off := from[p]; off < int64(c); off++ {
			switch n := seen[pos{p, off}]; n {
			case 1:
			case 0:
				t.Errorf("message %d/%d never delivered", p, off)
			default:
				t.Errorf("message %d/%d delivered %d times", p, off, n)
			}
			delete(seen, pos{p, off})
		}
	}
	for k, n := range seen {
		t.Errorf("unexpected message %d/%d delivered %d times", k.partition, k.offset, n)
	}
}

// checkNothingMore fails t if s delivers another message within wait: the
// topic is exhausted, so Fetch must end with the context's deadline.
func checkNothingMore(t *testing.T, s *member, wait time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := s.Fetch(ctx)
	if err == nil {
		t.Errorf("fetch after the last message returned %d/%d, want a deadline error", m.Partition, m.Offset)
		return
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("fetch after the last message: got %v, want context.DeadlineExceeded", err)
	}
}

// closeSource closes s, failing t on error.
func closeSource(t *testing.T, s *member) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("close source: %v", err)
	}
}

// TestFetchAll checks that a fresh group starts at the first offset and
// delivers every produced message exactly once.
func TestFetchAll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	brokers := newCluster(t)
	produce(ctx, t, brokers, perPartition)

	s := mustSource(t, testConfig(brokers, "fetch-all"), discard())
	defer closeSource(t, s)
	start := time.Now()
	msgs := fetchN(ctx, t, s, total(perPartition))
	t.Logf("fetched %d messages in %v", len(msgs), time.Since(start))
	checkExactlyOnce(t, msgs, perPartition, nil)
	checkNothingMore(t, s, time.Second)
}

// TestAdmin checks the admin look-ups on a topic with data and a group
// that has never committed.
func TestAdmin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	brokers := newCluster(t)
	produce(ctx, t, brokers, perPartition)
	a := mustAdmin(t, testConfig(brokers, "admin"))

	parts, err := a.Partitions(ctx)
	if err != nil {
		t.Fatalf("partitions: %v", err)
	}
	slices.Sort(parts)
	if want := []int{0, 1, 2, 3}; !slices.Equal(parts, want) {
		t.Fatalf("partitions = %v, want %v", parts, want)
	}

	ends, err := a.EndOffsets(ctx, parts)
	if err != nil {
		t.Fatalf("end offsets: %v", err)
	}
	want := make(map[int]int64, len(perPartition))
	for p, c := range perPartition {
		want[p] = int64(c)
	}
	if !maps.Equal(ends, want) {
		t.Errorf("end offsets = %v, want %v", ends, want)
	}

	// Apache Kafka answers an OffsetFetch for a group it has never seen
	// with no offsets; kfake answers GROUP_ID_NOT_FOUND. Both must read
	// as "nothing committed".
	committed, err := a.Committed(ctx, parts)
	if err != nil || len(committed) != 0 {
		t.Fatalf("committed offsets of a never-seen group = %v, %v; want none and no error", committed, err)
	}

	// A missing topic is waited for (it may be about to be created), up to
	// the caller's deadline.
	missing := mustAdmin(t, config.Kafka{Brokers: brokers, Topic: "no-such-topic", Group: "admin"})
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if ps, err := missing.Partitions(short); err == nil {
		t.Errorf("partitions of a missing topic = %v, want an error", ps)
	}
}

// TestCommitAndResume commits some partitions, checks that the admin sees
// exactly those offsets without joining the group, and that a new member
// of the group resumes at them.
func TestCommitAndResume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	brokers := newCluster(t)
	produce(ctx, t, brokers, perPartition)
	const group = "resume"
	cfg := testConfig(brokers, group)
	parts := []int{0, 1, 2, 3}

	first := mustSource(t, cfg, discard())
	msgs := fetchN(ctx, t, first, total(perPartition))
	checkExactlyOnce(t, msgs, perPartition, nil)

	admin := mustAdmin(t, cfg)
	// The group exists now (first is its member) but has no commits.
	if got, err := admin.Committed(ctx, parts); err != nil || len(got) != 0 {
		t.Errorf("committed offsets before any commit = %v, %v; want none", got, err)
	}
	if err := first.Commit(ctx, nil); err != nil {
		t.Fatalf("commit nothing: %v", err)
	}
	if got, err := admin.Committed(ctx, parts); err != nil || len(got) != 0 {
		t.Errorf("committed offsets after an empty commit = %v, %v; want none", got, err)
	}
	// Partition 0 part-way, partition 2 fully read; 1 and 3 not at all.
	next := map[int]int64{0: 2, 2: int64(perPartition[2])}
	start := time.Now()
	if err := first.Commit(ctx, next); err != nil {
		t.Fatalf("commit %v: %v", next, err)
	}
	t.Logf("commit took %v", time.Since(start))

	got, err := admin.Committed(ctx, parts)
	if err != nil {
		t.Fatalf("committed offsets: %v", err)
	}
	if !maps.Equal(got, next) {
		t.Errorf("committed offsets = %v, want %v", got, next)
	}
	// The source's own Admin answers the same.
	if got, err := first.Committed(ctx, parts); err != nil || !maps.Equal(got, next) {
		t.Errorf("source's committed offsets = %v, %v; want %v", got, err, next)
	}

	// The admin's look-ups above must not have added a member.
	if ms := groupMembers(ctx, t, brokers, group); len(ms) != 1 {
		t.Errorf("group %s has members %v, want only the first source", group, ms)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("close first source: %v", err)
	}
	if ms := groupMembers(ctx, t, brokers, group); len(ms) != 0 {
		t.Errorf("group %s has members %v after its only member closed, want none", group, ms)
	}
	// The admin, used after the only member left, must not join.
	if got, err := admin.Committed(ctx, parts); err != nil || !maps.Equal(got, next) {
		t.Errorf("committed offsets after close = %v, %v; want %v", got, err, next)
	}
	if ms := groupMembers(ctx, t, brokers, group); len(ms) != 0 {
		t.Errorf("group %s has members %v after an admin look-up, want none", group, ms)
	}

	second := mustSource(t, cfg, discard())
	defer closeSource(t, second)
	remaining := 0
	for p, c := range perPartition {
		remaining += c - int(next[p])
	}
	start = time.Now()
	msgs = fetchN(ctx, t, second, remaining)
	t.Logf("resumed and fetched %d messages in %v", len(msgs), time.Since(start))
	firstOffset := make(map[int]int64)
	for _, m := range msgs {
		if _, ok := firstOffset[m.Partition]; !ok {
			firstOffset[m.Partition] = m.Offset
		}
	}
	for p, off := range next {
		if off >= int64(perPartition[p]) {
			if got, ok := firstOffset[p]; ok {
				t.Errorf("partition %d was fully committed at %d but delivered %d again", p, off, got)
			}
			continue
		}
		if firstOffset[p] != off {
			t.Errorf("partition %d resumed at %d, want committed offset %d", p, firstOffset[p], off)
		}
	}
	checkExactlyOnce(t, msgs, perPartition, next)
	checkNothingMore(t, second, time.Second)
}

// groupMembers returns the "client/member" ids of group's members, which
// is how we know an Admin look-up did not join it.
func groupMembers(ctx context.Context, t *testing.T, brokers []string, group string) []string {
	t.Helper()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}
	resp, err := cl.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		t.Fatalf("describe group %s: %v", group, err)
	}
	var ids []string
	for _, g := range resp.Groups {
		if g.Error != nil {
			t.Fatalf("describe group %s: %v", group, g.Error)
		}
		for _, m := range g.Members {
			ids = append(ids, m.ClientID+"/"+m.MemberID)
		}
	}
	return ids
}

// TestEnsureTopic checks that EnsureTopic creates a topic with the given
// partition count and accepts one that already exists.
func TestEnsureTopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	brokers := newCluster(t)
	const topic, n = "cdrs-new", 3

	if err := EnsureTopic(ctx, brokers, topic, n); err != nil {
		t.Fatalf("ensure topic %s: %v", topic, err)
	}
	parts, err := mustAdmin(t, config.Kafka{Brokers: brokers, Topic: topic}).Partitions(ctx)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	slices.Sort(parts)
	if want := []int{0, 1, 2}; !slices.Equal(parts, want) {
		t.Errorf("partitions of %s = %v, want %v", topic, parts, want)
	}
	if err := EnsureTopic(ctx, brokers, topic, n); err != nil {
		t.Errorf("ensure existing topic %s: %v", topic, err)
	}
	// The seeded topic exists too, with a different partition count.
	if err := EnsureTopic(ctx, brokers, testTopic, 1); err != nil {
		t.Errorf("ensure seeded topic %s: %v", testTopic, err)
	}
}

// TestReachable checks that a live broker is reachable and a closed port
// is reported with its address.
func TestReachable(t *testing.T) {
	brokers := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := Reachable(ctx, brokers, time.Second); err != nil {
		t.Errorf("reachable %v: %v", brokers, err)
	}
	if err := Reachable(ctx, []string{"127.0.0.1:1"}, time.Second); err == nil {
		t.Errorf("reachable 127.0.0.1:1: got nil, want an error")
	}
}

func TestTemporaryErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{kafka.NotCoordinatorForGroup, true},
		{kafka.GroupCoordinatorNotAvailable, true},
		{fmt.Errorf("join: %w", kafka.LeaderNotAvailable), true},
		{kafka.TopicAuthorizationFailed, false},
		{errors.New("some other failure"), false},
		{context.Canceled, false},
	} {
		if got := temporary(c.err); got != c.want {
			t.Errorf("temporary(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestFetchRidesOutCoordinatorErrors has the broker refuse the group's
// joins with NOT_COORDINATOR more often than kafka-go retries on its own,
// as a fenced or overloaded broker does; Fetch must wait it out and then
// deliver every message once.
func TestFetchRidesOutCoordinatorErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(testPartitions, testTopic))
	if err != nil {
		t.Fatalf("start kfake cluster: %v", err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	produce(ctx, t, brokers, perPartition)

	const refusals = 4 // kafka-go tries a join 3 times before reporting
	var refused atomic.Int32
	c.ControlKey(kmsg.JoinGroup.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if refused.Add(1) > refusals {
			return nil, nil, false
		}
		c.KeepControl()
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode = int16(kafka.NotCoordinatorForGroup)
		return resp, nil, true
	})

	var logged bytes.Buffer
	s := mustSource(t, testConfig(brokers, "coordinator-moves"), slog.New(slog.NewTextHandler(&logged, nil)))
	defer closeSource(t, s)
	msgs := fetchN(ctx, t, s, total(perPartition))
	checkExactlyOnce(t, msgs, perPartition, nil)
	if refused.Load() < refusals {
		t.Fatalf("only %d joins were refused; the test did not exercise the error", refused.Load())
	}
	if !strings.Contains(logged.String(), "temporary error, joining again") {
		t.Errorf("the temporary error was not logged:\n%s", logged.String())
	}
}

// member is a group member with its first assignment, read from the
// committed offsets, as the pipeline reads one.
type member struct {
	g *Group
	a *Assignment
}

// mustSource joins cfg's group and starts reading its first assignment,
// failing t on error.
func mustSource(t testing.TB, cfg config.Kafka, log *slog.Logger) *member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	g, err := NewGroup(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	a, err := g.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	from := map[int]int64{}
	for _, st := range a.Partitions() {
		from[st.Partition] = max(st.Offset, 0)
	}
	a.Read(from, nil)
	return &member{g: g, a: a}
}

func (m *member) Fetch(ctx context.Context) (kafka.Message, error) { return m.a.Fetch(ctx) }

// Commit commits next offsets through the generation.
func (m *member) Commit(ctx context.Context, next map[int]int64) error {
	c := make(map[int]Commit, len(next))
	for p, off := range next {
		c[p] = Commit{Offset: off}
	}
	return m.a.Commit(ctx, c)
}

func (m *member) Committed(ctx context.Context, parts []int) (map[int]int64, error) {
	return m.g.Committed(ctx, parts)
}

func (m *member) Close() error {
	m.a.Close()
	return m.g.Close()
}

// mustAdmin is NewAdmin, failing t on error.
func mustAdmin(t testing.TB, cfg config.Kafka) *Admin {
	t.Helper()
	a, err := NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
