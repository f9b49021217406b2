package pipeline

import (
	"context"
	"slices"
	"sync"

	"github.com/segmentio/kafka-go"
)

// queue carries fetched messages from the partitions' readers to the run
// loop, a buffer per partition. A reader appends one message at a time
// under a mutex; the run loop takes, in one go, everything queued for the
// partitions it is willing to read now, by swapping buffers. A channel
// send per message cost more than decoding the message.
//
// The per-partition limit is the fetch-side back-pressure, partition by
// partition: the run loop leaves alone a partition that runs too far
// ahead of the others in event time, its buffer fills, and its reader
// waits, while the partitions behind keep flowing. Event time then
// advances evenly across partitions however fast each can be read
// (after a restart, a backlog's partitions race), which keeps the
// engine's state to the windows around the watermark, and its results
// the same.
type queue struct {
	mu    sync.Mutex
	parts map[int]*partQueue
	ids   []int         // partitions with a buffer, sorted
	n     int           // messages queued, all partitions
	limit int           // per partition
	ready chan struct{} // a token when messages were queued
}

type partQueue struct {
	buf  []kafka.Message
	room chan struct{} // a token when the run loop took its messages
}

func newQueue(limit int) *queue {
	return &queue{parts: make(map[int]*partQueue), limit: max(limit, 1), ready: make(chan struct{}, 1)}
}

// part returns partition p's buffer, creating it; q.mu is held.
func (q *queue) part(p int) *partQueue {
	pq := q.parts[p]
	if pq == nil {
		pq = &partQueue{room: make(chan struct{}, 1)}
		q.parts[p] = pq
		i, _ := slices.BinarySearch(q.ids, p)
		q.ids = slices.Insert(q.ids, i, p)
	}
	return pq
}

// put queues m, waiting while its partition's buffer is full, until ctx
// ends.
func (q *queue) put(ctx context.Context, m kafka.Message) error {
	for {
		q.mu.Lock()
		pq := q.part(m.Partition)
		if len(pq.buf) < q.limit {
			pq.buf = append(pq.buf, m)
			q.n++
			q.mu.Unlock()
			signal(q.ready)
			return nil
		}
		room := pq.room
		q.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// take appends to dst everything queued for the partitions eligible (nil:
// all) lets through, partition by partition, and returns it.
func (q *queue) take(dst []kafka.Message, eligible func(p int) bool) []kafka.Message {
	clear(dst) // let the collector have the values already processed
	dst = dst[:0]
	q.mu.Lock()
	for _, p := range q.ids {
		pq := q.parts[p]
		if len(pq.buf) == 0 || eligible != nil && !eligible(p) {
			continue
		}
		dst = append(dst, pq.buf...)
		q.n -= len(pq.buf)
		clear(pq.buf)
		pq.buf = pq.buf[:0]
		signal(pq.room)
	}
	q.mu.Unlock()
	return dst
}

// len reports how many messages wait.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// signal leaves a token in c unless one is there already; a full
// channel fails fast without taking its lock.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
