package repartition

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// maxCopies bounds the copies in one message, well under the brokers'
// default message.max.bytes (1 MB) at about 160 bytes a copy.
const maxCopies = 2048

// Publisher is the first stage's output: it routes each call's two sides
// to the internal partitions of caller and callee and writes, per
// micro-batch, at least one message to every internal partition, the
// last of them with the progress of the input partitions read.
type Publisher struct {
	w      *kafka.Writer
	write  func(ctx context.Context, msgs ...kafka.Message) error
	last   string // the marks last written
	n      int
	inputs int
	bufs   [][]Copy
	enc    *Encoder
	msgs   []kafka.Message
	// Copies counts the copies written, Messages the messages.
	Copies, Messages int64
}

// NewPublisher writes to topic, of partitions partitions, through conn;
// inputs is the input topic's partition count, which every message
// states.
func NewPublisher(conn source.Connection, topic string, partitions, inputs int) *Publisher {
	w := &kafka.Writer{
		Addr:         kafka.TCP(conn.Brokers...),
		Topic:        topic,
		Balancer:     toPartition{},
		Transport:    conn.Transport(),
		RequiredAcks: kafka.RequireAll,
		// Messages are whole batches already: each goes at once.
		BatchSize:    1,
		BatchTimeout: time.Millisecond,
		BatchBytes:   4 << 20,
		MaxAttempts:  10,
	}
	p := NewPublisherFunc(w.WriteMessages, partitions, inputs)
	p.w = w
	return p
}

// NewPublisherFunc is a publisher that hands its messages to write, which
// returns once they are durable; the determinism tests keep them in
// memory.
func NewPublisherFunc(write func(ctx context.Context, msgs ...kafka.Message) error, partitions, inputs int) *Publisher {
	return &Publisher{write: write, n: partitions, inputs: inputs, bufs: make([][]Copy, partitions), enc: NewEncoder()}
}

// toPartition sends each message to the partition it names.
type toPartition struct{}

func (toPartition) Balance(m kafka.Message, partitions ...int) int { return m.Partition }

// Add routes a decoded call read from the input's partition at offset:
// its caller side to the caller's partition, its callee side to the
// callee's, and, when grouped, its group side to the partition of group
// (engine.GroupOf). A call without a caller number has no callee side to
// count.
func (p *Publisher) Add(c *schemas.CDR, group string, grouped, late bool, partition int, offset int64) {
	q := PartitionOf(c.Caller, p.n)
	p.bufs[q] = append(p.bufs[q], Copy{CDR: *c, Side: engine.CallerSide, Late: late, Partition: partition, Offset: offset})
	if c.Caller == "" {
		return
	}
	q = PartitionOf(c.Callee, p.n)
	p.bufs[q] = append(p.bufs[q], Copy{CDR: *c, Side: engine.CalleeSide, Late: late, Partition: partition, Offset: offset})
	if grouped {
		q = PartitionOf(group, p.n)
		p.bufs[q] = append(p.bufs[q], Copy{CDR: *c, Side: engine.GroupSide, Late: late, Partition: partition, Offset: offset})
	}
}

// Flush writes what Add routed, with marks (the input partitions'
// progress after it) on every internal partition's last message, and
// waits until the brokers have it.
func (p *Publisher) Flush(ctx context.Context, marks []Mark) error {
	text := FormatMarks(marks)
	if text == p.last && p.empty() {
		return nil // nothing new to say
	}
	p.msgs = p.msgs[:0]
	progress := kafka.Header{Key: HeaderProgress, Value: []byte(text)}
	inputs := kafka.Header{Key: HeaderInputs, Value: []byte(strconv.Itoa(p.inputs))}
	for q, copies := range p.bufs {
		for {
			n := min(len(copies), maxCopies)
			value, err := p.enc.Encode(copies[:n])
			if err != nil {
				return err
			}
			m := kafka.Message{Partition: q, Value: value, Headers: []kafka.Header{inputs}}
			copies = copies[n:]
			if len(copies) == 0 {
				m.Headers = append(m.Headers, progress)
				p.msgs = append(p.msgs, m)
				break
			}
			p.msgs = append(p.msgs, m)
		}
	}
	// The copies stay until the brokers have them, for a retry.
	if err := p.write(ctx, p.msgs...); err != nil {
		return fmt.Errorf("write %d messages to the internal topic: %w", len(p.msgs), err)
	}
	for q := range p.bufs {
		p.Copies += int64(len(p.bufs[q]))
		p.bufs[q] = p.bufs[q][:0]
	}
	p.Messages += int64(len(p.msgs))
	p.last = text
	return nil
}

func (p *Publisher) empty() bool {
	for _, b := range p.bufs {
		if len(b) > 0 {
			return false
		}
	}
	return true
}

// Close closes the writer.
func (p *Publisher) Close() error {
	if p.w == nil {
		return nil
	}
	return p.w.Close()
}

// Read returns the copies and the progress of an internal message.
func Read(dst []Copy, m *kafka.Message) (copies []Copy, inputs int, marks []Mark, err error) {
	for _, h := range m.Headers {
		switch h.Key {
		case HeaderInputs:
			if inputs, err = strconv.Atoi(string(h.Value)); err != nil || inputs < 1 {
				return dst, 0, nil, &FormatError{What: "header " + HeaderInputs}
			}
		case HeaderProgress:
			if marks, err = ParseMarks(string(h.Value)); err != nil {
				return dst, 0, nil, err
			}
		}
	}
	copies, err = Decode(dst, m.Value)
	return copies, inputs, marks, err
}
