package sink

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// defaultDDLTimeout bounds a schema change on a cluster when the
// configuration leaves clickhouse.ddl_timeout unset.
const defaultDDLTimeout = 3 * time.Minute

// execSchema runs one schema statement as onCluster wrote it. On a
// cluster, the server waits up to clickhouse.ddl_timeout for the slowest
// replica instead of its own default, and an ALTER of a replicated table
// returns only once every replica has applied it (awaitReplicas).
func (s *Sink) execSchema(ctx context.Context, stmt string) error {
	if s.cluster == "" {
		return s.conn.Exec(ctx, stmt)
	}
	timeout := s.ddlTimeout
	if timeout <= 0 {
		timeout = defaultDDLTimeout
	}
	dctx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"distributed_ddl_task_timeout": int(timeout.Seconds()),
	}))
	if err := s.conn.Exec(dctx, stmt); err != nil {
		return err
	}
	table, ok := alteredTable(stmt, s.db)
	if !ok {
		return nil
	}
	ver, err := s.conn.ServerVersion()
	if err != nil {
		return fmt.Errorf("clickhouse server version: %w", err)
	}
	if ver.Version.Major >= 20 {
		return nil // ALTERs go through each replica's queue since 20.3, and alter_sync waits for them
	}
	return s.awaitReplicas(ctx, table, timeout)
}

var alterOnCluster = regexp.MustCompile(`^ALTER TABLE ([A-Za-z0-9_]+)\.([A-Za-z0-9_]+) ON CLUSTER `)

// alteredTable returns the table of db that stmt alters on a cluster.
func alteredTable(stmt, db string) (string, bool) {
	m := alterOnCluster.FindStringSubmatch(strings.TrimSpace(stmt))
	if m == nil || m[1] != db {
		return "", false
	}
	return m[2], true
}

// awaitReplicas waits until every replica of a replicated table has applied the
// table's columns as ZooKeeper holds them. ClickHouse 18.16 ends an ALTER
// ON CLUSTER on a replica before that replica's alter thread has applied
// it; the next ALTER of the same table then races that thread, and the
// replica's distributed DDL worker can stall for good (the rare CI
// failure of TestMigrateOnCluster). Each replica's columns node in
// ZooKeeper equals the table's once it has applied the change.
func (s *Sink) awaitReplicas(ctx context.Context, table string, timeout time.Duration) error {
	var zk string
	err := s.conn.QueryRow(ctx, "SELECT zookeeper_path FROM system.replicas WHERE database = '"+s.db+"' AND table = '"+table+"'").Scan(&zk)
	if isNoRows(err) {
		return nil // not replicated
	}
	if err != nil {
		return fmt.Errorf("read %s.%s's replication path: %w", s.db, table, err)
	}
	deadline := time.Now().Add(timeout)
	wait := 20 * time.Millisecond
	for {
		behind, err := s.replicasBehind(ctx, zk)
		if err != nil {
			return fmt.Errorf("check that every replica applied the ALTER of %s.%s: %w", s.db, table, err)
		}
		if len(behind) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ALTER of %s.%s: replicas %s have not applied it after %s (see system.replicas there: is_session_expired, is_readonly)",
				s.db, table, strings.Join(behind, ", "), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// replicasBehind returns the replicas under zk whose columns differ from
// the table's.
func (s *Sink) replicasBehind(ctx context.Context, zk string) ([]string, error) {
	want, err := s.zkValue(ctx, zk, "columns")
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, "SELECT name FROM system.zookeeper WHERE path = '"+zk+"/replicas'")
	if err != nil {
		return nil, err
	}
	var replicas []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			rows.Close()
			return nil, err
		}
		replicas = append(replicas, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var behind []string
	for _, r := range replicas {
		got, err := s.zkValue(ctx, zk+"/replicas/"+r, "columns")
		if err != nil {
			return nil, err
		}
		if got != want {
			behind = append(behind, r)
		}
	}
	return behind, nil
}

// zkValue reads the node name under path through system.zookeeper.
func (s *Sink) zkValue(ctx context.Context, path, name string) (string, error) {
	var v string
	err := s.conn.QueryRow(ctx, "SELECT value FROM system.zookeeper WHERE path = '"+path+"' AND name = '"+name+"'").Scan(&v)
	if err != nil {
		return "", fmt.Errorf("read %s/%s in ZooKeeper: %w", path, name, err)
	}
	return v, nil
}
