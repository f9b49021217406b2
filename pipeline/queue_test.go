package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestQueueHandsOverInOrder(t *testing.T) {
	q := newQueue(1000)
	ctx := context.Background()
	go func() {
		for i := range 2500 {
			if err := q.put(ctx, kafka.Message{Offset: int64(i)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var got []kafka.Message
	want := int64(0)
	deadline := time.After(5 * time.Second)
	for want < 2500 {
		select {
		case <-q.ready:
		case <-deadline:
			t.Fatalf("stuck after %d messages", want)
		}
		got = q.take(got, nil)
		for _, m := range got {
			if m.Offset != want {
				t.Fatalf("offset %d, want %d", m.Offset, want)
			}
			want++
		}
	}
}

func TestQueueBlocksWhenFullUntilTaken(t *testing.T) {
	q := newQueue(2)
	ctx := context.Background()
	for i := range 2 {
		if err := q.put(ctx, kafka.Message{Offset: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	put := make(chan error, 1)
	go func() { put <- q.put(ctx, kafka.Message{Offset: 2}) }()
	select {
	case err := <-put:
		t.Fatalf("put into a full queue returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if got := q.take(nil, nil); len(got) != 2 {
		t.Fatalf("took %d, want 2", len(got))
	}
	if err := <-put; err != nil {
		t.Fatal(err)
	}
	if q.len() != 1 {
		t.Fatalf("len %d after the waiting put, want 1", q.len())
	}
}

func TestQueuePutStopsWithContext(t *testing.T) {
	q := newQueue(1)
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.put(ctx, kafka.Message{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := q.put(ctx, kafka.Message{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("put on a full queue after cancel: %v", err)
	}
}

// TestQueueHoldsBackOnePartition: a partition the run loop leaves alone
// fills its buffer and its reader waits, while the others flow.
func TestQueueHoldsBackOnePartition(t *testing.T) {
	q := newQueue(3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 3 {
		if err := q.put(ctx, kafka.Message{Partition: 1, Offset: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	blocked := make(chan error, 1)
	go func() { blocked <- q.put(ctx, kafka.Message{Partition: 1, Offset: 3}) }()
	for i := range 10 {
		if err := q.put(ctx, kafka.Message{Partition: 0, Offset: int64(i)}); err != nil {
			t.Fatalf("partition 0 waited on partition 1: %v", err)
		}
		got := q.take(nil, func(p int) bool { return p == 0 })
		if len(got) != 1 || got[0].Partition != 0 {
			t.Fatalf("took %v, want partition 0's message only", got)
		}
	}
	select {
	case err := <-blocked:
		t.Fatalf("a put into partition 1's full buffer returned %v", err)
	default:
	}
	if got := q.take(nil, nil); len(got) != 3 {
		t.Fatalf("took %d of partition 1, want 3", len(got))
	}
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
}
