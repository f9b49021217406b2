package main

import (
	"reflect"
	"testing"
	"time"
)

// TestDurations reads durations as files, the environment and flags write
// them, days included, and prints them back the same way.
func TestDurations(t *testing.T) {
	typ := reflect.TypeOf(time.Duration(0))
	for _, tt := range []struct {
		raw     any
		want    time.Duration
		printed string
	}{
		{"180d", 180 * day, "180d"},
		{" 7d ", 7 * day, "7d"},
		{"1d12h", 36 * time.Hour, "36h0m0s"},
		{"36h", 36 * time.Hour, "36h0m0s"},
		{"0", 0, "0s"},
		{0, 0, "0s"},
		{"0d", 0, "0s"},
		{"500ms", 500 * time.Millisecond, "500ms"},
		{30 * time.Second, 30 * time.Second, "30s"},
		{"-2d", -2 * day, "-2d"},
	} {
		v, err := convert(tt.raw, typ)
		if err != nil {
			t.Errorf("convert(%#v) = %v", tt.raw, err)
			continue
		}
		if got := v.Interface().(time.Duration); got != tt.want {
			t.Errorf("convert(%#v) = %v, want %v", tt.raw, got, tt.want)
		}
		if got := formatDuration(tt.want); got != tt.printed {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.want, got, tt.printed)
		}
	}
	for _, bad := range []any{"d", "180", 180, "x1d", "+1d", "1d-2h", "-1d2h", "1dd", "1.5d", "1d1d", "1 d"} {
		if v, err := convert(bad, typ); err == nil {
			t.Errorf("convert(%#v) = %v, want an error", bad, v)
		}
	}
}
