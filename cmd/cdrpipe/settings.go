package main

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/cdrpipe/cdrpipe/config"
)

// setting is one leaf of the configuration: its dotted key and where its
// value lives in a config.Config.
type setting struct {
	key   string
	index []int
	typ   reflect.Type
}

// settings lists every leaf key of config.Config, from its mapstructure
// tags, sorted.
func settings() []setting {
	var out []setting
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			key := prefix + f.Tag.Get("mapstructure")
			idx := append(append([]int{}, index...), i)
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
				walk(f.Type, key+".", idx)
				continue
			}
			out = append(out, setting{key: key, index: idx, typ: f.Type})
		}
	}
	walk(reflect.TypeOf(config.Config{}), "", nil)
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// setDefaults registers every key's default, which also makes viper look
// each key up in the environment.
func setDefaults(v *viper.Viper) {
	def := reflect.ValueOf(config.Default())
	for _, s := range settings() {
		v.SetDefault(s.key, def.FieldByIndex(s.index).Interface())
	}
}

// resolve reads every key from v into a Config, converting each value
// itself so that a bad one is reported with its key, then validates.
func resolve(v *viper.Viper) (config.Config, error) {
	var c config.Config
	cv := reflect.ValueOf(&c).Elem()
	for _, s := range settings() {
		val, err := convert(v.Get(s.key), s.typ)
		if err != nil {
			return c, &config.Error{Key: s.key, Msg: err.Error()}
		}
		cv.FieldByIndex(s.index).Set(val)
	}
	if err := c.ReadSecrets(); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// convert turns a value from a file, the environment or a flag into t.
func convert(raw any, t reflect.Type) (reflect.Value, error) {
	if t == reflect.TypeOf(time.Duration(0)) {
		switch x := raw.(type) {
		case time.Duration:
			return reflect.ValueOf(x), nil
		case int, int64, float64:
			if fmt.Sprint(x) == "0" {
				return reflect.ValueOf(time.Duration(0)), nil
			}
			return reflect.Value{}, fmt.Errorf("%v needs a unit, such as 30s, 5m or 180d", x)
		}
		d, err := parseDuration(fmt.Sprint(raw))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not a duration (such as 500ms, 30s, 5m, 1h, 180d)", fmt.Sprint(raw))
		}
		return reflect.ValueOf(d), nil
	}
	switch t.Kind() {
	case reflect.String:
		str, ok := raw.(string)
		if !ok {
			// YAML has already read an unquoted 086 as 86, or 012 as
			// octal 10: the text is lost, so ask for quotes.
			return reflect.Value{}, fmt.Errorf("%v must be written in quotes in YAML (e.g. \"%v\") so that it is read as text", raw, raw)
		}
		return reflect.ValueOf(str).Convert(t), nil
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(raw)))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not a whole number", fmt.Sprint(raw))
		}
		return reflect.ValueOf(n), nil
	case reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(fmt.Sprint(raw)), 10, 64)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not a non-negative whole number", fmt.Sprint(raw))
		}
		return reflect.ValueOf(n), nil
	case reflect.Float64:
		n, err := strconv.ParseFloat(strings.TrimSpace(fmt.Sprint(raw)), 64)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not a number", fmt.Sprint(raw))
		}
		return reflect.ValueOf(n), nil
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(fmt.Sprint(raw)))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("%q is not true or false", fmt.Sprint(raw))
		}
		return reflect.ValueOf(b), nil
	case reflect.Slice:
		return reflect.ValueOf(stringList(raw)), nil
	}
	return reflect.Value{}, fmt.Errorf("BUG: unsupported setting type %s", t)
}

// day is the unit durations may also be written in ("180d", "1d12h"):
// retention periods are counted in days.
const day = 24 * time.Hour

// parseDuration reads a Go duration, which may start with a number of
// days.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	days, rest, ok := strings.Cut(s, "d")
	if !ok {
		return time.ParseDuration(s)
	}
	n, err := strconv.Atoi(days)
	if err != nil || days == "" || days[0] == '+' {
		return 0, fmt.Errorf("%q: bad number of days", s)
	}
	d := time.Duration(n) * day
	if rest == "" {
		return d, nil
	}
	r, err := time.ParseDuration(rest)
	if err != nil || rest[0] == '-' || n < 0 {
		return 0, fmt.Errorf("%q: bad duration after the days", s)
	}
	return d + r, nil
}

// formatDuration writes d as parseDuration reads it, whole days as "180d".
func formatDuration(d time.Duration) string {
	if d != 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// stringList accepts a YAML list or a comma-separated string (from the
// environment or a flag).
func stringList(raw any) []string {
	var parts []string
	switch x := raw.(type) {
	case []string:
		parts = x
	case []any:
		for _, e := range x {
			parts = append(parts, fmt.Sprint(e))
		}
	default:
		parts = strings.Split(fmt.Sprint(raw), ",")
	}
	out := parts[:0:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// printable renders the effective configuration, one key per line, with
// secrets masked.
func printable(c config.Config) string {
	cv := reflect.ValueOf(c)
	var b strings.Builder
	for _, s := range settings() {
		val := cv.FieldByIndex(s.index).Interface()
		text := fmt.Sprint(val)
		switch x := val.(type) {
		case []string:
			text = strings.Join(x, ",")
		case time.Duration:
			text = formatDuration(x)
		}
		if config.IsSecret(s.key) && text != "" {
			text = "********"
		}
		fmt.Fprintf(&b, "%s: %s\n", s.key, text)
	}
	return b.String()
}
