package main

import (
	"strings"
	"testing"
)

// TestBlocklistCommandLine checks the checks that need no server: every
// manual change needs a reason, and a bad expiry or usage is exit 2.
func TestBlocklistCommandLine(t *testing.T) {
	f := func(want string, args ...string) {
		t.Helper()
		_, stderr, code := runCLI(t, args...)
		if code != exitConfig || !strings.Contains(stderr, want) {
			t.Errorf("cdrpipe %s: exit %d, stderr %q; want exit 2 mentioning %q", strings.Join(args, " "), code, stderr, want)
		}
	}
	f("--reason is required", "blocklist", "add", "+8613900000001")
	f("--reason is required", "blocklist", "remove", "+8613900000001", "--reason", " ")
	f("--reason is required", "allowlist", "add", "+86110")
	f("--expires", "allowlist", "add", "+86110", "--reason", "x", "--expires", "soon")
	f("accepts 1 arg", "blocklist", "add", "--reason", "x")
	f("--from and --to go with --shadow", "run", "--from", "2026-11-29T00:00:00Z")
	f("--shadow needs --database", "run", "--shadow", "--from", "2026-11-29T00:00:00Z")
	f("--from", "run", "--shadow", "--database", "shadow", "--from", "yesterday")
	f("is not a database name", "diff", "--database", "shadow", "--against", "cdrpipe; DROP DATABASE cdrpipe")
	f("is not a database name", "diff", "--database", "shadow", "--against", "prod.blocklist")
	f("--format \"yaml\"", "blocklist", "export", "--format", "yaml")
	f("--since \"yesterday\"", "blocklist", "export", "--since", "yesterday")
	f("--min-score 2", "blocklist", "export", "--min-score", "2")
	f("prefix \"+86 21*\"", "blocklist", "add", "+86 21*", "--reason", "x")
	f("--refresh 10ms", "blocklist", "serve", "--refresh", "10ms")
}
