package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

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
		{c.Kafka.SessionTimeout < 6*time.Second || c.Kafka.SessionTimeout > 5*time.Minute, "kafka.session_timeout", "must be between 6s (the brokers' minimum) and 5m"},
		{c.Kafka.RebalanceTimeout < time.Second, "kafka.rebalance_timeout", "must be at least 1s"},
		{!slices.Contains(SASLMechanisms, c.Kafka.SASL.Mechanism), "kafka.sasl.mechanism", fmt.Sprintf("%q is not one of %s", c.Kafka.SASL.Mechanism, strings.Join(SASLMechanisms, ", "))},
		{c.Kafka.SASL.Mechanism != "none" && c.Kafka.SASL.Username == "", "kafka.sasl.username", "must be set for kafka.sasl.mechanism " + c.Kafka.SASL.Mechanism},
		{(c.Kafka.TLS.CertFile == "") != (c.Kafka.TLS.KeyFile == ""), "kafka.tls.cert_file", "a client certificate needs both tls.cert_file and tls.key_file"},
		{c.Kafka.Repartition.Partitions < 1 || c.Kafka.Repartition.Partitions > 10000, "kafka.repartition.partitions", "must be between 1 and 10000"},
		{c.Kafka.Repartition.Replication < 1, "kafka.repartition.replication", "must be at least 1"},
		{c.Kafka.Repartition.Retention < 6*time.Hour, "kafka.repartition.retention", "must be at least 6h: a restart re-reads the open windows, the lateness and the callback grace"},
		{c.Kafka.Repartition.Enabled && c.Kafka.InternalTopic() == c.Kafka.Topic, "kafka.repartition.topic", "must not be kafka.topic"},
		{len(c.ClickHouse.Addrs()) == 0 || !hostPort(c.ClickHouse.Addrs()), "clickhouse.addr", fmt.Sprintf("%q is not host:port (or a comma-separated list of them)", c.ClickHouse.Addr)},
		{c.ClickHouse.Cluster != "" && !identifier(c.ClickHouse.Cluster), "clickhouse.cluster", fmt.Sprintf("%q is not a plain identifier (letters, digits, _)", c.ClickHouse.Cluster)},
		{!identifier(c.ClickHouse.Database), "clickhouse.database", fmt.Sprintf("%q is not a plain identifier (letters, digits, _)", c.ClickHouse.Database)},
		{c.ClickHouse.DialTimeout <= 0, "clickhouse.dial_timeout", "must be positive"},
		{c.ClickHouse.DDLTimeout < time.Second || c.ClickHouse.DDLTimeout > 4*time.Minute, "clickhouse.ddl_timeout", "must be between 1s and 4m (the connection's read timeout is 5m)"},
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
		{!(d.CallBombing.MinCallsPerCaller >= 1) || d.CallBombing.MinCallsPerCaller > float64(d.CallBombing.MinCalls), "detectors.call_bombing.min_calls_per_caller", "must be between 1 and min_calls"},
		{d.SpoofedOrigin.MinCalls < 1, "detectors.spoofed_origin.min_calls", "must be at least 1"},
		{d.SpoofedOrigin.MinCalleesAbroad < 1, "detectors.spoofed_origin.min_callees_abroad", "must be at least 1"},
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
	if err := c.validateCampaigns(); err != nil {
		return err
	}
	if err := c.validateDaily(); err != nil {
		return err
	}
	if err := c.validateInput(); err != nil {
		return err
	}
	return c.validatePrivacy()
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

// validateInput checks the time zones and the switches' numbering plans.
func (c *Config) validateInput() error {
	plans := map[string]bool{}
	for _, e := range c.Numbering.SwitchPlans {
		sp, ok := parsePlan(e)
		if !ok {
			return &Error{Key: "numbering.switch_plans", Msg: fmt.Sprintf("%q: want SWITCH=CC:NATIONAL_PREFIX:INTL|INTL of digits, such as AST-MSK=7:8:810|00", e)}
		}
		if plans[sp.Switch] {
			return &Error{Key: "numbering.switch_plans", Msg: fmt.Sprintf("switch %q is listed twice", sp.Switch)}
		}
		plans[sp.Switch] = true
	}
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

// Identifier reports whether s is a plain ClickHouse identifier (letters,
// digits and _, not starting with a digit), safe to put in SQL as a name.
func Identifier(s string) bool { return identifier(s) }
