package config_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
)

// TestDefaultValidates makes sure the configuration used when nothing is
// set is itself valid.
func TestDefaultValidates(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

// TestDefaultIsFresh makes sure each Default() is an independent value,
// so a caller changing its copy (as every test below does) cannot change
// the next one.
func TestDefaultIsFresh(t *testing.T) {
	a := config.Default()
	a.Kafka.Brokers[0] = "changed:1"
	if b := config.Default(); b.Kafka.Brokers[0] != "127.0.0.1:9092" {
		t.Errorf("Default() shares its brokers slice: got %q", b.Kafka.Brokers[0])
	}
}

// validateCases are mutations of Default(): with key "" the result must
// validate (values exactly at a bound), otherwise Validate must return an
// *Error naming key.
var validateCases = []struct {
	name   string
	mutate func(c *config.Config)
	key    string
}{
	// kafka
	{"brokers nil", func(c *config.Config) { c.Kafka.Brokers = nil }, "kafka.brokers"},
	{"brokers empty entry", func(c *config.Config) { c.Kafka.Brokers = []string{"a:9092", " "} }, "kafka.brokers"},
	{"brokers no port", func(c *config.Config) { c.Kafka.Brokers = []string{"localhost"} }, "kafka.brokers"},
	{"brokers empty port", func(c *config.Config) { c.Kafka.Brokers = []string{"localhost:"} }, "kafka.brokers"},
	{"brokers no host", func(c *config.Config) { c.Kafka.Brokers = []string{":9092"} }, "kafka.brokers"},
	{"brokers port not numeric", func(c *config.Config) { c.Kafka.Brokers = []string{"a:9092", "b:kafka"} }, "kafka.brokers"},
	{"brokers several, ipv6", func(c *config.Config) { c.Kafka.Brokers = []string{"a:9092", "[::1]:9093"} }, ""},
	{"topic empty", func(c *config.Config) { c.Kafka.Topic = "" }, "kafka.topic"},
	{"topic blank", func(c *config.Config) { c.Kafka.Topic = " \t" }, "kafka.topic"},
	{"group empty", func(c *config.Config) { c.Kafka.Group = "" }, "kafka.group"},
	{"max_wait zero", func(c *config.Config) { c.Kafka.MaxWait = 0 }, "kafka.max_wait"},
	{"max_wait negative", func(c *config.Config) { c.Kafka.MaxWait = -time.Second }, "kafka.max_wait"},
	{"max_bytes just below", func(c *config.Config) { c.Kafka.MaxBytes = 1<<16 - 1 }, "kafka.max_bytes"},
	{"max_bytes at bound", func(c *config.Config) { c.Kafka.MaxBytes = 1 << 16 }, ""},
	{"session timeout below the brokers' minimum", func(c *config.Config) { c.Kafka.SessionTimeout = 5 * time.Second }, "kafka.session_timeout"},
	{"session timeout at bound", func(c *config.Config) { c.Kafka.SessionTimeout = 6 * time.Second }, ""},
	{"rebalance timeout zero", func(c *config.Config) { c.Kafka.RebalanceTimeout = 0 }, "kafka.rebalance_timeout"},
	{"sasl mechanism unknown", func(c *config.Config) { c.Kafka.SASL.Mechanism = "gssapi" }, "kafka.sasl.mechanism"},
	{"sasl without user", func(c *config.Config) { c.Kafka.SASL.Mechanism = "plain" }, "kafka.sasl.username"},
	{"sasl scram", func(c *config.Config) { c.Kafka.SASL.Mechanism, c.Kafka.SASL.Username = "scram-sha-512", "u" }, ""},
	{"kafka tls cert without key", func(c *config.Config) { c.Kafka.TLS.KeyFile = "k.pem" }, "kafka.tls.cert_file"},

	// clickhouse
	{"addr empty", func(c *config.Config) { c.ClickHouse.Addr = "" }, "clickhouse.addr"},
	{"addr no port", func(c *config.Config) { c.ClickHouse.Addr = "clickhouse" }, "clickhouse.addr"},
	{"addr replica no port", func(c *config.Config) { c.ClickHouse.Addr = "ch1:9000,ch2" }, "clickhouse.addr"},
	{"addr only commas", func(c *config.Config) { c.ClickHouse.Addr = " , " }, "clickhouse.addr"},
	{"repartition partitions", func(c *config.Config) { c.Kafka.Repartition.Partitions = 0 }, "kafka.repartition.partitions"},
	{"repartition replication", func(c *config.Config) { c.Kafka.Repartition.Replication = 0 }, "kafka.repartition.replication"},
	{"repartition retention", func(c *config.Config) { c.Kafka.Repartition.Retention = time.Hour }, "kafka.repartition.retention"},
	{"repartition topic is the input", func(c *config.Config) {
		c.Kafka.Repartition.Enabled, c.Kafka.Repartition.Topic = true, c.Kafka.Topic
	}, "kafka.repartition.topic"},
	{"cluster sql", func(c *config.Config) { c.ClickHouse.Cluster = "c1 ON CLUSTER x" }, "clickhouse.cluster"},
	{"database sql", func(c *config.Config) { c.ClickHouse.Database = "drop table;" }, "clickhouse.database"},
	{"database empty", func(c *config.Config) { c.ClickHouse.Database = "" }, "clickhouse.database"},
	{"database leading digit", func(c *config.Config) { c.ClickHouse.Database = "1db" }, "clickhouse.database"},
	{"database dash", func(c *config.Config) { c.ClickHouse.Database = "cdr-pipe" }, "clickhouse.database"},
	{"database underscore digits", func(c *config.Config) { c.ClickHouse.Database = "_cdrpipe_2" }, ""},
	{"dial_timeout zero", func(c *config.Config) { c.ClickHouse.DialTimeout = 0 }, "clickhouse.dial_timeout"},
	{"ddl_timeout past the read timeout", func(c *config.Config) { c.ClickHouse.DDLTimeout = 10 * time.Minute }, "clickhouse.ddl_timeout"},
	{"compression unknown", func(c *config.Config) { c.ClickHouse.Compression = "gzip" }, "clickhouse.compression"},
	{"compression lz4", func(c *config.Config) { c.ClickHouse.Compression = "lz4" }, ""},
	{"tls cert without key", func(c *config.Config) { c.ClickHouse.TLS.CertFile = "c.pem" }, "clickhouse.tls.cert_file"},
	{"tls cert and key", func(c *config.Config) { c.ClickHouse.TLS.CertFile, c.ClickHouse.TLS.KeyFile = "c.pem", "k.pem" }, ""},

	// numbering
	{"country code leading zero", func(c *config.Config) { c.Numbering.CountryCode = "086" }, "numbering.country_code"},
	{"country code letters", func(c *config.Config) { c.Numbering.CountryCode = "abcd" }, "numbering.country_code"},
	{"country code too long", func(c *config.Config) { c.Numbering.CountryCode = "8612" }, "numbering.country_code"},
	{"country code empty", func(c *config.Config) { c.Numbering.CountryCode = "" }, "numbering.country_code"},
	{"country code plus", func(c *config.Config) { c.Numbering.CountryCode = "+86" }, "numbering.country_code"},
	{"country code one digit", func(c *config.Config) { c.Numbering.CountryCode = "1" }, ""},
	{"country code three digits", func(c *config.Config) { c.Numbering.CountryCode = "852" }, ""},

	// window
	{"slide zero", func(c *config.Config) { c.Window.Slide = 0 }, "window.slide"},
	{"slide negative", func(c *config.Config) { c.Window.Slide = -time.Minute }, "window.slide"},
	{"slide fraction of a second", func(c *config.Config) { c.Window.Slide = 1500 * time.Millisecond }, "window.slide"},
	{"size zero", func(c *config.Config) { c.Window.Size = 0 }, "window.size"},
	{"size not multiple of slide", func(c *config.Config) { c.Window.Size = 7 * time.Minute }, "window.size"},
	{"size smaller than slide", func(c *config.Config) { c.Window.Size = time.Minute }, "window.size"},
	{"size equals slide", func(c *config.Config) {
		c.Window.Size = c.Window.Slide
		c.Detectors.Daily.Enabled = false // five-minute windows do not tile a day in 64
	}, ""},
	{"size at bucket bound", func(c *config.Config) { c.Window.Size = 48 * c.Window.Slide }, ""},
	{"size past bucket bound", func(c *config.Config) { c.Window.Size = 49 * c.Window.Slide }, "window.size"},
	{"lateness negative", func(c *config.Config) { c.Window.AllowedLateness = -time.Second }, "window.allowed_lateness"},
	{"lateness zero", func(c *config.Config) { c.Window.AllowedLateness = 0 }, ""},
	{"lateness at bound", func(c *config.Config) { c.Window.AllowedLateness = 8 * c.Window.Slide }, ""},
	{"lateness past bound", func(c *config.Config) { c.Window.AllowedLateness = 8*c.Window.Slide + time.Second }, "window.allowed_lateness"},
	{"max_future zero", func(c *config.Config) { c.Window.MaxFuture = 0 }, "window.max_future"},
	{"max_jump zero", func(c *config.Config) { c.Window.MaxJump = 0 }, "window.max_jump"},
	{"idle_partition zero", func(c *config.Config) { c.Window.IdlePartition = 0 }, "window.idle_partition"},
	{"max_source_lag zero", func(c *config.Config) { c.Window.MaxSourceLag = 0 }, "window.max_source_lag"},
	{"report_skew zero", func(c *config.Config) { c.Window.ReportSkew = 0 }, "window.report_skew"},

	// numbering plan prefixes
	{"national prefix letters", func(c *config.Config) { c.Numbering.NationalPrefix = "o" }, "numbering.national_prefix"},
	{"national prefix too long", func(c *config.Config) { c.Numbering.NationalPrefix = "00000" }, "numbering.national_prefix"},
	{"national prefix none", func(c *config.Config) { c.Numbering.NationalPrefix = "" }, ""},
	{"russian plan", func(c *config.Config) {
		c.Numbering.CountryCode, c.Numbering.NationalPrefix, c.Numbering.InternationalPrefixes = "7", "8", []string{"810"}
	}, ""},
	{"nanp plan", func(c *config.Config) {
		c.Numbering.CountryCode, c.Numbering.NationalPrefix, c.Numbering.InternationalPrefixes = "1", "1", []string{"011"}
	}, ""},
	{"international prefixes none", func(c *config.Config) { c.Numbering.InternationalPrefixes = nil }, "numbering.international_prefixes"},
	{"international prefix plus", func(c *config.Config) { c.Numbering.InternationalPrefixes = []string{"+"} }, "numbering.international_prefixes"},
	{"international prefix same as national", func(c *config.Config) { c.Numbering.InternationalPrefixes = []string{"0"} }, "numbering.international_prefixes"},

	// input zones
	{"zone unknown", func(c *config.Config) { c.Input.Zone = "Mars/Olympus" }, "input.zone"},
	{"zone empty", func(c *config.Config) { c.Input.Zone = "" }, "input.zone"},
	{"zone shanghai", func(c *config.Config) { c.Input.Zone = "Asia/Shanghai" }, ""},
	{"switch zones", func(c *config.Config) { c.Input.SwitchZones = []string{"SW1=Asia/Shanghai", " SW2 = America/New_York"} }, ""},
	{"switch zone no =", func(c *config.Config) { c.Input.SwitchZones = []string{"SW1 Asia/Shanghai"} }, "input.switch_zones"},
	{"switch zone empty switch", func(c *config.Config) { c.Input.SwitchZones = []string{"=UTC"} }, "input.switch_zones"},
	{"switch zone unknown", func(c *config.Config) { c.Input.SwitchZones = []string{"SW1=Nowhere/Town"} }, "input.switch_zones"},
	{"switch zone twice", func(c *config.Config) { c.Input.SwitchZones = []string{"SW1=UTC", "SW1=Asia/Shanghai"} }, "input.switch_zones"},
	{"switch plan no =", func(c *config.Config) { c.Numbering.SwitchPlans = []string{"MSK 7:8:810"} }, "numbering.switch_plans"},
	{"switch plan two parts", func(c *config.Config) { c.Numbering.SwitchPlans = []string{"MSK=7:810"} }, "numbering.switch_plans"},
	{"switch plan letters", func(c *config.Config) { c.Numbering.SwitchPlans = []string{"MSK=RU:8:810"} }, "numbering.switch_plans"},
	{"switch plan no international", func(c *config.Config) { c.Numbering.SwitchPlans = []string{"MSK=7:8:"} }, "numbering.switch_plans"},
	{"switch plan prefix clash", func(c *config.Config) { c.Numbering.SwitchPlans = []string{"MSK=7:8:8"} }, "numbering.switch_plans"},
	{"switch plan twice", func(c *config.Config) { c.Numbering.SwitchPlans = []string{"MSK=7:8:810", "MSK=7::00"} }, "numbering.switch_plans"},

	// detectors
	{"fan_out min_callees 1", func(c *config.Config) { c.Detectors.FanOut.MinCallees = 1 }, "detectors.fan_out.min_callees"},
	{"fan_out min_callees 2", func(c *config.Config) { c.Detectors.FanOut.MinCallees = 2 }, ""},
	{"short_calls min_answered 0", func(c *config.Config) { c.Detectors.ShortCalls.MinAnswered = 0 }, "detectors.short_calls.min_answered"},
	{"short_calls min_answered 1", func(c *config.Config) { c.Detectors.ShortCalls.MinAnswered = 1 }, ""},
	{"short_calls max_talk zero", func(c *config.Config) { c.Detectors.ShortCalls.MaxTalk = 0 }, "detectors.short_calls.max_talk"},
	{"short_calls min_share zero", func(c *config.Config) { c.Detectors.ShortCalls.MinShare = 0 }, "detectors.short_calls.min_share"},
	{"short_calls min_share negative", func(c *config.Config) { c.Detectors.ShortCalls.MinShare = -0.5 }, "detectors.short_calls.min_share"},
	{"short_calls min_share 1.5", func(c *config.Config) { c.Detectors.ShortCalls.MinShare = 1.5 }, "detectors.short_calls.min_share"},
	{"short_calls min_share +Inf", func(c *config.Config) { c.Detectors.ShortCalls.MinShare = math.Inf(1) }, "detectors.short_calls.min_share"},
	// NaN compares false with everything, so it passes both bounds and
	// then flags every caller with enough answered calls.
	{"short_calls min_share NaN", func(c *config.Config) { c.Detectors.ShortCalls.MinShare = math.NaN() }, "detectors.short_calls.min_share"},
	{"short_calls min_share 1", func(c *config.Config) { c.Detectors.ShortCalls.MinShare = 1 }, ""},
	{"sequential min_run 1", func(c *config.Config) { c.Detectors.Sequential.MinRun = 1 }, "detectors.sequential_dialing.min_run"},
	{"sequential min_callees below min_run", func(c *config.Config) { c.Detectors.Sequential.MinCallees = c.Detectors.Sequential.MinRun - 1 }, "detectors.sequential_dialing.min_callees"},
	{"sequential min_callees equals min_run", func(c *config.Config) { c.Detectors.Sequential.MinCallees = c.Detectors.Sequential.MinRun }, ""},
	{"sequential max_step 0", func(c *config.Config) { c.Detectors.Sequential.MaxStep = 0 }, "detectors.sequential_dialing.max_step"},
	{"sequential max_step 1", func(c *config.Config) { c.Detectors.Sequential.MaxStep = 1 }, ""},

	// sink
	{"batch_size 0", func(c *config.Config) { c.Sink.BatchSize = 0 }, "sink.batch_size"},
	{"batch_size negative", func(c *config.Config) { c.Sink.BatchSize = -5 }, "sink.batch_size"},
	{"batch_size 1", func(c *config.Config) { c.Sink.BatchSize = 1 }, ""},
	{"batch_size at bound", func(c *config.Config) { c.Sink.BatchSize = 1_000_000 }, ""},
	{"batch_size past bound", func(c *config.Config) { c.Sink.BatchSize = 1_000_001 }, "sink.batch_size"},
	{"flush_interval zero", func(c *config.Config) { c.Sink.FlushInterval = 0 }, "sink.flush_interval"},
	{"max_backoff zero", func(c *config.Config) { c.Sink.MaxBackoff = 0 }, "sink.max_backoff"},

	// stats, blocklist, engine
	{"stats min_calls 0", func(c *config.Config) { c.Stats.MinCalls = 0 }, "stats.min_calls"},
	{"blocklist ttl just below 1h", func(c *config.Config) { c.Blocklist.TTL = time.Hour - time.Second }, "blocklist.ttl"},
	{"blocklist ttl 1h", func(c *config.Config) { c.Blocklist.TTL = time.Hour }, ""},
	{"shards negative", func(c *config.Config) { c.Engine.Shards = -1 }, "engine.shards"},
	{"shards at bound", func(c *config.Config) { c.Engine.Shards = 256 }, ""},
	{"shards past bound", func(c *config.Config) { c.Engine.Shards = 257 }, "engine.shards"},
	{"max_callees just below", func(c *config.Config) { c.Engine.MaxCallees = 63 }, "engine.max_callees"},
	{"max_callees at bound", func(c *config.Config) { c.Engine.MaxCallees = 64 }, ""},
	{"queue_size 0", func(c *config.Config) { c.Engine.QueueSize = 0 }, "engine.queue_size"},
	// issue-3 traits, numbering plan and verdict
	{"one_ring min_attempts 0", func(c *config.Config) { c.Detectors.OneRing.MinAttempts = 0 }, "detectors.one_ring.min_attempts"},
	{"one_ring min_share 0", func(c *config.Config) { c.Detectors.OneRing.MinShare = 0 }, "detectors.one_ring.min_share"},
	{"one_ring max_ring 0", func(c *config.Config) { c.Detectors.OneRing.MaxRing = 0 }, "detectors.one_ring.max_ring"},
	{"low_answer_rate min_attempts 0", func(c *config.Config) { c.Detectors.LowAnswerRate.MinAttempts = 0 }, "detectors.low_answer_rate.min_attempts"},
	{"low_answer_rate max_rate 1", func(c *config.Config) { c.Detectors.LowAnswerRate.MaxRate = 1 }, "detectors.low_answer_rate.max_rate"},
	{"burst 1 per minute", func(c *config.Config) { c.Detectors.Burst.MinPerMinute = 1 }, "detectors.burst.min_per_minute"},
	{"concurrent 1", func(c *config.Config) { c.Detectors.Concurrent.MinConcurrent = 1 }, "detectors.concurrent_calls.min_concurrent"},
	{"concurrent 33", func(c *config.Config) { c.Detectors.Concurrent.MinConcurrent = 33 }, "detectors.concurrent_calls.min_concurrent"},
	{"invalid_callees min_attempts 0", func(c *config.Config) { c.Detectors.InvalidCallees.MinAttempts = 0 }, "detectors.invalid_callees.min_attempts"},
	{"invalid_callees min_share 2", func(c *config.Config) { c.Detectors.InvalidCallees.MinShare = 2 }, "detectors.invalid_callees.min_share"},
	{"robotic min_calls 2", func(c *config.Config) { c.Detectors.RoboticTiming.MinCalls = 2 }, "detectors.robotic_timing.min_calls"},
	{"robotic max_cv 1", func(c *config.Config) { c.Detectors.RoboticTiming.MaxCV = 1 }, "detectors.robotic_timing.max_cv"},
	{"no_callback min_callees 0", func(c *config.Config) { c.Detectors.NoCallback.MinCallees = 0 }, "detectors.no_callback.min_callees"},
	{"no_callback max_share 1", func(c *config.Config) { c.Detectors.NoCallback.MaxShare = 1 }, "detectors.no_callback.max_share"},
	{"no_callback grace 3h", func(c *config.Config) { c.Detectors.NoCallback.Grace = 3 * time.Hour }, "detectors.no_callback.grace"},
	{"call_bombing min_calls 1", func(c *config.Config) { c.Detectors.CallBombing.MinCalls = 1 }, "detectors.call_bombing.min_calls"},
	{"call_bombing span 2h", func(c *config.Config) { c.Detectors.CallBombing.Span = 2 * time.Hour }, "detectors.call_bombing.span"},
	{"call_bombing calls per caller below 1", func(c *config.Config) { c.Detectors.CallBombing.MinCallsPerCaller = 0.5 }, "detectors.call_bombing.min_calls_per_caller"},
	{"call_bombing per caller above min_calls", func(c *config.Config) { c.Detectors.CallBombing.MinPerCaller = 21 }, "detectors.call_bombing.min_per_caller"},
	{"spoofed min_calls 0", func(c *config.Config) { c.Detectors.SpoofedOrigin.MinCalls = 0 }, "detectors.spoofed_origin.min_calls"},
	{"disabled unknown", func(c *config.Config) { c.Detectors.Disabled = []string{"fanout"} }, "detectors.disabled"},
	{"disabled known", func(c *config.Config) { c.Detectors.Disabled = []string{"burst", "no_callback"} }, ""},
	{"mobile_digits 3", func(c *config.Config) { c.Numbering.MobileDigits = 3 }, "numbering.mobile_digits"},
	{"min_national above max", func(c *config.Config) { c.Numbering.MinNationalDigits = 12 }, "numbering.min_national_digits"},
	{"max_national 15", func(c *config.Config) { c.Numbering.MaxNationalDigits = 15 }, "numbering.max_national_digits"},
	{"mobile prefix without +", func(c *config.Config) { c.Numbering.MobilePrefixes = []string{"8613"} }, "numbering.mobile_prefixes"},
	{"allowlist national form", func(c *config.Config) { c.Numbering.Allowlist = []string{"110"} }, "numbering.allowlist"},
	{"allowlist prefix", func(c *config.Config) { c.Numbering.Allowlist = []string{"+8695588*"} }, ""},
	{"trunk with a quote", func(c *config.Config) { c.Numbering.InternationalTrunks = []string{"it's"} }, "numbering.international_trunks"},
	{"min_score 0", func(c *config.Config) { c.Blocklist.MinScore = 0 }, "blocklist.min_score"},
	{"trait_risk 1", func(c *config.Config) { c.Blocklist.TraitRisk = 1 }, "blocklist.trait_risk"},
	{"rule without risk", func(c *config.Config) { c.Blocklist.Rules = []string{"fan_out"} }, "blocklist.rules"},
	{"rule unknown trait", func(c *config.Config) { c.Blocklist.Rules = []string{"fanout = 0.9"} }, "blocklist.rules"},
	{"rule risk above 1", func(c *config.Config) { c.Blocklist.Rules = []string{"fan_out = 1.5"} }, "blocklist.rules"},
	{"no rules", func(c *config.Config) { c.Blocklist.Rules = nil }, ""},
	{"metrics addr without port", func(c *config.Config) { c.Metrics.Addr = "localhost" }, "metrics.addr"},
	{"metrics addr", func(c *config.Config) { c.Metrics.Addr = "127.0.0.1:9464" }, ""},
	// campaigns
	{"campaign blocks of one number", func(c *config.Config) { c.Detectors.Campaigns.BlockDigits = 0 }, "detectors.campaigns.block_digits"},
	{"campaign blocks of 10^5", func(c *config.Config) { c.Detectors.Campaigns.BlockDigits = 5 }, "detectors.campaigns.block_digits"},
	{"campaign blocks of 10", func(c *config.Config) { c.Detectors.Campaigns.BlockDigits = 1 }, ""},
	{"campaign ranges wider than blocks", func(c *config.Config) { c.Detectors.Campaigns.RangeDigits = 3 }, "detectors.campaigns.range_digits"},
	{"campaign ranges of single numbers", func(c *config.Config) { c.Detectors.Campaigns.RangeDigits = 0 }, ""},
	{"campaign one number", func(c *config.Config) { c.Detectors.Campaigns.MinNumbers = 1 }, "detectors.campaigns.min_numbers"},
	{"campaign calls per number under 1", func(c *config.Config) { c.Detectors.Campaigns.MaxCallsPerNumber = 0.5 }, "detectors.campaigns.max_calls_per_number"},
	{"campaign max calls tiny", func(c *config.Config) { c.Detectors.Campaigns.MaxCalls = 10 }, "detectors.campaigns.max_calls"},
	{"campaign no callees", func(c *config.Config) { c.Detectors.Campaigns.MinCallees = 0 }, "detectors.campaigns.min_callees"},
	{"campaign no answered", func(c *config.Config) { c.Detectors.Campaigns.MinAnswered = 0 }, "detectors.campaigns.min_answered"},
	{"campaign short share over 1", func(c *config.Config) { c.Detectors.Campaigns.MinShortShare = 1.5 }, "detectors.campaigns.min_short_share"},
	{"campaign no attempts", func(c *config.Config) { c.Detectors.Campaigns.MinAttempts = 0 }, "detectors.campaigns.min_attempts"},
	{"campaign answer rate 1", func(c *config.Config) { c.Detectors.Campaigns.MaxAnswerRate = 1 }, "detectors.campaigns.max_answer_rate"},
	{"campaigns off", func(c *config.Config) { c.Detectors.Campaigns.Enabled = false }, ""},
	{"spoofed abroad no callees", func(c *config.Config) { c.Detectors.SpoofedOrigin.MinCalleesAbroad = 0 }, "detectors.spoofed_origin.min_callees_abroad"},
	{"daily zone unknown", func(c *config.Config) { c.Detectors.Daily.Zone = "Mars/Olympus" }, "detectors.daily.zone"},
	{"daily zone local", func(c *config.Config) { c.Detectors.Daily.Zone = "Asia/Shanghai" }, ""},
	{"daily with a 50-minute window", func(c *config.Config) { c.Window.Size = 50 * time.Minute }, "detectors.daily.enabled"},
	{"daily off with a 50-minute window", func(c *config.Config) {
		c.Window.Size = 50 * time.Minute
		c.Detectors.Daily.Enabled = false
	}, ""},
	{"daily with 15-minute windows", func(c *config.Config) { c.Window.Size = 15 * time.Minute }, "detectors.daily.enabled"},
	{"daily no callees", func(c *config.Config) { c.Detectors.Daily.MinCallees = 0 }, "detectors.daily.min_callees"},
	{"daily no answered", func(c *config.Config) { c.Detectors.Daily.MinAnswered = 0 }, "detectors.daily.min_answered"},
	{"daily no attempts", func(c *config.Config) { c.Detectors.Daily.MinAttempts = 0 }, "detectors.daily.min_attempts"},
	// retention and privacy
	{"retention cdrs negative", func(c *config.Config) { c.Retention.CDRs = -24 * time.Hour }, "retention.cdrs"},
	{"retention cdrs in minutes", func(c *config.Config) { c.Retention.CDRs = 90 * time.Minute }, "retention.cdrs"},
	{"retention rejects in hours", func(c *config.Config) { c.Retention.Rejects = 36 * time.Hour }, ""},
	{"retention everything kept", func(c *config.Config) { c.Retention = config.Retention{} }, ""},
	{"retention device_ids in seconds", func(c *config.Config) { c.Retention.DeviceIDs = time.Second }, "retention.device_ids"},
	{"retention quarantine negative", func(c *config.Config) { c.Retention.Quarantine = -time.Hour }, "retention.quarantine"},
	{"retention caller_stats odd", func(c *config.Config) { c.Retention.CallerStats = time.Hour + time.Minute }, "retention.caller_stats"},
	{"retention flags odd", func(c *config.Config) { c.Retention.FlaggedNumbers = 400*24*time.Hour + time.Minute }, "retention.flagged_numbers"},
	{"retention flags shorter than the verdict ttl", func(c *config.Config) { c.Retention.FlaggedNumbers = 6 * 24 * time.Hour }, "retention.flagged_numbers"},
	{"retention flags as long as the verdict ttl", func(c *config.Config) { c.Retention.FlaggedNumbers = 7 * 24 * time.Hour }, ""},
	{"callee key short", func(c *config.Config) { c.Privacy.CalleeKey = "0123456789abcdef0123456789abcde" }, "privacy.callee_key"},
	{"callee key at bound", func(c *config.Config) { c.Privacy.CalleeKey = "0123456789abcdef0123456789abcdef" }, ""},
	{"clear callee national form", func(c *config.Config) { c.Privacy.ClearCallees = []string{"400*"} }, "privacy.clear_callees"},
}

// TestValidate applies each mutation to Default() and checks that
// Validate accepts values at a bound and rejects bad ones with an *Error
// naming the offending key.
func TestValidate(t *testing.T) {
	for _, tt := range validateCases {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.mutate(&c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error for %s", tt.key)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %T %v, want *config.Error", err, err)
			}
			if ce.Key != tt.key {
				t.Errorf("Validate() names key %q (%v), want %q", ce.Key, err, tt.key)
			}
			if ce.Msg == "" {
				t.Errorf("Validate() error for %s has no message", ce.Key)
			}
			if want := "config " + tt.key + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
			}
			if !config.IsConfigError(err) {
				t.Errorf("IsConfigError(%v) = false", err)
			}
		})
	}
}

// TestValidateCoversEveryRule reads the keys named in Validate and the
// validate* methods it calls, in every file of the package, and makes
// sure each has at least one bad case above, so a new rule cannot land
// without one.
func TestValidateCoversEveryRule(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var body string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fn := range strings.Split(string(src), "\nfunc (c *Config) ")[1:] {
			if strings.HasPrefix(fn, "Validate() error {") || strings.HasPrefix(fn, "validate") {
				fn, _, _ = strings.Cut(fn, "\n}\n")
				body += fn
			}
		}
	}
	if !strings.Contains(body, "validateTraits") {
		t.Fatal("Validate not found")
	}
	keyRE := regexp.MustCompile(`"([a-z_]+(?:\.[a-z_]+)+)",\s*(?:Msg: )?(?:"|fmt\.Sprintf)`)
	covered := map[string]bool{}
	for _, tt := range validateCases {
		covered[tt.key] = true
	}
	found := 0
	for _, m := range keyRE.FindAllStringSubmatch(body, -1) {
		found++
		if !covered[m[1]] {
			t.Errorf("rule for %s has no bad case in validateCases", m[1])
		}
	}
	if found < 30 {
		t.Errorf("found only %d rule keys in Validate; has its layout changed?", found)
	}
}

// TestIsConfigError checks that configuration errors are recognised
// through wrapping and that other errors are not.
func TestIsConfigError(t *testing.T) {
	ce := &config.Error{Key: "kafka.topic", Msg: "must not be empty"}
	f := func(err error, want bool) {
		t.Helper()
		if got := config.IsConfigError(err); got != want {
			t.Errorf("IsConfigError(%v) = %v, want %v", err, got, want)
		}
	}
	f(ce, true)
	f(fmt.Errorf("resolve: %w", ce), true)
	f(errors.Join(errors.New("other"), ce), true)
	f(errors.New("config kafka.topic: must not be empty"), false)
	f(nil, false)
	if got, want := ce.Error(), "config kafka.topic: must not be empty"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
