package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// metricsAddr is where the binary under test serves /metrics.
const metricsAddr = "127.0.0.1:19464"

// scrape fetches url, retrying briefly while the server starts.
func scrape(t *testing.T, url string) string {
	t.Helper()
	var lastErr error
	for range 50 {
		resp, err := http.Get(url)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				return string(b)
			}
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return ""
}

// buildBinary compiles cdrpipe into a temporary folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cdrpipe")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinarySIGTERMDrainsAndResumes drives the real binary: gen and
// produce traffic, start `run`, send SIGTERM while it is consuming, expect
// exit status 0 with a summary, then `run --until-caught-up` and `report`
// must find exactly the sent data.
func TestBinarySIGTERMDrainsAndResumes(t *testing.T) {
	stack := e2e.Require(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	topic, group, db := e2e.Name("cdrs_bin"), e2e.Name("g_bin"), e2e.Name("cdrpipe_bin")
	env := append(os.Environ(),
		"CDRPIPE_KAFKA_BROKERS="+strings.Join(stack.Brokers, ","),
		"CDRPIPE_CLICKHOUSE_ADDR="+stack.ClickHouseAddr,
		"CDRPIPE_KAFKA_TOPIC="+topic,
		"CDRPIPE_KAFKA_GROUP="+group,
		"CDRPIPE_CLICKHOUSE_DATABASE="+db,
		"CDRPIPE_SINK_BATCH_SIZE=2000",
		"CDRPIPE_INPUT_SWITCH_ZONES="+strings.Join(traffic.SwitchZones(), ","),
	)
	cmd := func(ctx context.Context, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = env
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	data, truthFile := filepath.Join(dir, "t.jsonl"), filepath.Join(dir, "truth.json")
	start := time.Now().UTC().Truncate(time.Hour).Add(-6 * time.Hour).Format(time.RFC3339)
	if out, err := cmd(ctx, "gen", "--subscribers", "20000", "--start", start, "--fan-out", "5", "--short-calls", "5",
		"--sequential", "5", "--out", data, "--truth", truthFile).CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	if out, err := cmd(ctx, "produce", data).CombinedOutput(); err != nil {
		t.Fatalf("produce: %v\n%s", err, out)
	}

	run := cmd(ctx, "run")
	run.Env = append(run.Env, "CDRPIPE_METRICS_ADDR="+metricsAddr)
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	conn := stack.ClickHouse(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if e2e.Count(t, conn, fmt.Sprintf("SELECT count() FROM system.tables WHERE database = '%s' AND name = 'cdrs'", db)) == 1 &&
			e2e.Count(t, conn, "SELECT count() FROM "+db+".cdrs") > 0 {
			break
		}
		if time.Now().After(deadline) {
			run.Process.Kill()
			t.Fatalf("no rows within 60 s; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	metrics := scrape(t, "http://"+metricsAddr+"/metrics")
	if !strings.Contains(metrics, "# TYPE cdrpipe_records_total counter") || strings.Contains(metrics, "cdrpipe_records_total 0\n") {
		t.Errorf("/metrics while running:\n%s", metrics)
	}
	if err := run.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := run.Wait(); err != nil {
		t.Fatalf("run after SIGTERM: %v (want exit 0)\nstderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "summary:") {
		t.Errorf("no summary after SIGTERM; stdout: %q", stdout.String())
	}
	committed := e2e.Count(t, conn, "SELECT count() FROM "+db+".cdrs")
	t.Logf("after SIGTERM: %s (%d cdrs rows)", strings.TrimSpace(stdout.String()), committed)

	if out, err := cmd(ctx, "run", "--until-caught-up").CombinedOutput(); err != nil {
		t.Fatalf("run --until-caught-up: %v\n%s", err, out)
	}
	out, err := cmd(ctx, "report", "--truth", truthFile, "--min-quality", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	f, err := os.Open(truthFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth, err := traffic.ReadTruth(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := e2e.Count(t, conn, "SELECT count() FROM "+db+".cdrs FINAL"); got != uint64(truth.UniqueValid) {
		t.Errorf("cdrs: %d rows, want %d unique valid CDRs", got, truth.UniqueValid)
	}
	if got := e2e.Count(t, conn, "SELECT count() FROM "+db+".cdr_rejects FINAL"); got != uint64(truth.Malformed) {
		t.Errorf("cdr_rejects: %d rows, want %d malformed", got, truth.Malformed)
	}
	if !t.Failed() {
		conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
	}
}

// TestBinaryWrongKafkaPassword: `cdrpipe run` against the SASL_SSL
// listener with a wrong password says so and exits with status 2 within
// seconds, having tried once: no consumer retrying against the broker.
// With the right password the same settings reach the broker (produce).
func TestBinaryWrongKafkaPassword(t *testing.T) {
	sec := e2e.RequireSecure(t)
	stack := e2e.Require(t)
	bin := buildBinary(t)
	pwFile := filepath.Join(t.TempDir(), "kafka-password")
	if err := os.WriteFile(pwFile, []byte(sec.KafkaPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"CDRPIPE_KAFKA_BROKERS="+sec.KafkaSASL,
		"CDRPIPE_KAFKA_TOPIC="+e2e.Name("cdrs_sasl"),
		"CDRPIPE_KAFKA_TLS_ENABLED=true",
		"CDRPIPE_KAFKA_TLS_CA_FILE="+sec.File("ca.crt"),
		"CDRPIPE_KAFKA_SASL_MECHANISM=scram-sha-512",
		"CDRPIPE_KAFKA_SASL_USERNAME="+sec.KafkaUser,
		"CDRPIPE_CLICKHOUSE_ADDR="+stack.ClickHouseAddr,
		"CDRPIPE_CLICKHOUSE_DATABASE="+e2e.Name("cdrpipe_sasl"),
	)
	run := func(password string, args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, bin, args...)
		c.Env = append(env, password)
		c.Stdin = strings.NewReader(`{"caller":"+8613900000001","callee":"+8613800000001","start_time":1795935603}` + "\n")
		out, err := c.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	failedBefore := brokerFailures(t, sec)
	start := time.Now()
	out, code := run("CDRPIPE_KAFKA_SASL_PASSWORD=not-the-password", "run", "--until-caught-up")
	took := time.Since(start)
	t.Logf("wrong password: exit %d after %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(out))
	if code != exitConfig || !strings.Contains(out, "credentials refused") || strings.Contains(out, "not-the-password") {
		t.Errorf("wrong password: exit %d, output %q; want exit 2 saying the credentials were refused, without the password", code, out)
	}
	if took > 15*time.Second {
		t.Errorf("wrong password: took %v to give up", took)
	}
	if tries := brokerFailures(t, sec) - failedBefore; tries > 2 {
		t.Errorf("the broker logged %d failed authentications for one run: a retry storm", tries)
	}
	if out, code := run("CDRPIPE_KAFKA_SASL_PASSWORD_FILE="+pwFile, "produce"); code != 0 {
		t.Errorf("produce with the password from a file: exit %d: %s", code, out)
	}
}

// brokerFailures counts the failed authentications in the broker's log.
func brokerFailures(t *testing.T, sec e2e.Secure) int {
	t.Helper()
	b, err := os.ReadFile(sec.KafkaLog)
	if err != nil {
		t.Fatalf("read the broker's log: %v", err)
	}
	return strings.Count(string(b), "Failed authentication")
}
