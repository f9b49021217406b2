// Package config holds cdrpipe's typed configuration: every setting with
// its default, and one Validate that checks the rules spanning fields.
// cmd/cdrpipe fills it from defaults, a YAML file, CDRPIPE_* environment
// variables and flags (in that order of precedence) and hands each
// component only its part.
package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	// Zones must load on hosts without a zoneinfo database (containers).
	_ "time/tzdata"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// Config is the whole configuration.
type Config struct {
	Kafka      Kafka      `mapstructure:"kafka"`
	ClickHouse ClickHouse `mapstructure:"clickhouse"`
	Numbering  Numbering  `mapstructure:"numbering"`
	Input      Input      `mapstructure:"input"`
	Window     Window     `mapstructure:"window"`
	Detectors  Detectors  `mapstructure:"detectors"`
	Sink       Sink       `mapstructure:"sink"`
	Stats      Stats      `mapstructure:"stats"`
	Blocklist  Blocklist  `mapstructure:"blocklist"`
	Engine     Engine     `mapstructure:"engine"`
	Metrics    Metrics    `mapstructure:"metrics"`
}

// Metrics controls the Prometheus endpoint of `run`.
type Metrics struct {
	// Addr is host:port for /metrics, /livez and /readyz; empty turns it
	// off.
	Addr string `mapstructure:"addr"`
	// Pprof also serves Go's profiles at /debug/pprof/ on Addr: they show
	// memory and goroutines, so only when asked for.
	Pprof bool `mapstructure:"pprof"`
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
	// TLS encrypts the connections to the brokers (and proves who we are
	// with a client certificate, if the brokers ask for one).
	TLS TLS `mapstructure:"tls"`
	// SASL authenticates to the brokers with a user and password.
	SASL SASL `mapstructure:"sasl"`
}

// SASL is how to authenticate to Kafka.
type SASL struct {
	// Mechanism is none, plain, scram-sha-256 or scram-sha-512.
	Mechanism string `mapstructure:"mechanism"`
	Username  string `mapstructure:"username"`
	Password  string `mapstructure:"password"`
	// PasswordFile names a file holding the password, instead of Password.
	PasswordFile string `mapstructure:"password_file"`
}

// SASLMechanisms are the values kafka.sasl.mechanism takes.
var SASLMechanisms = []string{"none", "plain", "scram-sha-256", "scram-sha-512"}

// ClickHouse says where results go.
type ClickHouse struct {
	Addr     string `mapstructure:"addr"`
	Database string `mapstructure:"database"`
	Username string `mapstructure:"username"`
	Password string `mapstructure:"password"`
	// PasswordFile names a file holding the password (a mounted secret),
	// instead of Password.
	PasswordFile string `mapstructure:"password_file"`
	// TLS talks to the secure native port (9440) over TLS; the files
	// below choose whom to trust and how to prove who we are.
	TLS TLS `mapstructure:"tls"`
	// DialTimeout bounds connecting, so a dead server shows up as a retry.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// Compression of inserted blocks: lz4, zstd or none. Compressing
	// costs CPU on both ends; it pays only when the network, not the
	// CPU, is what limits (see benchmarks/README.md).
	Compression string `mapstructure:"compression"`
}

// TLS is a TLS client's settings.
type TLS struct {
	// Enabled switches TLS on.
	Enabled bool `mapstructure:"enabled"`
	// CAFile is a PEM file of the authorities to trust instead of the
	// system's.
	CAFile string `mapstructure:"ca_file"`
	// CertFile and KeyFile are a client certificate and its key (PEM), for
	// servers that ask for one.
	CertFile string `mapstructure:"cert_file"`
	KeyFile  string `mapstructure:"key_file"`
	// ServerName is the name checked in the server's certificate, when it
	// is not the host of the address.
	ServerName string `mapstructure:"server_name"`
}

// Numbering says how numbers are normalised and what the home numbering
// plan allows.
type Numbering struct {
	// CountryCode is the home country code, digits only.
	CountryCode string `mapstructure:"country_code"`
	// NationalPrefix is the trunk prefix written before a national
	// number ("0" in China and most of Europe, "8" in Russia, "1" in the
	// NANP); empty when the plan has none.
	NationalPrefix string `mapstructure:"national_prefix"`
	// InternationalPrefixes are the prefixes dialled before a country
	// code ("00" in most of the world, "011" in the NANP, "810" in
	// Russia); the longest that matches wins.
	InternationalPrefixes []string `mapstructure:"international_prefixes"`
	// MobilePrefixes are E.164 prefixes of mobile numbers, the only
	// callers a handset limits to one or two calls at once.
	MobilePrefixes []string `mapstructure:"mobile_prefixes"`
	// MobileDigits is the length of a mobile national number.
	MobileDigits int `mapstructure:"mobile_digits"`
	// MinNationalDigits and MaxNationalDigits bound home national numbers;
	// numbers outside are outside the plan.
	MinNationalDigits int `mapstructure:"min_national_digits"`
	MaxNationalDigits int `mapstructure:"max_national_digits"`
	// InternationalTrunks are trunk ids that carry calls from abroad: a
	// domestic caller ID on them is spoofed.
	InternationalTrunks []string `mapstructure:"international_trunks"`
	// Allowlist holds numbers (E.164 with '+') that never reach the
	// blocklist; an entry ending in '*' is a prefix. Emergency and carrier
	// service numbers are on it by default.
	Allowlist []string `mapstructure:"allowlist"`
}

// Input says how to read what switches write: the time zone of local
// times written without an offset, for all switches and per switch.
type Input struct {
	// Zone is the IANA time zone (or "UTC", or "Local" for the host's)
	// of times written without an offset.
	Zone string `mapstructure:"zone"`
	// SwitchZones override Zone per switch_id, as "SWITCH=Zone" entries
	// ("MSC-BJ-01=Asia/Shanghai"); zones with daylight saving are fine.
	SwitchZones []string `mapstructure:"switch_zones"`
}

// SwitchZone is one entry of Input.SwitchZones.
type SwitchZone struct {
	Switch string
	Zone   *time.Location
}

// Zones resolves Input: the default zone and the per-switch ones. It
// assumes a validated configuration.
func (in Input) Zones() (def *time.Location, perSwitch []SwitchZone) {
	def, _ = time.LoadLocation(in.Zone)
	for _, e := range in.SwitchZones {
		sw, zone, _ := strings.Cut(e, "=")
		loc, _ := time.LoadLocation(strings.TrimSpace(zone))
		perSwitch = append(perSwitch, SwitchZone{Switch: strings.TrimSpace(sw), Zone: loc})
	}
	return def, perSwitch
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
	// MaxSourceLag is how far a source (switch) may fall behind the
	// others of its partition, in event time, and still hold event time
	// back; a source further behind (a slow clock, or a switch that
	// stopped sending) no longer does, and its records may be late.
	MaxSourceLag time.Duration `mapstructure:"max_source_lag"`
	// ReportSkew is how far a source's clock may differ from the others'
	// before it is reported (a log line and a metric naming it).
	ReportSkew time.Duration `mapstructure:"report_skew"`
}

// Detectors holds each detector's thresholds.
type Detectors struct {
	FanOut         FanOut         `mapstructure:"fan_out"`
	ShortCalls     ShortCalls     `mapstructure:"short_calls"`
	Sequential     Sequential     `mapstructure:"sequential_dialing"`
	OneRing        OneRing        `mapstructure:"one_ring"`
	LowAnswerRate  LowAnswerRate  `mapstructure:"low_answer_rate"`
	Burst          Burst          `mapstructure:"burst"`
	Concurrent     Concurrent     `mapstructure:"concurrent_calls"`
	InvalidCallees InvalidCallees `mapstructure:"invalid_callees"`
	RoboticTiming  RoboticTiming  `mapstructure:"robotic_timing"`
	NoCallback     NoCallback     `mapstructure:"no_callback"`
	CallBombing    CallBombing    `mapstructure:"call_bombing"`
	SpoofedOrigin  SpoofedOrigin  `mapstructure:"spoofed_origin"`
	// Disabled names detectors that are switched off.
	Disabled []string `mapstructure:"disabled"`
}

// OneRing flags wangiri: attempts released after a ring or two.
type OneRing struct {
	MinAttempts int           `mapstructure:"min_attempts"`
	MinShare    float64       `mapstructure:"min_share"`
	MaxRing     time.Duration `mapstructure:"max_ring"`
}

// LowAnswerRate flags callers whose calls are rarely answered, at volume.
type LowAnswerRate struct {
	MinAttempts int     `mapstructure:"min_attempts"`
	MaxRate     float64 `mapstructure:"max_rate"`
}

// Burst flags more calls per minute than a person can dial.
type Burst struct {
	MinPerMinute int `mapstructure:"min_per_minute"`
}

// Concurrent flags a mobile number in more calls at once than a handset
// holds.
type Concurrent struct {
	MinConcurrent int `mapstructure:"min_concurrent"`
}

// InvalidCallees flags a high share of attempts to invalid numbers.
type InvalidCallees struct {
	MinAttempts int     `mapstructure:"min_attempts"`
	MinShare    float64 `mapstructure:"min_share"`
}

// RoboticTiming flags talk times or gaps that barely vary.
type RoboticTiming struct {
	MinCalls int     `mapstructure:"min_calls"`
	MaxCV    float64 `mapstructure:"max_cv"`
}

// NoCallback flags callers whose callees almost never call back.
type NoCallback struct {
	MinCallees int     `mapstructure:"min_callees"`
	MaxShare   float64 `mapstructure:"max_share"`
	// Grace is how long after a window ends its callees may still call
	// back before the window is judged.
	Grace time.Duration `mapstructure:"grace"`
}

// CallBombing flags the callers flooding one callee.
type CallBombing struct {
	MinCalls     int           `mapstructure:"min_calls"`
	Span         time.Duration `mapstructure:"span"`
	MinPerCaller int           `mapstructure:"min_per_caller"`
}

// SpoofedOrigin flags caller IDs that cannot be genuine.
type SpoofedOrigin struct {
	MinCalls int `mapstructure:"min_calls"`
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

// Blocklist controls the verdict and the blocklist view.
type Blocklist struct {
	// TTL is how long a flag counts; a new flag renews it.
	TTL time.Duration `mapstructure:"ttl"`
	// MinScore is the risk from which a number is blocked.
	MinScore float64 `mapstructure:"min_score"`
	// Rules give the risk of combinations of traits, as data:
	// "trait + trait = risk". A number's risk is the highest risk among
	// the rules all of whose traits it shows.
	Rules []string `mapstructure:"rules"`
	// TraitRisk is what each trait adds on its own, combined as
	// independent evidence: 1 - (1 - trait_risk)^traits.
	TraitRisk float64 `mapstructure:"trait_risk"`
	// Actor is who manual changes are recorded as in the audit trail when
	// the command line does not say (--by); empty falls back to the login
	// name.
	Actor string `mapstructure:"actor"`
}

// Engine sizes the detection engine.
type Engine struct {
	// Shards is the number of engine goroutines; 0 means one per CPU.
	Shards int `mapstructure:"shards"`
	// MaxCallees bounds the exact distinct-callee set kept per caller;
	// past it a caller's further callees are counted by a sketch.
	MaxCallees int `mapstructure:"max_callees"`
	// QueueSize bounds the queue between fetching and processing, in
	// units of 512 messages.
	QueueSize int `mapstructure:"queue_size"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Kafka: Kafka{Brokers: []string{"127.0.0.1:9092"}, Topic: "cdrs", Group: "cdrpipe",
			MaxWait: 500 * time.Millisecond, MaxBytes: 16 << 20, SASL: SASL{Mechanism: "none"}},
		ClickHouse: ClickHouse{Addr: "127.0.0.1:9000", Database: "cdrpipe", Username: "default",
			DialTimeout: 5 * time.Second, Compression: "none"},
		Numbering: Numbering{CountryCode: "86", NationalPrefix: "0", InternationalPrefixes: []string{"00"},
			MobilePrefixes: []string{"+8613", "+8614", "+8615", "+8616", "+8617", "+8618", "+8619"},
			MobileDigits:   11, MinNationalDigits: 3, MaxNationalDigits: 11,
			Allowlist: []string{
				"+86110", "+86112", "+86119", "+86120", "+86122", "+8612110", "+8612395", // emergency
				"+8610000", "+8610001", "+8610010", "+8610086", "+8610099", // carrier service
			}},
		Input: Input{Zone: "UTC"},
		Window: Window{Size: time.Hour, Slide: 5 * time.Minute, AllowedLateness: 5 * time.Minute,
			MaxFuture: 15 * time.Minute, MaxJump: 15 * time.Minute, IdlePartition: 30 * time.Second,
			MaxSourceLag: 10 * time.Minute, ReportSkew: time.Minute},
		Detectors: Detectors{
			FanOut:         FanOut{MinCallees: 50},
			ShortCalls:     ShortCalls{MinAnswered: 20, MaxTalk: 10 * time.Second, MinShare: 0.7},
			Sequential:     Sequential{MinCallees: 10, MinRun: 5, MaxStep: 3},
			OneRing:        OneRing{MinAttempts: 10, MinShare: 0.5, MaxRing: 3 * time.Second},
			LowAnswerRate:  LowAnswerRate{MinAttempts: 40, MaxRate: 0.15},
			Burst:          Burst{MinPerMinute: 10},
			Concurrent:     Concurrent{MinConcurrent: 3},
			InvalidCallees: InvalidCallees{MinAttempts: 10, MinShare: 0.3},
			RoboticTiming:  RoboticTiming{MinCalls: 20, MaxCV: 0.1},
			NoCallback:     NoCallback{MinCallees: 20, MaxShare: 0.02, Grace: 30 * time.Minute},
			CallBombing:    CallBombing{MinCalls: 20, Span: 10 * time.Minute, MinPerCaller: 3},
			SpoofedOrigin:  SpoofedOrigin{MinCalls: 1},
		},
		Sink:      Sink{BatchSize: 100000, FlushInterval: time.Second, MaxBackoff: 30 * time.Second},
		Stats:     Stats{MinCalls: 10},
		Blocklist: Blocklist{TTL: 7 * 24 * time.Hour, MinScore: 0.8, TraitRisk: 0.35, Rules: DefaultRules()},
		Engine:    Engine{MaxCallees: 4096, QueueSize: 64},
	}
}

// DefaultRules are the verdict rules used when none are configured. One
// mild trait never blocks (a service centre has a high fan-out, a bank's
// notification line calls thousands, a courier makes many short calls);
// strong abuse patterns do on their own.
func DefaultRules() []string {
	return []string{
		"sequential_dialing = 0.95",
		"one_ring = 0.95",
		"call_bombing = 0.95",
		"spoofed_origin = 0.9",
		"concurrent_calls = 0.85",
		"fan_out + short_calls = 0.9",
		"short_calls + robotic_timing = 0.9",
		"short_calls + no_callback = 0.85",
		"fan_out + low_answer_rate + no_callback = 0.85",
		"invalid_callees + low_answer_rate = 0.85",
		"burst + short_calls = 0.85",
	}
}

// Traits are the detector names, as stored in flagged_numbers.
var Traits = []string{
	"fan_out", "short_calls", "sequential_dialing", "one_ring", "low_answer_rate", "burst",
	"concurrent_calls", "invalid_callees", "robotic_timing", "no_callback", "call_bombing", "spoofed_origin",
}

// ParseRules parses "trait + trait = risk" lines.
func ParseRules(lines []string) ([]schemas.Rule, error) {
	var out []schemas.Rule
	for _, l := range lines {
		lhs, rhs, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("rule %q: want \"trait + trait = risk\"", l)
		}
		risk, err := strconv.ParseFloat(strings.TrimSpace(rhs), 64)
		if err != nil || !(risk > 0 && risk <= 1) {
			return nil, fmt.Errorf("rule %q: risk %q is not a number in (0, 1]", l, strings.TrimSpace(rhs))
		}
		var r schemas.Rule
		for _, t := range strings.Split(lhs, "+") {
			t = strings.TrimSpace(t)
			if !slices.Contains(Traits, t) {
				return nil, fmt.Errorf("rule %q: unknown trait %q (known: %s)", l, t, strings.Join(Traits, ", "))
			}
			r.Traits = append(r.Traits, t)
		}
		r.Risk = risk
		out = append(out, r)
	}
	return out, nil
}

// Verdict returns the settings the verdict views carry. It assumes a
// validated configuration.
func (c *Config) Verdict() schemas.Verdict {
	rules, _ := ParseRules(c.Blocklist.Rules)
	return schemas.Verdict{TTL: c.Blocklist.TTL, MinScore: c.Blocklist.MinScore, TraitRisk: c.Blocklist.TraitRisk,
		Rules: rules, Allowlist: c.Numbering.Allowlist}
}

// secretSetting is a secret whose value may come from a file instead: key
// holds the value, key_file names the file.
type secretSetting struct {
	key   string
	value *string
	file  string
}

func (c *Config) secrets() []secretSetting {
	return []secretSetting{
		{"clickhouse.password", &c.ClickHouse.Password, c.ClickHouse.PasswordFile},
		{"kafka.sasl.password", &c.Kafka.SASL.Password, c.Kafka.SASL.PasswordFile},
	}
}

// ReadSecrets fills each secret whose *_file key is set from that file
// (its content, less a final newline), so that secrets can be mounted
// files rather than values in a config file or the environment. Setting
// both the value and the file is an error, as is a file that cannot be
// read.
func (c *Config) ReadSecrets() error {
	for _, s := range c.secrets() {
		if s.file == "" {
			continue
		}
		if *s.value != "" {
			return &Error{Key: s.key + "_file", Msg: fmt.Sprintf("set either %s or %s_file, not both", s.key, s.key)}
		}
		b, err := os.ReadFile(s.file)
		if err != nil {
			return &Error{Key: s.key + "_file", Msg: fmt.Sprintf("cannot read the secret: %v", err)}
		}
		*s.value = strings.TrimRight(string(b), "\r\n")
	}
	return nil
}

// IsSecret reports whether key holds a secret, whose value is never
// printed or logged.
func IsSecret(key string) bool {
	return strings.HasSuffix(key, "password") || strings.HasSuffix(key, "secret") || strings.HasSuffix(key, "_key")
}

// Identifier reports whether s is a plain ClickHouse identifier (letters,
// digits and _, not starting with a digit), safe to put in SQL as a name.
func Identifier(s string) bool { return identifier(s) }

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
		{!slices.Contains(SASLMechanisms, c.Kafka.SASL.Mechanism), "kafka.sasl.mechanism", fmt.Sprintf("%q is not one of %s", c.Kafka.SASL.Mechanism, strings.Join(SASLMechanisms, ", "))},
		{c.Kafka.SASL.Mechanism != "none" && c.Kafka.SASL.Username == "", "kafka.sasl.username", "must be set for kafka.sasl.mechanism " + c.Kafka.SASL.Mechanism},
		{(c.Kafka.TLS.CertFile == "") != (c.Kafka.TLS.KeyFile == ""), "kafka.tls.cert_file", "a client certificate needs both tls.cert_file and tls.key_file"},
		{!hostPort([]string{c.ClickHouse.Addr}), "clickhouse.addr", fmt.Sprintf("%q is not host:port", c.ClickHouse.Addr)},
		{!identifier(c.ClickHouse.Database), "clickhouse.database", fmt.Sprintf("%q is not a plain identifier (letters, digits, _)", c.ClickHouse.Database)},
		{c.ClickHouse.DialTimeout <= 0, "clickhouse.dial_timeout", "must be positive"},
		{!slices.Contains([]string{"lz4", "zstd", "none"}, c.ClickHouse.Compression), "clickhouse.compression", fmt.Sprintf("%q is not lz4, zstd or none", c.ClickHouse.Compression)},
		{(c.ClickHouse.TLS.CertFile == "") != (c.ClickHouse.TLS.KeyFile == ""), "clickhouse.tls.cert_file", "a client certificate needs both tls.cert_file and tls.key_file"},
		{!digits(c.Numbering.CountryCode) || len(c.Numbering.CountryCode) > 3 || strings.HasPrefix(c.Numbering.CountryCode, "0"),
			"numbering.country_code", fmt.Sprintf("%q is not a country calling code (1 to 3 digits, no leading 0)", c.Numbering.CountryCode)},
		{c.Window.Slide <= 0 || c.Window.Slide%time.Second != 0, "window.slide", "must be a positive whole number of seconds"},
		{c.Window.Size <= 0 || c.Window.Slide > 0 && c.Window.Size%c.Window.Slide != 0, "window.size", "must be a positive multiple of window.slide"},
		{c.Window.Slide > 0 && c.Window.Size/c.Window.Slide > maxWindowBuckets, "window.size", fmt.Sprintf("must be at most %d times window.slide", maxWindowBuckets)},
		{c.Window.AllowedLateness < 0 || c.Window.Slide > 0 && c.Window.AllowedLateness > 8*c.Window.Slide, "window.allowed_lateness", "must be between 0 and 8 times window.slide"},
		{c.Window.MaxFuture <= 0, "window.max_future", "must be positive"},
		{c.Window.MaxJump <= 0, "window.max_jump", "must be positive"},
		{c.Window.IdlePartition <= 0, "window.idle_partition", "must be positive"},
		{c.Window.MaxSourceLag <= 0, "window.max_source_lag", "must be positive"},
		{c.Window.ReportSkew <= 0, "window.report_skew", "must be positive"},
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
		{c.Metrics.Addr != "" && !hostPort([]string{c.Metrics.Addr}), "metrics.addr", fmt.Sprintf("%q is not host:port (or empty to turn it off)", c.Metrics.Addr)},
	}
	for _, ch := range checks {
		if ch.bad {
			return &Error{Key: ch.key, Msg: ch.msg}
		}
	}
	return c.validateTraits()
}

// validateTraits checks the settings of the issue-3 traits, the verdict
// rules and the numbering plan.
func (c *Config) validateTraits() error {
	d, n, b := &c.Detectors, &c.Numbering, &c.Blocklist
	share := func(v float64) bool { return v > 0 && v <= 1 }
	checks := []struct {
		bad      bool
		key, msg string
	}{
		{d.OneRing.MinAttempts < 1, "detectors.one_ring.min_attempts", "must be at least 1"},
		{!share(d.OneRing.MinShare), "detectors.one_ring.min_share", "must be in (0, 1]"},
		{d.OneRing.MaxRing <= 0, "detectors.one_ring.max_ring", "must be positive"},
		{d.LowAnswerRate.MinAttempts < 1, "detectors.low_answer_rate.min_attempts", "must be at least 1"},
		{!(d.LowAnswerRate.MaxRate >= 0 && d.LowAnswerRate.MaxRate < 1), "detectors.low_answer_rate.max_rate", "must be in [0, 1)"},
		{d.Burst.MinPerMinute < 2, "detectors.burst.min_per_minute", "must be at least 2"},
		{d.Concurrent.MinConcurrent < 2 || d.Concurrent.MinConcurrent > 32, "detectors.concurrent_calls.min_concurrent", "must be between 2 and 32"},
		{d.InvalidCallees.MinAttempts < 1, "detectors.invalid_callees.min_attempts", "must be at least 1"},
		{!share(d.InvalidCallees.MinShare), "detectors.invalid_callees.min_share", "must be in (0, 1]"},
		{d.RoboticTiming.MinCalls < 3, "detectors.robotic_timing.min_calls", "must be at least 3"},
		{!(d.RoboticTiming.MaxCV > 0 && d.RoboticTiming.MaxCV < 1), "detectors.robotic_timing.max_cv", "must be in (0, 1)"},
		{d.NoCallback.MinCallees < 1, "detectors.no_callback.min_callees", "must be at least 1"},
		{!(d.NoCallback.MaxShare >= 0 && d.NoCallback.MaxShare < 1), "detectors.no_callback.max_share", "must be in [0, 1)"},
		{d.NoCallback.Grace < 0 || d.NoCallback.Grace > 2*time.Hour, "detectors.no_callback.grace", "must be between 0 and 2h"},
		{d.CallBombing.MinCalls < 2, "detectors.call_bombing.min_calls", "must be at least 2"},
		{d.CallBombing.Span < time.Minute || d.CallBombing.Span > time.Hour, "detectors.call_bombing.span", "must be between 1m and 1h"},
		{d.CallBombing.MinPerCaller < 1 || d.CallBombing.MinPerCaller > d.CallBombing.MinCalls, "detectors.call_bombing.min_per_caller", "must be between 1 and min_calls"},
		{d.SpoofedOrigin.MinCalls < 1, "detectors.spoofed_origin.min_calls", "must be at least 1"},
		{n.MobileDigits < 4 || n.MobileDigits > 14, "numbering.mobile_digits", "must be between 4 and 14"},
		{n.MinNationalDigits < 1 || n.MinNationalDigits > n.MaxNationalDigits, "numbering.min_national_digits", "must be between 1 and max_national_digits"},
		{n.MaxNationalDigits > 14, "numbering.max_national_digits", "must be at most 14"},
		{!(b.MinScore > 0 && b.MinScore <= 1), "blocklist.min_score", "must be in (0, 1]"},
		{!(b.TraitRisk >= 0 && b.TraitRisk < 1), "blocklist.trait_risk", "must be in [0, 1)"},
	}
	for _, ch := range checks {
		if ch.bad {
			return &Error{Key: ch.key, Msg: ch.msg}
		}
	}
	for _, t := range d.Disabled {
		if !slices.Contains(Traits, t) {
			return &Error{Key: "detectors.disabled", Msg: fmt.Sprintf("unknown detector %q (known: %s)", t, strings.Join(Traits, ", "))}
		}
	}
	for _, p := range n.MobilePrefixes {
		if !e164Prefix(strings.TrimSuffix(p, "*")) {
			return &Error{Key: "numbering.mobile_prefixes", Msg: fmt.Sprintf("%q is not an E.164 prefix such as +8613", p)}
		}
	}
	for _, a := range n.Allowlist {
		if !e164Prefix(strings.TrimSuffix(a, "*")) {
			return &Error{Key: "numbering.allowlist", Msg: fmt.Sprintf("%q is not an E.164 number or prefix with '*'", a)}
		}
	}
	for _, t := range n.InternationalTrunks {
		if strings.TrimSpace(t) == "" || strings.ContainsAny(t, "'\\") {
			return &Error{Key: "numbering.international_trunks", Msg: fmt.Sprintf("%q is not a trunk id", t)}
		}
	}
	if _, err := ParseRules(b.Rules); err != nil {
		return &Error{Key: "blocklist.rules", Msg: err.Error()}
	}
	if err := c.validatePlan(); err != nil {
		return err
	}
	return c.validateInput()
}

// validatePlan checks the dialling prefixes of the home plan.
func (c *Config) validatePlan() error {
	n := &c.Numbering
	if n.NationalPrefix != "" && (!digits(n.NationalPrefix) || len(n.NationalPrefix) > 4) {
		return &Error{Key: "numbering.national_prefix", Msg: fmt.Sprintf("%q is not a trunk prefix (1 to 4 digits, or empty)", n.NationalPrefix)}
	}
	if len(n.InternationalPrefixes) == 0 {
		return &Error{Key: "numbering.international_prefixes", Msg: "must list at least one prefix, such as 00"}
	}
	for _, p := range n.InternationalPrefixes {
		if !digits(p) || len(p) > 5 {
			return &Error{Key: "numbering.international_prefixes", Msg: fmt.Sprintf("%q is not an international prefix (1 to 5 digits)", p)}
		}
		if p == n.NationalPrefix {
			return &Error{Key: "numbering.international_prefixes", Msg: fmt.Sprintf("%q is also the national prefix", p)}
		}
	}
	return nil
}

// validateInput checks the time zones.
func (c *Config) validateInput() error {
	if _, err := time.LoadLocation(c.Input.Zone); err != nil || c.Input.Zone == "" {
		return &Error{Key: "input.zone", Msg: fmt.Sprintf("%q is not a time zone (an IANA name such as Asia/Shanghai, or UTC)", c.Input.Zone)}
	}
	seen := map[string]bool{}
	for _, e := range c.Input.SwitchZones {
		sw, zone, ok := strings.Cut(e, "=")
		sw, zone = strings.TrimSpace(sw), strings.TrimSpace(zone)
		if !ok || sw == "" || zone == "" {
			return &Error{Key: "input.switch_zones", Msg: fmt.Sprintf("%q: want SWITCH=Zone, such as MSC-BJ-01=Asia/Shanghai", e)}
		}
		if _, err := time.LoadLocation(zone); err != nil {
			return &Error{Key: "input.switch_zones", Msg: fmt.Sprintf("%q: %q is not a time zone (an IANA name such as Asia/Shanghai)", e, zone)}
		}
		if seen[sw] {
			return &Error{Key: "input.switch_zones", Msg: fmt.Sprintf("switch %q is listed twice", sw)}
		}
		seen[sw] = true
	}
	return nil
}

// e164Prefix reports whether s is '+' and 1 to 15 digits.
func e164Prefix(s string) bool {
	return len(s) >= 2 && len(s) <= 16 && s[0] == '+' && digits(s[1:])
}

// ErrCredentials marks an error a service gave because it refused the
// credentials it was given (a wrong password, an unknown user): a
// configuration problem that retrying cannot mend.
var ErrCredentials = errors.New("credentials refused")

// IsConfigError reports whether err is a configuration error, refused
// credentials included.
func IsConfigError(err error) bool {
	var e *Error
	return errors.As(err, &e) || errors.Is(err, ErrCredentials)
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
