// Package config holds cdrpipe's typed configuration: every setting with
// its default, and one Validate that checks the rules spanning fields.
// cmd/cdrpipe fills it from defaults, a YAML file, CDRPIPE_* environment
// variables and flags (in that order of precedence) and hands each
// component only its part.
package config

import (
	"errors"
	"fmt"
	"time"
	// Zones must load on hosts without a zoneinfo database (containers).
	_ "time/tzdata"
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
	Retention  Retention  `mapstructure:"retention"`
	Privacy    Privacy    `mapstructure:"privacy"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Kafka: Kafka{Brokers: []string{"127.0.0.1:9092"}, Topic: "cdrs", Group: "cdrpipe", Format: "json",
			MaxWait: 500 * time.Millisecond, MaxBytes: 16 << 20, SASL: SASL{Mechanism: "none"},
			SessionTimeout: 10 * time.Second, RebalanceTimeout: 30 * time.Second,
			Repartition: Repartition{Partitions: 12, Replication: 1, Retention: 24 * time.Hour}},
		ClickHouse: ClickHouse{Addr: "127.0.0.1:9000", Database: "cdrpipe", Username: "default",
			DialTimeout: 5 * time.Second, DDLTimeout: 3 * time.Minute, Compression: "none"},
		Numbering: Numbering{CountryCode: "86", NationalPrefix: "0", InternationalPrefixes: []string{"00"},
			MobilePrefixes: []string{"+8613", "+8614", "+8615", "+8616", "+8617", "+8618", "+8619"},
			MobileDigits:   11, MinNationalDigits: 3, MaxNationalDigits: 11,
			Allowlist: []string{
				"+86110", "+86112", "+86119", "+86120", "+86122", "+8612110", "+8612395", // emergency
				"+8610000", "+8610001", "+8610010", "+8610086", "+8610099", // carrier service
			}},
		Input: Input{Zone: "UTC", CSV: CSV{Delimiter: ",", Header: true}},
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
			CallBombing:    CallBombing{MinCalls: 20, Span: 10 * time.Minute, MinPerCaller: 3, MinCallsPerCaller: 2.5},
			SpoofedOrigin:  SpoofedOrigin{MinCalls: 1, MinCalleesAbroad: 5},
			Campaigns:      defaultCampaigns(),
			Daily:          defaultDaily(),
		},
		Sink:      Sink{BatchSize: 100000, FlushInterval: time.Second, MaxBackoff: 30 * time.Second},
		Stats:     Stats{MinCalls: 10},
		Blocklist: Blocklist{TTL: 7 * 24 * time.Hour, MinScore: 0.8, TraitRisk: 0.35, Rules: DefaultRules()},
		Engine:    Engine{MaxCallees: 4096, QueueSize: 64},
		Retention: defaultRetention(),
		Privacy:   Privacy{ClearCallees: defaultClearCallees()},
	}
}

// Error is a configuration error naming the offending key.
type Error struct {
	Key string
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("config %s: %s", e.Key, e.Msg) }

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
