// Package config holds cdrpipe's typed configuration: every setting with
// its default, and one Validate that checks the rules spanning fields.
// cmd/cdrpipe fills it from defaults, a YAML file, CDRPIPE_* environment
// variables and flags (in that order of precedence) and hands each
// component only its part.
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the whole configuration.
type Config struct {
	Kafka      Kafka      `mapstructure:"kafka"`
	ClickHouse ClickHouse `mapstructure:"clickhouse"`
	Numbering  Numbering  `mapstructure:"numbering"`
	Window     Window     `mapstructure:"window"`
	Detectors  Detectors  `mapstructure:"detectors"`
	Sink       Sink       `mapstructure:"sink"`
	Stats      Stats      `mapstructure:"stats"`
	Blocklist  Blocklist  `mapstructure:"blocklist"`
	Engine     Engine     `mapstructure:"engine"`
}

// Kafka says where CDRs come from.
type Kafka struct {
	Brokers []string `mapstructure:"brokers"`
	Topic   string   `mapstructure:"topic"`
	Group   string   `mapstructure:"group"`
	// MaxWait is how long a fetch waits for data before returning less.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// MaxBytes caps one fetch response per partition.
	MaxBytes int `mapstructure:"max_bytes"`
}

// ClickHouse says where results go.
type ClickHouse struct {
	Addr     string `mapstructure:"addr"`
	Database string `mapstructure:"database"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	// DialTimeout bounds connecting, so a dead server shows up as a retry.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
}

// Numbering says how numbers are normalised.
type Numbering struct {
	// CountryCode is the home country code, digits only.
	CountryCode string `mapstructure:"country_code"`
}

// Window is the event-time windowing scheme.
type Window struct {
	// Size is the window length; Slide how often a new window starts.
	Size  time.Duration `mapstructure:"size"`
	Slide time.Duration `mapstructure:"slide"`
	// AllowedLateness is how far behind the watermark a CDR may arrive
	// and still be counted by detectors; later ones are only stored.
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"`
	// MaxFuture rejects records whose start_time is further ahead of the
	// wall clock than this.
	MaxFuture time.Duration `mapstructure:"max_future"`
	// MaxJump is how far a record may lead the watermark (plus the
	// allowed lateness) and still hold offset commits back until its
	// windows close; records further ahead are outliers whose windows are
	// not rebuilt after a restart.
	MaxJump time.Duration `mapstructure:"max_jump"`
	// IdlePartition is how long a partition may stay silent before it
	// stops holding the watermark back.
	IdlePartition time.Duration `mapstructure:"idle_partition"`
}

// Detectors holds each detector's thresholds.
type Detectors struct {
	FanOut     FanOut     `mapstructure:"fan_out"`
	ShortCalls ShortCalls `mapstructure:"short_calls"`
	Sequential Sequential `mapstructure:"sequential_dialing"`
}

// FanOut flags callers reaching many distinct callees.
type FanOut struct {
	MinCallees int `mapstructure:"min_callees"`
}

// ShortCalls flags callers whose answered calls are mostly very short.
type ShortCalls struct {
	MinAnswered int           `mapstructure:"min_answered"`
	MaxTalk     time.Duration `mapstructure:"max_talk"`
	MinShare    float64       `mapstructure:"min_share"`
}

// Sequential flags callers scanning number ranges.
type Sequential struct {
	MinCallees int    `mapstructure:"min_callees"`
	MinRun     int    `mapstructure:"min_run"`
	MaxStep    uint64 `mapstructure:"max_step"`
}

// Sink is how rows are batched into ClickHouse.
type Sink struct {
	BatchSize     int           `mapstructure:"batch_size"`
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// MaxBackoff caps the wait between retries while ClickHouse fails.
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
}

// Stats controls the caller_stats table.
type Stats struct {
	// MinCalls is the volume in a window from which a caller gets a row.
	MinCalls int `mapstructure:"min_calls"`
}

// Blocklist controls the blocklist view.
type Blocklist struct {
	TTL time.Duration `mapstructure:"ttl"`
}

// Engine sizes the detection engine.
type Engine struct {
	// Shards is the number of engine goroutines; 0 means one per CPU.
	Shards int `mapstructure:"shards"`
	// MaxCallees bounds the exact distinct-callee set kept per caller;
	// past it a caller's further callees are counted by a sketch.
	MaxCallees int `mapstructure:"max_callees"`
	// QueueSize bounds each stage's queue, in batches.
	QueueSize int `mapstructure:"queue_size"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Kafka: Kafka{Brokers: []string{"127.0.0.1:9092"}, Topic: "cdrs", Group: "cdrpipe",
			MaxWait: 500 * time.Millisecond, MaxBytes: 16 << 20},
		ClickHouse: ClickHouse{Addr: "127.0.0.1:9000", Database: "cdrpipe", Username: "default",
			DialTimeout: 5 * time.Second},
		Numbering: Numbering{CountryCode: "86"},
		Window: Window{Size: time.Hour, Slide: 5 * time.Minute, AllowedLateness: 5 * time.Minute,
			MaxFuture: 15 * time.Minute, MaxJump: 15 * time.Minute, IdlePartition: 30 * time.Second},
		Detectors: Detectors{
			FanOut:     FanOut{MinCallees: 50},
			ShortCalls: ShortCalls{MinAnswered: 20, MaxTalk: 10 * time.Second, MinShare: 0.7},
			Sequential: Sequential{MinCallees: 10, MinRun: 5, MaxStep: 3},
		},
		Sink:      Sink{BatchSize: 50000, FlushInterval: time.Second, MaxBackoff: 30 * time.Second},
		Stats:     Stats{MinCalls: 10},
		Blocklist: Blocklist{TTL: 7 * 24 * time.Hour},
		Engine:    Engine{MaxCallees: 4096, QueueSize: 64},
	}
}

// Error is a configuration error naming the offending key.
type Error struct {
	Key string
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("config %s: %s", e.Key, e.Msg) }

// maxWindowBuckets bounds window/slide so per-caller state fits a 64-bit
// bucket mask together with lateness.
const maxWindowBuckets = 48

// Validate checks every value and the rules between them. It returns the
// first problem found as an *Error.
func (c *Config) Validate() error {
	checks := []struct {
		bad bool
		key string
		msg string
	}{
		{len(c.Kafka.Brokers) == 0 || anyEmpty(c.Kafka.Brokers), "kafka.brokers", "must list at least one host:port"},
		{!hostPort(c.Kafka.Brokers), "kafka.brokers", fmt.Sprintf("%q is not host:port", c.Kafka.Brokers)},
		{strings.TrimSpace(c.Kafka.Topic) == "", "kafka.topic", "must not be empty"},
		{strings.TrimSpace(c.Kafka.Group) == "", "kafka.group", "must not be empty"},
		{c.Kafka.MaxWait <= 0, "kafka.max_wait", "must be positive"},
		{c.Kafka.MaxBytes < 1<<16, "kafka.max_bytes", "must be at least 65536"},
		{!hostPort([]string{c.ClickHouse.Addr}), "clickhouse.addr", fmt.Sprintf("%q is not host:port", c.ClickHouse.Addr)},
		{!identifier(c.ClickHouse.Database), "clickhouse.database", fmt.Sprintf("%q is not a plain identifier (letters, digits, _)", c.ClickHouse.Database)},
		{c.ClickHouse.DialTimeout <= 0, "clickhouse.dial_timeout", "must be positive"},
		{!digits(c.Numbering.CountryCode) || len(c.Numbering.CountryCode) > 3 || strings.HasPrefix(c.Numbering.CountryCode, "0"),
			"numbering.country_code", fmt.Sprintf("%q is not a country calling code (1 to 3 digits, no leading 0)", c.Numbering.CountryCode)},
		{c.Window.Slide <= 0 || c.Window.Slide%time.Second != 0, "window.slide", "must be a positive whole number of seconds"},
		{c.Window.Size <= 0 || c.Window.Slide > 0 && c.Window.Size%c.Window.Slide != 0, "window.size", "must be a positive multiple of window.slide"},
		{c.Window.Slide > 0 && c.Window.Size/c.Window.Slide > maxWindowBuckets, "window.size", fmt.Sprintf("must be at most %d times window.slide", maxWindowBuckets)},
		{c.Window.AllowedLateness < 0 || c.Window.Slide > 0 && c.Window.AllowedLateness > 8*c.Window.Slide, "window.allowed_lateness", "must be between 0 and 8 times window.slide"},
		{c.Window.MaxFuture <= 0, "window.max_future", "must be positive"},
		{c.Window.MaxJump <= 0, "window.max_jump", "must be positive"},
		{c.Window.IdlePartition <= 0, "window.idle_partition", "must be positive"},
		{c.Detectors.FanOut.MinCallees < 2, "detectors.fan_out.min_callees", "must be at least 2"},
		{c.Detectors.ShortCalls.MinAnswered < 1, "detectors.short_calls.min_answered", "must be at least 1"},
		{c.Detectors.ShortCalls.MaxTalk <= 0, "detectors.short_calls.max_talk", "must be positive"},
		{!(c.Detectors.ShortCalls.MinShare > 0 && c.Detectors.ShortCalls.MinShare <= 1), "detectors.short_calls.min_share", "must be in (0, 1]"},
		{c.Detectors.Sequential.MinRun < 2, "detectors.sequential_dialing.min_run", "must be at least 2"},
		{c.Detectors.Sequential.MinCallees < c.Detectors.Sequential.MinRun, "detectors.sequential_dialing.min_callees", "must be at least min_run"},
		{c.Detectors.Sequential.MaxStep < 1, "detectors.sequential_dialing.max_step", "must be at least 1"},
		{c.Sink.BatchSize < 1 || c.Sink.BatchSize > 1_000_000, "sink.batch_size", "must be between 1 and 1000000"},
		{c.Sink.FlushInterval <= 0, "sink.flush_interval", "must be positive"},
		{c.Sink.MaxBackoff <= 0, "sink.max_backoff", "must be positive"},
		{c.Stats.MinCalls < 1, "stats.min_calls", "must be at least 1"},
		{c.Blocklist.TTL < time.Hour, "blocklist.ttl", "must be at least 1h"},
		{c.Engine.Shards < 0 || c.Engine.Shards > 256, "engine.shards", "must be between 0 (one per CPU) and 256"},
		{c.Engine.MaxCallees < 64, "engine.max_callees", "must be at least 64"},
		{c.Engine.QueueSize < 1, "engine.queue_size", "must be at least 1"},
	}
	for _, ch := range checks {
		if ch.bad {
			return &Error{Key: ch.key, Msg: ch.msg}
		}
	}
	return nil
}

// IsConfigError reports whether err is a configuration error.
func IsConfigError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

func anyEmpty(ss []string) bool {
	for _, s := range ss {
		if strings.TrimSpace(s) == "" {
			return true
		}
	}
	return false
}

func hostPort(ss []string) bool {
	for _, s := range ss {
		i := strings.LastIndexByte(s, ':')
		if i <= 0 || !digits(s[i+1:]) {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func identifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
