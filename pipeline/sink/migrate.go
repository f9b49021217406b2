package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// Migrate creates the database, applies schema versions not yet recorded
// in schema_migrations that the server's release supports, and brings the
// views up to date. It is idempotent, and instances starting together
// take turns (see lock).
func (s *Sink) Migrate(ctx context.Context, verdict schemas.Verdict) (applied int, err error) {
	if err := s.schema(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db); err != nil {
		return 0, fmt.Errorf("create database %s: %w", s.db, err)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if err := s.schema(ctx, "CREATE TABLE IF NOT EXISTS "+s.db+".schema_migrations "+
		"(version UInt32, name String, applied_at DateTime) ENGINE = MergeTree() ORDER BY version"); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	done, err := s.appliedVersions(ctx)
	if err != nil {
		return 0, err
	}
	migs, err := schemas.Migrations(s.db)
	if err != nil {
		return 0, err
	}
	ver, err := s.conn.ServerVersion()
	if err != nil {
		return 0, fmt.Errorf("clickhouse server version: %w", err)
	}
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		if !m.RunsOn(int(ver.Version.Major), int(ver.Version.Minor)) {
			s.log.Info("migration left for a newer ClickHouse; it is applied by the first migrate after an upgrade",
				"migration", fmt.Sprintf("%04d_%s", m.Version, m.Name), "requires", fmt.Sprintf("%d.%d", m.Requires[0], m.Requires[1]),
				"server", fmt.Sprintf("%d.%d", ver.Version.Major, ver.Version.Minor))
			continue
		}
		for _, stmt := range s.onCluster(m.Statements...) {
			if err := s.execSchema(ctx, stmt); err != nil && !alreadyDone(stmt, err) {
				return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if err := s.record(ctx, m); err != nil {
			return applied, fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		applied++
	}
	if err := s.refreshViews(ctx, schemas.Views(s.db, verdict), schemas.HasTTL(int(ver.Version.Major), int(ver.Version.Minor))); err != nil {
		return applied, err
	}
	return applied, nil
}

// alreadyDone reports whether err says that stmt was done by an earlier
// run of its migration, cut short before it was recorded: the column an
// ALTER adds exists already (18.16 has no ADD COLUMN IF NOT EXISTS), or
// the table an INSERT … SELECT moves rows from was dropped after they
// were moved.
func alreadyDone(stmt string, err error) bool {
	var exc *clickhouse.Exception
	if !errors.As(err, &exc) {
		return false
	}
	switch {
	case strings.Contains(stmt, "ADD COLUMN"):
		return (exc.Code == 15 || exc.Code == 44) && strings.Contains(exc.Message, "already exists")
	case strings.HasPrefix(stmt, "INSERT INTO") && strings.Contains(stmt, "SELECT"):
		return exc.Code == 60 // UNKNOWN_TABLE
	}
	return false
}

// record notes an applied migration. It goes through a batch because a
// plain INSERT … VALUES with bound parameters hangs against 18.16.
func (s *Sink) record(ctx context.Context, m schemas.Migration) error {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".schema_migrations (version, name, applied_at)")
	if err != nil {
		return err
	}
	defer b.Abort()
	if err := b.Append(uint32(m.Version), m.Name, time.Now()); err != nil {
		return err
	}
	return b.Send()
}

func (s *Sink) appliedVersions(ctx context.Context) (map[int]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT version FROM "+s.db+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := make(map[int]bool)
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		done[int(v)] = true
	}
	return done, rows.Err()
}

// onCluster returns stmts as they run where the database lives: as they
// are on a single server, ON CLUSTER with replicated engines and
// Distributed tables on a cluster (schemas.Clustered).
func (s *Sink) onCluster(stmts ...string) []string {
	if s.cluster == "" {
		return stmts
	}
	var out []string
	for _, stmt := range stmts {
		out = append(out, schemas.Clustered(stmt, s.cluster)...)
	}
	return out
}

// schema runs a statement that changes the schema, on every replica of a
// cluster.
func (s *Sink) schema(ctx context.Context, stmt string) error {
	for _, st := range s.onCluster(stmt) {
		if err := s.execSchema(ctx, st); err != nil {
			return err
		}
	}
	return nil
}
