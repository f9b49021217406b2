package main

import (
	"strings"
	"testing"

	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/privacy"
	"github.com/cdrpipe/cdrpipe/schemas"
)

const calleeKey = "k3y-for-tests-only-0123456789abcdef"

// TestPseudonymCommand prints the pseudonym cdrs stores for a number
// given in any form the plan reads, keeps service numbers in clear, and
// refuses to run without a key; the key is never printed.
func TestPseudonymCommand(t *testing.T) {
	cleanEnv(t, nil)
	stdout, stderr, code := runCLI(t, "pseudonym", "13800000001")
	checkOneErrorLine(t, stdout, stderr, code, "privacy.callee_key")

	cleanEnv(t, map[string]string{"CDRPIPE_PRIVACY_CALLEE_KEY_FILE": writeFile(t, "key", calleeKey+"\n")})
	stdout, stderr, code = runCLI(t, "pseudonym", "13800000001", "+8613800000001", "0086 4001234567")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	p := privacy.New(calleeKey, nil).Of("+8613800000001")
	want := "+8613800000001\t" + p + "\n+8613800000001\t" + p + "\n+864001234567\t+864001234567\n"
	if stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if stdout, _, _ := runCLI(t, "config"); strings.Contains(stdout, calleeKey) || !strings.Contains(stdout, "privacy.callee_key: ********") {
		t.Errorf("config does not mask privacy.callee_key:\n%s", stdout)
	}
}

// TestRetentionCommand runs `cdrpipe retention` on a fresh database: a dry
// run and a real one, each saying what it did, and `migrate` saying who
// keeps the retention on this server (TTL, or the command).
func TestRetentionCommand(t *testing.T) {
	stack := e2e.Require(t)
	db := e2e.Name("cdrpipe_retcmd")
	cleanEnv(t, map[string]string{"CDRPIPE_CLICKHOUSE_ADDR": stack.ClickHouseAddr, "CDRPIPE_CLICKHOUSE_DATABASE": db,
		"CDRPIPE_RETENTION_REJECTS": "2d"})
	conn := stack.ClickHouse(t)
	t.Cleanup(func() { conn.Exec(t.Context(), "DROP DATABASE IF EXISTS "+db) })
	stdout, stderr, code := runCLI(t, "migrate")
	if code != 0 || !strings.Contains(stdout, "retention") {
		t.Fatalf("migrate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, "retention", "--dry-run")
	if code != 0 || stdout != "database "+db+": 0 retention action(s) (dry run: nothing changed)\n" {
		t.Fatalf("retention --dry-run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, "retention")
	if code != 0 || stdout != "database "+db+": 0 retention action(s)\n" {
		t.Fatalf("retention: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	var ttl string
	if err := conn.QueryRow(t.Context(), "SELECT create_table_query FROM system.tables WHERE database = '"+db+"' AND name = 'cdr_rejects'").Scan(&ttl); err != nil {
		t.Fatal(err)
	}
	ver, _ := conn.ServerVersion()
	if has := strings.Contains(ttl, "TTL received_at + toIntervalDay(2)"); has != schemas.HasTTL(int(ver.Version.Major), int(ver.Version.Minor)) {
		t.Errorf("ClickHouse %s: cdr_rejects is %s", ver.Version, ttl)
	}
}
