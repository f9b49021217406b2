package config

import (
	"fmt"
	"time"
)

// Campaigns runs the volume traits over trunks and over number blocks, for
// call centres that dial from a block of consecutive numbers behind one
// trunk, a different number per call, so that no number crosses a
// per-number threshold. The traits keep their names (fan_out, short_calls,
// low_answer_rate, one_ring, invalid_callees) with thresholds for a group
// of numbers, and number_rotation says the group spreads its calls thin
// over many numbers.
type Campaigns struct {
	// Enabled switches trunk and block detection on.
	Enabled bool `mapstructure:"enabled"`
	// BlockDigits is how many trailing digits vary within a number block:
	// 2 makes blocks of 100 numbers, the unit carriers assign direct
	// dial-in numbers in.
	BlockDigits int `mapstructure:"block_digits"`
	// RangeDigits is how many trailing digits vary within a blocked range:
	// a flagged block is written as the ranges of 10^range_digits numbers
	// its calling numbers fall in, so the numbers of the block a campaign
	// never used (often another customer's) are not blocked with it. 0
	// writes the numbers seen, one by one.
	RangeDigits int `mapstructure:"range_digits"`
	// MinNumbers is how many distinct calling numbers a block must use in
	// a window before it is judged, and a trunk before number_rotation.
	MinNumbers int `mapstructure:"min_numbers"`
	// MaxCallsPerNumber is the most calls per number, on average, that
	// still counts as rotation.
	MaxCallsPerNumber float64 `mapstructure:"max_calls_per_number"`
	// MaxCalls bounds the calls kept per trunk or switch over the window:
	// a group past it is a carrier's interconnect carrying everybody, not
	// one customer's lines, and its windows are not judged.
	MaxCalls int `mapstructure:"max_calls"`
	// Mobile also groups mobile callers: off by default, because a block
	// of mobile numbers is a hundred different people's handsets.
	Mobile bool `mapstructure:"mobile"`
	// Group thresholds of the volume traits.
	MinCallees    int     `mapstructure:"min_callees"`
	MinAnswered   int     `mapstructure:"min_answered"`
	MinShortShare float64 `mapstructure:"min_short_share"`
	MinAttempts   int     `mapstructure:"min_attempts"`
	MaxAnswerRate float64 `mapstructure:"max_answer_rate"`
}

// defaultCampaigns: a block of 100 numbers with at least 10 in use in an
// hour, at most 8 calls each, and the call centre's own traits at the
// scale of hundreds of calls; blocked by the tens it used.
func defaultCampaigns() Campaigns {
	return Campaigns{Enabled: true, BlockDigits: 2, RangeDigits: 1, MinNumbers: 10, MaxCallsPerNumber: 8, MaxCalls: 100000,
		MinCallees: 100, MinAnswered: 30, MinShortShare: 0.6, MinAttempts: 60, MaxAnswerRate: 0.2}
}

func (c *Config) validateCampaigns() error {
	g := &c.Detectors.Campaigns
	checks := []struct {
		bad      bool
		key, msg string
	}{
		{g.BlockDigits < 1 || g.BlockDigits > 4, "detectors.campaigns.block_digits", "must be between 1 and 4"},
		{g.RangeDigits < 0 || g.RangeDigits > g.BlockDigits, "detectors.campaigns.range_digits", "must be between 0 and block_digits"},
		{g.MinNumbers < 2, "detectors.campaigns.min_numbers", "must be at least 2"},
		{!(g.MaxCallsPerNumber >= 1), "detectors.campaigns.max_calls_per_number", "must be at least 1"},
		{g.MaxCalls < 1000, "detectors.campaigns.max_calls", "must be at least 1000"},
		{g.MinCallees < 1, "detectors.campaigns.min_callees", "must be at least 1"},
		{g.MinAnswered < 1, "detectors.campaigns.min_answered", "must be at least 1"},
		{!(g.MinShortShare > 0 && g.MinShortShare <= 1), "detectors.campaigns.min_short_share", "must be in (0, 1]"},
		{g.MinAttempts < 1, "detectors.campaigns.min_attempts", "must be at least 1"},
		{!(g.MaxAnswerRate >= 0 && g.MaxAnswerRate < 1), "detectors.campaigns.max_answer_rate", "must be in [0, 1)"},
	}
	for _, ch := range checks {
		if ch.bad {
			return &Error{Key: ch.key, Msg: ch.msg}
		}
	}
	return nil
}

// Daily is the day-long window of the volume traits, for callers who stay
// under every hourly threshold but reach hundreds of people in a day. A
// day runs from midnight to midnight in Zone; it counts the caller's
// calls in the hourly windows (window.size, which must divide a day) in
// which it made at least stats.min_calls calls: a caller spread thinner
// than that cannot reach hundreds in a day.
type Daily struct {
	Enabled bool   `mapstructure:"enabled"`
	Zone    string `mapstructure:"zone"`
	// MinCallees flags daily_fan_out; MinAnswered daily_short_calls (with
	// short_calls' max_talk and min_share); MinAttempts
	// daily_low_answer_rate (with low_answer_rate's max_rate).
	MinCallees  int `mapstructure:"min_callees"`
	MinAnswered int `mapstructure:"min_answered"`
	MinAttempts int `mapstructure:"min_attempts"`
}

func defaultDaily() Daily {
	return Daily{Enabled: true, Zone: "UTC", MinCallees: 200, MinAnswered: 60, MinAttempts: 150}
}

// DayZone returns the zone days run in; it assumes a validated
// configuration.
func (c *Config) DayZone() *time.Location {
	loc, err := time.LoadLocation(c.Detectors.Daily.Zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (c *Config) validateDaily() error {
	d := &c.Detectors.Daily
	if !d.Enabled {
		return nil
	}
	if _, err := time.LoadLocation(d.Zone); err != nil || d.Zone == "" {
		return &Error{Key: "detectors.daily.zone", Msg: fmt.Sprintf("%q is not a time zone such as Asia/Shanghai", d.Zone)}
	}
	checks := []struct {
		bad      bool
		key, msg string
	}{
		{(24*time.Hour)%c.Window.Size != 0 || 24*time.Hour/c.Window.Size > 64, "detectors.daily.enabled",
			"needs a window.size of at least 30m that divides a day (1h, 30m, 2h, ...); switch it off for others"},
		{d.MinCallees < 1, "detectors.daily.min_callees", "must be at least 1"},
		{d.MinAnswered < 1, "detectors.daily.min_answered", "must be at least 1"},
		{d.MinAttempts < 1, "detectors.daily.min_attempts", "must be at least 1"},
	}
	for _, ch := range checks {
		if ch.bad {
			return &Error{Key: ch.key, Msg: ch.msg}
		}
	}
	return nil
}
