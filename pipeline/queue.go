package pipeline

import (
	"context"
	"sync"

	"github.com/segmentio/kafka-go"
)

// queue carries fetched messages from the fetcher to the run loop. The
// fetcher appends one message at a time under a mutex; the run loop
// takes everything queued at once by swapping buffers. A channel send
// per message cost more than decoding the message, and handing over
// chunks would let a chunk wait in the fetcher while the topic is quiet.
// The limit is the fetch-side back-pressure: when processing stalls, the
// fetcher waits and stops fetching.
type queue struct {
	mu    sync.Mutex
	buf   []kafka.Message
	limit int
	ready chan struct{} // a token when messages were queued
	room  chan struct{} // a token when the run loop took messages
}

func newQueue(limit int) *queue {
	return &queue{
		buf:   make([]kafka.Message, 0, limit),
		limit: limit,
		ready: make(chan struct{}, 1),
		room:  make(chan struct{}, 1),
	}
}

// put queues m, waiting while the queue is full, until ctx ends.
func (q *queue) put(ctx context.Context, m kafka.Message) error {
	for {
		q.mu.Lock()
		if len(q.buf) < q.limit {
			q.buf = append(q.buf, m)
			q.mu.Unlock()
			signal(q.ready)
			return nil
		}
		q.mu.Unlock()
		select {
		case <-q.room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take returns everything queued and keeps spare, emptied, as the next
// buffer; the caller owns the result until it passes it back as spare.
func (q *queue) take(spare []kafka.Message) []kafka.Message {
	clear(spare) // let the collector have the values already processed
	q.mu.Lock()
	got := q.buf
	q.buf = spare[:0]
	q.mu.Unlock()
	signal(q.room)
	return got
}

// len reports how many messages wait.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.buf)
}

// signal leaves a token in c unless one is there already; a full
// channel fails fast without taking its lock.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
