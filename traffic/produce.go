package traffic

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
	// Key is the field of each line its message is keyed by; the zero
	// value is KeyCaller.
	Key Key
}

// Key names the field of a JSON line that Produce keys the line's
// message by: messages with the same key go to the same partition (the
// writer hashes keys), and with KeyNone they are spread round-robin. It
// is a flag value (String, Set, Type).
//
// A number (caller, callee) is keyed by its last NumberKeyDigits digits,
// not by the string written: a switch writes one number in several forms
// (+8613912345678, 8613912345678, 008613912345678, 13912345678 with or
// without a nature of address), all ending in the same national number,
// and a caller's records must share a partition whatever the form, or
// instances of one group each see part of its calls.
type Key string

// The keys Produce knows.
const (
	// KeyCaller keys by the calling number, so a caller's records share
	// a partition: what several instances of one group need today.
	KeyCaller Key = "caller"
	// KeyCallee keys by the called number.
	KeyCallee Key = "callee"
	// KeySwitch keys by the switch_id that sent the record.
	KeySwitch Key = "switch"
	// KeyCallID keys by the switch's call_id.
	KeyCallID Key = "call_id"
	// KeyNone sends messages without a key, round-robin.
	KeyNone Key = "none"
)

// NumberKeyDigits is how many trailing digits of a number key its
// message: enough to spread numbers over any number of partitions, and
// few enough that every form of a national number of five digits or
// more (service numbers such as 95588 included) ends in the same ones.
// Shorter numbers written with and without their country code go to
// different partitions.
const NumberKeyDigits = 5

// keyField is the JSON field a key reads, and whether it holds a number.
type keyField struct {
	name   string // "" for none
	number bool
}

// keyFields maps each key to the field it reads.
var keyFields = map[Key]keyField{
	KeyCaller: {"caller", true}, KeyCallee: {"callee", true},
	KeySwitch: {"switch_id", false}, KeyCallID: {"call_id", false}, KeyNone: {},
}

// errUnknownKey says which keys there are.
var errUnknownKey = errors.New("want caller, callee, switch, call_id or none")

// String returns the key's name; the zero value is KeyCaller.
func (k Key) String() string {
	if k == "" {
		return string(KeyCaller)
	}
	return string(k)
}

// Set sets the key from its name, for a command-line flag.
func (k *Key) Set(name string) error {
	if _, ok := keyFields[Key(name)]; !ok {
		return fmt.Errorf("key %q: %w", name, errUnknownKey)
	}
	*k = Key(name)
	return nil
}

// Type names the flag value's type in usage messages.
func (k Key) Type() string { return "field" }

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
	if c.Key == "" {
		c.Key = KeyCaller
	}
	if _, ok := keyFields[c.Key]; !ok {
		return c, fmt.Errorf("key %q: %w", string(c.Key), errUnknownKey)
	}
	if c.BatchSize < 0 || c.SliceSize < 0 || c.BatchTimeout < 0 {
		return c, fmt.Errorf("BatchSize %d, SliceSize %d and BatchTimeout %v must not be negative",
			c.BatchSize, c.SliceSize, c.BatchTimeout)
	}
	return c, nil
}

// Produce sends every non-empty line of r to Kafka as one message, keyed by
// the line's cfg.Key field (by default the caller's number, so a caller's
// records share a partition however each is written; see Key). It writes
// synchronously, SliceSize messages at a time, calls progress (if not
// nil) with the running total after each slice, and returns how many
// messages were acknowledged.
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
	s := newSlicer(cfg.SliceSize, cfg.Key)
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

// newWriter returns a synchronous writer to cfg's topic. Keyed messages
// go to the partition their key hashes to (kafka.Hash, the same as
// Sarama's); without a key they are spread round-robin.
func newWriter(cfg ProduceConfig) *kafka.Writer {
	var balancer kafka.Balancer = &kafka.Hash{}
	if cfg.Key == KeyNone {
		balancer = &kafka.RoundRobin{}
	}
	return &kafka.Writer{
		Addr:                   kafka.TCP(cfg.Brokers...),
		Topic:                  cfg.Topic,
		Balancer:               balancer,
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
	keys  keyScanner
	arena []byte
	spans [][2]int // key start and end offsets of each line in arena
	msgs  []kafka.Message
}

func newSlicer(size int, key Key) *slicer {
	return &slicer{size: size, keys: newKeyScanner(keyFields[key]), msgs: make([]kafka.Message, 0, size)}
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
		s.msgs[i] = kafka.Message{Key: s.keys.key(v), Value: v}
	}
}

func (s *slicer) reset() {
	s.arena, s.spans, s.msgs = s.arena[:0], s.spans[:0], s.msgs[:0]
}

// keyScanner finds the key of JSON lines in the string value of one
// field, without parsing them: a scan for the quoted field name followed
// by a colon and a string.
type keyScanner struct {
	quoted []byte // the field's name in quotes; nil keys nothing
	number bool   // key by the value's trailing digits (numberKey)
}

// newKeyScanner returns a scanner for f.
func newKeyScanner(f keyField) keyScanner {
	if f.name == "" {
		return keyScanner{}
	}
	return keyScanner{quoted: []byte(`"` + f.name + `"`), number: f.number}
}

// key returns the key of line: the field's value, or a number's trailing
// digits. It returns nil when the scanner keys nothing, when line has no
// such string, or when the string is empty or holds an escape, so lines
// without the field (malformed ones among them) get no key and are
// spread round-robin.
func (k keyScanner) key(line []byte) []byte {
	v := k.value(line)
	if k.number && v != nil {
		return numberKey(v)
	}
	return v
}

// value returns the raw string value of the field in line, nil if none.
func (k keyScanner) value(line []byte) []byte {
	if k.quoted == nil {
		return nil
	}
	for rest := line; ; {
		i := bytes.Index(rest, k.quoted)
		if i < 0 {
			return nil
		}
		rest = rest[i+len(k.quoted):]
		v, ok := stringAfterColon(rest)
		if ok {
			return v
		}
	}
}

// numberKey returns the last NumberKeyDigits digits of a number as
// written, whatever else it holds ('+', spaces, dashes), copying only
// when they are not together at its end. A value without digits (a
// withheld caller written as "anonymous") is its own key, so the copies
// of one call still share a partition and are recognised as duplicates.
func numberKey(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	if n := len(v) - NumberKeyDigits; n >= 0 && allDigits(v[n:]) {
		return v[n:len(v):len(v)]
	}
	var out []byte
	for i := len(v) - 1; i >= 0 && len(out) < NumberKeyDigits; i-- {
		if c := v[i]; c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	if out == nil {
		return v
	}
	slices.Reverse(out)
	return out
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// stringAfterColon parses `: "value"` at the start of b, allowing JSON
// whitespace, and returns value; ok is false if b does not start so (for
// example when the field's name was itself a value, or the value is an
// object).
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
