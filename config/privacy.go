package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// day is the unit retention is usually written in ("180d").
const day = 24 * time.Hour

// Retention says how long each table keeps its rows, counted from the
// time a row is about (the call's start, a reject's arrival, a flag's
// window): personal data is kept no longer than its purpose needs. Zero
// keeps rows for good. docs/privacy.md gives the reasons for the
// defaults.
type Retention struct {
	// CDRs is how long calls are kept (cdrs).
	CDRs time.Duration `mapstructure:"cdrs"`
	// DeviceIDs is how long a call keeps its IMSI, IMEI and cell id;
	// after it they are blanked and the rest of the call stays.
	DeviceIDs time.Duration `mapstructure:"device_ids"`
	// Rejects is how long rejected messages are kept, raw text included
	// (cdr_rejects).
	Rejects time.Duration `mapstructure:"rejects"`
	// Quarantine is how long rows ClickHouse refused are kept.
	Quarantine time.Duration `mapstructure:"quarantine"`
	// CallerStats is how long per-caller window aggregates are kept.
	CallerStats time.Duration `mapstructure:"caller_stats"`
	// FlaggedNumbers is how long flags are kept; at least blocklist.ttl,
	// since the verdict counts the flags of that long.
	FlaggedNumbers time.Duration `mapstructure:"flagged_numbers"`
	// blocklist_changes has no retention: it is the record of every
	// blocking decision, and manual blocks and releases live in it.
}

// Privacy says how personal data is stored.
type Privacy struct {
	// CalleeKey, when set, makes cdrs keep each callee as a keyed
	// pseudonym (HMAC-SHA-256 under this key) instead of the number:
	// analysts can count and join callees without seeing whom a
	// subscriber called. Callers stay in clear, and so do flagged
	// numbers. At least 32 characters (openssl rand -hex 32); from
	// CDRPIPE_PRIVACY_CALLEE_KEY or CalleeKeyFile.
	CalleeKey string `mapstructure:"callee_key"`
	// CalleeKeyFile names a file holding CalleeKey.
	CalleeKeyFile string `mapstructure:"callee_key_file"`
	// ClearCallees are callees that are not a person's number and stay in
	// clear under CalleeKey: E.164 numbers, or prefixes ending in '*'
	// (emergency, carrier service, business 400 and 800 numbers by
	// default).
	ClearCallees []string `mapstructure:"clear_callees"`
}

// minCalleeKey is the shortest privacy.callee_key accepted: a short key
// can be found by hashing every number of a plan.
const minCalleeKey = 32

// defaultRetention keeps calls and caller aggregates half a year, device
// identifiers and rejects a month, and flags a year.
func defaultRetention() Retention {
	return Retention{CDRs: 180 * day, DeviceIDs: 30 * day, Rejects: 30 * day, Quarantine: 30 * day,
		CallerStats: 180 * day, FlaggedNumbers: 365 * day}
}

// defaultClearCallees are the service numbers of the default (Chinese)
// plan: emergency, carrier service, and the 400 and 800 business ranges.
func defaultClearCallees() []string {
	return []string{
		"+86110", "+86112", "+86119", "+86120", "+86122", "+8612110", "+8612395",
		"+8610000", "+8610001", "+8610010", "+8610086", "+8610099",
		"+86400*", "+86800*",
	}
}

// RetentionPolicy returns the retention as the schema applies it. It
// assumes a validated configuration.
func (c *Config) RetentionPolicy() schemas.Retention {
	r := c.Retention
	return schemas.Retention{
		Tables: map[string]time.Duration{
			"cdrs": r.CDRs, "cdr_rejects": r.Rejects, "quarantine": r.Quarantine, "window_stats": r.CallerStats,
			"day_windows": r.CallerStats,
			"flags":       r.FlaggedNumbers, "flagged_trunks": r.FlaggedNumbers, "range_flags": r.FlaggedNumbers,
		},
		DeviceIDs: r.DeviceIDs,
	}
}

// validatePrivacy checks retention and pseudonymisation.
func (c *Config) validatePrivacy() error {
	r := &c.Retention
	periods := []struct {
		key string
		d   time.Duration
	}{
		{"retention.cdrs", r.CDRs}, {"retention.device_ids", r.DeviceIDs}, {"retention.rejects", r.Rejects},
		{"retention.quarantine", r.Quarantine}, {"retention.caller_stats", r.CallerStats},
		{"retention.flagged_numbers", r.FlaggedNumbers},
	}
	for _, p := range periods {
		if p.d < 0 || p.d%time.Hour != 0 {
			return &Error{Key: p.key, Msg: fmt.Sprintf("%s is not a whole number of hours or days (such as 180d or 36h; 0 keeps rows for good)", p.d)}
		}
	}
	checks := []struct {
		bad      bool
		key, msg string
	}{
		{r.FlaggedNumbers > 0 && r.FlaggedNumbers < c.Blocklist.TTL, "retention.flagged_numbers",
			fmt.Sprintf("must be at least blocklist.ttl (%s): the verdict counts flags that old", c.Blocklist.TTL)},
		{c.Privacy.CalleeKey != "" && len(c.Privacy.CalleeKey) < minCalleeKey, "privacy.callee_key",
			fmt.Sprintf("must be at least %d characters (openssl rand -hex 32 makes one)", minCalleeKey)},
	}
	for _, ch := range checks {
		if ch.bad {
			return &Error{Key: ch.key, Msg: ch.msg}
		}
	}
	for _, p := range c.Privacy.ClearCallees {
		if !e164Prefix(strings.TrimSuffix(p, "*")) {
			return &Error{Key: "privacy.clear_callees", Msg: fmt.Sprintf("%q is not an E.164 number or prefix with '*'", p)}
		}
	}
	return nil
}
