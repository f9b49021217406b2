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
		got = q.take(got)
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
	if got := q.take(nil); len(got) != 2 {
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
