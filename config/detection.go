package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

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
	Campaigns      Campaigns      `mapstructure:"campaigns"`
	Daily          Daily          `mapstructure:"daily"`
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
	// MinCallsPerCaller is how many calls the flood's numbers make each,
	// on average: a bombing repeats calls from one or a few dozen
	// numbers; a busy hotline's many callers ring once or twice each, and
	// someone redialling it is no bomber.
	MinCallsPerCaller float64 `mapstructure:"min_calls_per_caller"`
}

// SpoofedOrigin flags caller IDs that cannot be genuine.
type SpoofedOrigin struct {
	MinCalls int `mapstructure:"min_calls"`
	// MinCalleesAbroad is how many distinct callees a domestic caller ID
	// arriving on international trunks must reach in a window: a
	// subscriber roaming abroad calls home to a few.
	MinCalleesAbroad int `mapstructure:"min_callees_abroad"`
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
		"concurrent_calls + fan_out = 0.9",
		"concurrent_calls + no_callback = 0.85",
		"fan_out + short_calls = 0.9",
		"short_calls + robotic_timing = 0.9",
		"short_calls + no_callback = 0.85",
		"fan_out + low_answer_rate + no_callback = 0.85",
		"invalid_callees + low_answer_rate = 0.85",
		"burst + short_calls = 0.85",
		"number_rotation + short_calls = 0.9",
		"number_rotation + low_answer_rate = 0.9",
		"daily_fan_out + daily_short_calls = 0.9",
		"daily_fan_out + daily_low_answer_rate = 0.85",
	}
}

// Traits are the detector names, as stored in flagged_numbers (and, for
// trunks and number blocks, in flagged_trunks and range_flags:
// number_rotation is shown by those only). The daily_ traits are the
// day-long window's.
var Traits = []string{
	"fan_out", "short_calls", "sequential_dialing", "one_ring", "low_answer_rate", "burst",
	"concurrent_calls", "invalid_callees", "robotic_timing", "no_callback", "call_bombing", "spoofed_origin",
	"number_rotation", "daily_fan_out", "daily_short_calls", "daily_low_answer_rate",
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
