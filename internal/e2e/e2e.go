// Package e2e gates the tests that need the real services started by
// `make up`: a Kafka broker and a ClickHouse server. One rule for all of
// them: with -short they are skipped; otherwise an unreachable service is
// a failure, never a skip, so CI (which runs `make test`) cannot pass
// without having exercised them.
package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Stack holds the addresses of the services.
type Stack struct {
	Brokers        []string
	ClickHouseAddr string
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
