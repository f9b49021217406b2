package config

import (
	"slices"
	"strings"
	"time"
)

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
	// SwitchPlans are the numbering plans of switches abroad, whose
	// records write national numbers and international prefixes of their
	// own country: "SWITCH=CC:NATIONAL_PREFIX:INTL|INTL" entries
	// ("AST-MSK=7:8:810|00"; the national prefix may be empty).
	SwitchPlans []string `mapstructure:"switch_plans"`
	// Allowlist holds numbers (E.164 with '+') that never reach the
	// blocklist; an entry ending in '*' is a prefix. Emergency and carrier
	// service numbers are on it by default.
	Allowlist []string `mapstructure:"allowlist"`
}

// SwitchPlan is one entry of Numbering.SwitchPlans.
type SwitchPlan struct {
	Switch, CountryCode, NationalPrefix string
	InternationalPrefixes               []string
}

// Plans resolves SwitchPlans; it assumes a validated configuration.
func (n Numbering) Plans() []SwitchPlan {
	var out []SwitchPlan
	for _, e := range n.SwitchPlans {
		sp, _ := parsePlan(e)
		out = append(out, sp)
	}
	return out
}

// parsePlan reads one "SWITCH=CC:NATIONAL:INTL|INTL" entry.
func parsePlan(e string) (SwitchPlan, bool) {
	sw, plan, ok := strings.Cut(e, "=")
	parts := strings.Split(plan, ":")
	if !ok || len(parts) != 3 {
		return SwitchPlan{}, false
	}
	sp := SwitchPlan{Switch: strings.TrimSpace(sw), CountryCode: strings.TrimSpace(parts[0]), NationalPrefix: strings.TrimSpace(parts[1])}
	for _, p := range strings.Split(parts[2], "|") {
		if p = strings.TrimSpace(p); p != "" {
			sp.InternationalPrefixes = append(sp.InternationalPrefixes, p)
		}
	}
	return sp, sp.Switch != "" && digits(sp.CountryCode) && len(sp.CountryCode) <= 3 &&
		(sp.NationalPrefix == "" || digits(sp.NationalPrefix)) && len(sp.InternationalPrefixes) > 0 &&
		!slices.ContainsFunc(sp.InternationalPrefixes, func(p string) bool { return !digits(p) || p == sp.NationalPrefix })
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
	// SwitchID names the switch of records whose format carries none
	// (Asterisk, FreeSWITCH, most CSV): it scopes their call ids and picks
	// their zone in SwitchZones.
	SwitchID string `mapstructure:"switch_id"`
	// CSV maps the columns of the csv format to the contract's fields.
	CSV CSV `mapstructure:"csv"`
	// Asterisk and FreeSWITCH set the column orders of their CSV formats
	// when a site changed them (cdr_custom, a mod_cdr_csv template).
	Asterisk   Columns `mapstructure:"asterisk"`
	FreeSWITCH Columns `mapstructure:"freeswitch"`
}

// CSV describes a delimited file: its delimiter, where its column names
// come from, and which column holds each contract field.
type CSV struct {
	// Delimiter is the one-character field separator: ",", ";", "|" or
	// "\t" for a tab.
	Delimiter string `mapstructure:"delimiter"`
	// Header says files start with a line of column names. Kafka messages
	// (one row each) never carry one: Columns names their columns.
	Header bool `mapstructure:"header"`
	// Columns names the columns in order, when there is no header.
	Columns []string `mapstructure:"columns"`
	// Fields maps contract fields to column names, as "FIELD=COLUMN"
	// entries ("caller=src", "start_time=Start Time").
	Fields []string `mapstructure:"fields"`
	// TimeLayout is the layout of the time columns in Go's notation
	// ("02/01/2006 15:04:05"); empty reads RFC 3339, "YYYY-MM-DD hh:mm:ss"
	// and Unix times.
	TimeLayout string `mapstructure:"time_layout"`
	// Dispositions maps a site's own disposition words to the contract's
	// (answered, no_answer, busy, failed, rejected, cancelled) as
	// "WORD=disposition" entries; Asterisk's and the contract's words are
	// known without it.
	Dispositions []string `mapstructure:"dispositions"`
}

// Columns is a column order: the names of a format's variables in the
// order a site's configuration writes them; empty is the format's default.
type Columns struct {
	Columns []string `mapstructure:"columns"`
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
