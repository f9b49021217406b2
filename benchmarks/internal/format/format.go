// Package format renders figures for the benchmark programs' tables.
package format

import "fmt"

// Thousands renders n with commas between groups of three digits.
func Thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + Thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
