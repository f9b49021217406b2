package e2e

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Cluster holds the addresses of the cluster stack (`make up-cluster`):
// three Kafka nodes, and the replicas of one ClickHouse shard.
type Cluster struct {
	Brokers  []string
	Replicas []string
	// Name is the ClickHouse cluster (remote_servers) the replicas form.
	Name string
}

// RequireCluster returns the cluster stack's addresses, failing t when a
// service does not accept connections. Addresses come from
// CDRPIPE_CLUSTER_BROKERS and CDRPIPE_CLUSTER_REPLICAS, defaulting to
// deploy/local/cluster's ports.
func RequireCluster(t testing.TB) Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the cluster stack; skipped with -short")
	}
	c := Cluster{
		Brokers:  strings.Split(env("CDRPIPE_CLUSTER_BROKERS", "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094"), ","),
		Replicas: strings.Split(env("CDRPIPE_CLUSTER_REPLICAS", "127.0.0.1:19000,127.0.0.1:19001"), ","),
		Name:     env("CDRPIPE_CLUSTER_NAME", "cdrpipe"),
	}
	for _, addr := range append(append([]string{}, c.Brokers...), c.Replicas...) {
		conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			t.Fatalf("cluster service at %s unreachable (start it with `make up-cluster`; CI=%q): %v", addr, os.Getenv("CI"), err)
		}
		conn.Close()
	}
	return c
}

// Replica opens a connection to replica i alone, for checks.
func (c Cluster) Replica(t testing.TB, i int) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{c.Replicas[i]}, DialTimeout: 5 * time.Second,
		ReadTimeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// SyncReplica waits until replica conn has fetched every part its shard's
// other replicas wrote to the replicated tables of db.
func SyncReplica(t testing.TB, conn driver.Conn, db string) {
	t.Helper()
	for _, table := range Column(t, conn, "SELECT table FROM system.replicas WHERE database = '"+db+"'") {
		if err := conn.Exec(context.Background(), "SYSTEM SYNC REPLICA "+db+".`"+table+"`"); err != nil {
			t.Fatalf("sync replica %s.%s: %v", db, table, err)
		}
	}
}

// Column runs q, a query of one String column, and returns its values.
func Column(t testing.TB, conn driver.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// ControlCluster stops, kills or starts one service of the cluster stack
// (deploy/local/cluster/ctl.sh: kafka1..3, zookeeper, ch1, ch2), for fault
// tests.
func ControlCluster(t testing.TB, action, service string) {
	t.Helper()
	control(t, filepath.Join("deploy", "local", "cluster", "ctl.sh"), action, service)
}

// DiagnoseOnFailure logs, when t has failed, what a stuck ON CLUSTER
// statement needs to be understood: each replica's view of db's
// replicated tables and the last errors of each replica's server log
// (.stack/logs/cluster-chN-server.err.log), since CI keeps nothing else.
func (c Cluster) DiagnoseOnFailure(t testing.TB, db string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for i, addr := range c.Replicas {
			conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
			if err != nil {
				t.Logf("replica %d (%s): %v", i+1, addr, err)
				continue
			}
			rows, err := conn.Query(ctx, "SELECT table, is_leader, is_readonly, is_session_expired, columns_version, queue_size, active_replicas "+
				"FROM system.replicas WHERE database = '"+db+"' ORDER BY table")
			if err != nil {
				t.Logf("replica %d (%s): system.replicas: %v", i+1, addr, err)
			} else {
				for rows.Next() {
					var table string
					var leader, readonly, expired, active uint8
					var version int32
					var queue uint32
					if err := rows.Scan(&table, &leader, &readonly, &expired, &version, &queue, &active); err != nil {
						t.Logf("replica %d: %v", i+1, err)
						break
					}
					t.Logf("replica %d: %s leader=%d readonly=%d session_expired=%d columns_version=%d queue=%d active_replicas=%d",
						i+1, table, leader, readonly, expired, version, queue, active)
				}
				rows.Close()
			}
			conn.Close()
			logTail(t, filepath.Join(repoRoot(t), ".stack", "logs", "cluster-ch"+strconv.Itoa(i+1)+"-server.err.log"), 15)
		}
	})
}

// logTail logs the last n lines of path that are not stack frames nor
// the expected refusals of a migration lock already taken, each cut to
// 300 bytes.
func logTail(t testing.TB, path string, n int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		frame := l != "" && l[0] >= '0' && l[0] <= '9' && strings.Contains(l[:min(4, len(l))], ". ")
		if l != "" && !frame && !strings.Contains(l, "Code: 57,") {
			lines = append(lines, l[:min(300, len(l))])
		}
	}
	t.Logf("last lines of %s:\n%s", path, strings.Join(lines[max(0, len(lines)-n):], "\n"))
}
