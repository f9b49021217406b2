// Package e2e gates the tests that need the real services started by
// `make up`: a Kafka broker and a ClickHouse server. One rule for all of
// them: with -short they are skipped; otherwise an unreachable service is
// a failure, never a skip, so CI (which runs `make test`) cannot pass
// without having exercised them.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
)

// Stack holds the addresses of the services.
type Stack struct {
	Brokers        []string
	ClickHouseAddr string
}

// Secure is what the stack offers over TLS, with users: ClickHouse's
// secure native port, the test CA's files, and the password users that
// `make up` creates (deploy/local/lib.sh).
type Secure struct {
	ClickHouseAddr string // CDRPIPE_CLICKHOUSE_SECURE_ADDR, default 127.0.0.1:9440
	// ClickHousePlain is the plain native port of the same server
	// (CDRPIPE_CLICKHOUSE_SECURE_PLAIN_ADDR, default 127.0.0.1:9000), to
	// read back what was written over TLS.
	ClickHousePlain          string
	TLSDir                   string // CDRPIPE_TLS_DIR, default <repo>/.stack/tls: ca.crt, client.crt, client.key
	Writer, WriterPassword   string
	Analyst, AnalystPassword string
	// KafkaSASL is the broker's SASL_SSL listener (CDRPIPE_KAFKA_SASL_ADDR,
	// default 127.0.0.1:9094); KafkaMTLS its SSL listener that requires a
	// client certificate (CDRPIPE_KAFKA_MTLS_ADDR, default 127.0.0.1:9095).
	KafkaSASL, KafkaMTLS     string
	KafkaUser, KafkaPassword string
	// KafkaLog is the broker's log, <repo>/.stack/logs/kafka-server.log.
	KafkaLog string
}

// RequireSecure returns the stack's secure endpoints, failing t when they
// do not accept connections or the TLS files are missing.
func RequireSecure(t testing.TB) Secure {
	t.Helper()
	Require(t)
	s := Secure{
		ClickHouseAddr:  env("CDRPIPE_CLICKHOUSE_SECURE_ADDR", "127.0.0.1:9440"),
		ClickHousePlain: env("CDRPIPE_CLICKHOUSE_SECURE_PLAIN_ADDR", "127.0.0.1:9000"),
		TLSDir:          env("CDRPIPE_TLS_DIR", filepath.Join(repoRoot(t), ".stack", "tls")),
		Writer:          "cdrpipe", WriterPassword: "cdrpipe-local-secret",
		Analyst: "analyst", AnalystPassword: "analyst-local-secret",
		KafkaSASL: env("CDRPIPE_KAFKA_SASL_ADDR", "127.0.0.1:9094"),
		KafkaMTLS: env("CDRPIPE_KAFKA_MTLS_ADDR", "127.0.0.1:9095"),
		KafkaUser: "cdrpipe", KafkaPassword: "cdrpipe-kafka-secret",
		KafkaLog: filepath.Join(repoRoot(t), ".stack", "logs", "kafka-server.log"),
	}
	for _, addr := range []string{s.ClickHouseAddr, s.KafkaSASL, s.KafkaMTLS} {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			t.Fatalf("secure listener at %s unreachable (start it with `make up`): %v", addr, err)
		}
		c.Close()
	}
	if _, err := os.Stat(filepath.Join(s.TLSDir, "ca.crt")); err != nil {
		t.Fatalf("test CA missing (`make up` creates it): %v", err)
	}
	return s
}

// File returns the path of a file of the test CA's directory.
func (s Secure) File(name string) string { return filepath.Join(s.TLSDir, name) }

// repoRoot is the directory of go.mod above the test's directory.
func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Require returns the stack's addresses, failing t when a service does not
// accept connections. Addresses come from CDRPIPE_KAFKA_BROKERS and
// CDRPIPE_CLICKHOUSE_ADDR, defaulting to the local stack.
func Require(t testing.TB) Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Kafka and ClickHouse; skipped with -short")
	}
	s := Stack{
		Brokers:        strings.Split(env("CDRPIPE_KAFKA_BROKERS", "127.0.0.1:9092"), ","),
		ClickHouseAddr: env("CDRPIPE_CLICKHOUSE_ADDR", "127.0.0.1:9000"),
	}
	for _, addr := range append([]string{s.ClickHouseAddr}, s.Brokers[0]) {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			t.Fatalf("service at %s unreachable (start it with `make up`; CI=%q): %v", addr, os.Getenv("CI"), err)
		}
		c.Close()
	}
	return s
}

// ClickHouse opens a connection for checks.
func (s Stack) ClickHouse(t testing.TB) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.ClickHouseAddr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Sink opens a sink on a fresh database named after prefix, with cfg's
// other settings, and returns it with the configuration it uses. The
// database is dropped and the sink closed when t ends; nothing is
// migrated, so a test can check migrations itself.
func (s Stack) Sink(t testing.TB, cfg config.Config, prefix string) (*sink.Sink, config.Config) {
	t.Helper()
	cfg.ClickHouse.Addr = s.ClickHouseAddr
	cfg.ClickHouse.Database = Name(prefix)
	snk, err := sink.Open(context.Background(), cfg.ClickHouse, cfg.Sink, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		snk.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.ClickHouse.Database)
		snk.Close()
	})
	return snk, cfg
}

// Name returns a name unique to this test run, for topics, groups and
// databases, so tests never see each other's data.
func Name(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), time.Now().UnixNano()%1e9)
}

// Count runs a count query.
func Count(t testing.TB, conn driver.Conn, query string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Control stops, kills or starts one service of the local stack
// (deploy/local/ctl.sh: action stop, kill or start; service kafka,
// clickhouse or ch-current), for fault tests.
func Control(t testing.TB, action, service string) {
	t.Helper()
	control(t, filepath.Join("deploy", "local", "ctl.sh"), action, service)
}

// control runs script (a path in the repository) with action and service.
func control(t testing.TB, script, action, service string) {
	t.Helper()
	start := time.Now()
	out, err := exec.Command("bash", filepath.Join(repoRoot(t), script), action, service).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s %s: %v\n%s", script, action, service, err, out)
	}
	t.Logf("%s %s %s: %s", script, action, service, time.Since(start).Round(time.Millisecond))
}
