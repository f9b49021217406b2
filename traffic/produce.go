package traffic

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"
)

// ProduceConfig says where Produce sends lines.
type ProduceConfig struct {
	// Brokers are bootstrap addresses, host:port.
	Brokers []string
	// Topic receives one message per line.
	Topic string
	// BatchSize is the most messages per Kafka produce batch (per
	// partition); 0 means DefaultBatchSize.
	BatchSize int
	// SliceSize is how many messages each synchronous WriteMessages call
	// carries; 0 means DefaultSliceSize. A call waits until all its
	// batches are acknowledged, and batches that are not full wait out
	// BatchTimeout first, so larger slices amortise that wait.
	SliceSize int
	// BatchTimeout is how long a partial batch waits to fill; 0 means
	// DefaultBatchTimeout.
	BatchTimeout time.Duration
	// Transport carries TLS and SASL to a secured cluster; nil is
	// kafka-go's default (plaintext).
	Transport kafka.RoundTripper
}

// Produce defaults.
const (
	DefaultBatchSize    = 2000
	DefaultSliceSize    = 8000
	DefaultBatchTimeout = 50 * time.Millisecond
	// MaxLineBytes is the longest line Produce accepts.
	MaxLineBytes = 1 << 20
)

// withDefaults fills zero fields and checks the rest.
func (c ProduceConfig) withDefaults() (ProduceConfig, error) {
	if len(c.Brokers) == 0 {
		return c, errors.New("no Kafka brokers configured")
	}
	if c.Topic == "" {
		return c, errors.New("no Kafka topic configured")
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.SliceSize == 0 {
		c.SliceSize = DefaultSliceSize
	}
	if c.BatchTimeout == 0 {
		c.BatchTimeout = DefaultBatchTimeout
	}
	if c.BatchSize < 0 || c.SliceSize < 0 || c.BatchTimeout < 0 {
		return c, fmt.Errorf("BatchSize %d, SliceSize %d and BatchTimeout %v must not be negative",
			c.BatchSize, c.SliceSize, c.BatchTimeout)
	}
	return c, nil
}

// Produce sends every non-empty line of r to Kafka as one message, keyed by
// the line's raw caller string so a caller's records, written the same way,
// share a partition. It writes synchronously, SliceSize messages at a time,
// calls progress (if not nil) with the running total after each slice,
// and returns how many messages were acknowledged.
func Produce(ctx context.Context, cfg ProduceConfig, r io.Reader, progress func(sent int64)) (sent int64, err error) {
	cfg, err = cfg.withDefaults()
	if err != nil {
		return 0, fmt.Errorf("produce: %w", err)
	}
	w := newWriter(cfg)
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close kafka writer: %w", cerr)
		}
	}()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	s := newSlicer(cfg.SliceSize)
	for sc.Scan() {
		if !s.add(sc.Bytes()) {
			continue
		}
		if sent, err = flushSlice(ctx, w, s, sent, progress); err != nil {
			return sent, err
		}
	}
	if err := sc.Err(); err != nil {
		return sent, fmt.Errorf("read lines after %d sent (limit %d bytes per line): %w", sent, MaxLineBytes, err)
	}
	return flushSlice(ctx, w, s, sent, progress)
}

func newWriter(cfg ProduceConfig) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(cfg.Brokers...),
		Topic:                  cfg.Topic,
		Balancer:               &kafka.Hash{},
		BatchSize:              cfg.BatchSize,
		BatchTimeout:           cfg.BatchTimeout,
		RequiredAcks:           kafka.RequireAll,
		Async:                  false,
		AllowAutoTopicCreation: true,
		Transport:              cfg.Transport,
	}
}

// flushSlice writes the pending messages, if any, and resets the slicer.
func flushSlice(ctx context.Context, w *kafka.Writer, s *slicer, sent int64, progress func(int64)) (int64, error) {
	if len(s.msgs) == 0 {
		return sent, nil
	}
	s.bind()
	if err := w.WriteMessages(ctx, s.msgs...); err != nil {
		return sent, fmt.Errorf("write %d messages to %s after %d sent: %w", len(s.msgs), w.Topic, sent, err)
	}
	sent += int64(len(s.msgs))
	s.reset()
	if progress != nil {
		progress(sent)
	}
	return sent, nil
}

// slicer collects one slice of messages. Line bytes are copied into one
// arena reused across slices: WriteMessages is synchronous, so the writer
// is done with them when it returns.
type slicer struct {
	size  int
	arena []byte
	spans [][2]int // key start and end offsets of each line in arena
	msgs  []kafka.Message
}

func newSlicer(size int) *slicer {
	return &slicer{size: size, msgs: make([]kafka.Message, 0, size)}
}

// add queues line unless it is empty (only whitespace), and reports
// whether the slice is full.
func (s *slicer) add(line []byte) bool {
	if len(bytes.TrimSpace(line)) == 0 {
		return false
	}
	s.arena = append(s.arena, line...)
	s.msgs = append(s.msgs, kafka.Message{})
	s.spans = append(s.spans, [2]int{len(s.arena) - len(line), len(s.arena)})
	return len(s.msgs) >= s.size
}

// bind points each message at its bytes. It runs only when the slice is
// about to be written, because appending to the arena may move it.
func (s *slicer) bind() {
	for i, sp := range s.spans {
		v := s.arena[sp[0]:sp[1]:sp[1]]
		s.msgs[i] = kafka.Message{Key: callerKey(v), Value: v}
	}
}

func (s *slicer) reset() {
	s.arena, s.spans, s.msgs = s.arena[:0], s.spans[:0], s.msgs[:0]
}

// callerKey returns the raw string value of the "caller" field of a JSON
// line, without parsing the line: a scan for "caller" followed by a colon
// and a string. It returns nil when there is no such string or it holds an
// escape, so malformed lines get no key and are spread round-robin.
func callerKey(line []byte) []byte {
	const field = `"caller"`
	for rest := line; ; {
		i := bytes.Index(rest, []byte(field))
		if i < 0 {
			return nil
		}
		rest = rest[i+len(field):]
		v, ok := stringAfterColon(rest)
		if ok {
			return v
		}
	}
}

// stringAfterColon parses `: "value"` at the start of b, allowing JSON
// whitespace, and returns value; ok is false if b does not start so (for
// example when "caller" was itself a value, or the value is an object).
func stringAfterColon(b []byte) (value []byte, ok bool) {
	b = skipSpace(b)
	if len(b) == 0 || b[0] != ':' {
		return nil, false
	}
	b = skipSpace(b[1:])
	if len(b) == 0 || b[0] != '"' {
		return nil, false
	}
	b = b[1:]
	end := bytes.IndexAny(b, "\"\\")
	if end <= 0 || b[end] != '"' {
		return nil, false
	}
	return b[:end:end], true
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}
