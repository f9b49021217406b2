// Package sink writes cdrpipe's rows to ClickHouse over the native
// protocol: columnar batches per table, retried with backoff while the
// server is slow or down, and the schema migrations that create the
// tables. Every table is keyed by input-derived columns, so a retried or
// replayed insert duplicates nothing once merged.
package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Sink is a ClickHouse connection plus the database it writes to.
type Sink struct {
	conn       driver.Conn
	db         string
	maxBackoff time.Duration
	log        *slog.Logger

	// Retries counts failed insert attempts that were retried.
	Retries atomic.Int64
}

// Open connects to ClickHouse. It does not require the database to exist
// (migrate creates it); every statement names its database.
func Open(ctx context.Context, cfg config.ClickHouse, sinkCfg config.Sink, log *slog.Logger) (*Sink, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:         []string{cfg.Addr},
		Auth:         clickhouse.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password},
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  5 * time.Minute,
		MaxOpenConns: 4,
		Compression:  compression(cfg.Compression),
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", cfg.Addr, err)
	}
	return &Sink{conn: conn, db: cfg.Database, maxBackoff: sinkCfg.MaxBackoff, log: log}, nil
}

// compression maps the clickhouse.compression setting to the driver's.
func compression(name string) *clickhouse.Compression {
	switch name {
	case "lz4":
		return &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	case "zstd":
		return &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	}
	return nil
}

// Conn exposes the connection for queries (reports, tests).
func (s *Sink) Conn() driver.Conn { return s.conn }

// Close closes the connection.
func (s *Sink) Close() error { return s.conn.Close() }

// Ping checks the server answers, retrying with backoff until ctx ends.
func (s *Sink) Ping(ctx context.Context) error {
	return s.retry(ctx, "ping clickhouse", func() error { return s.conn.Ping(ctx) })
}

// Migrate creates the database, applies schema versions not yet recorded
// in schema_migrations, and re-creates the views. It is idempotent.
func (s *Sink) Migrate(ctx context.Context, verdict schemas.Verdict) (applied int, err error) {
	if err := s.conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+s.db); err != nil {
		return 0, fmt.Errorf("create database %s: %w", s.db, err)
	}
	if err := s.conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+s.db+".schema_migrations "+
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
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for _, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, stmt); err != nil && !alreadyAdded(stmt, err) {
				return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if err := s.record(ctx, m); err != nil {
			return applied, fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		applied++
	}
	for _, stmt := range schemas.Views(s.db, verdict) {
		if err := s.conn.Exec(ctx, stmt); err != nil {
			return applied, fmt.Errorf("create views: %w", err)
		}
	}
	return applied, nil
}

// alreadyAdded reports whether err says that the column stmt adds exists
// already: a migration cut short after its ALTER is applied again, and
// 18.16 has no ADD COLUMN IF NOT EXISTS.
func alreadyAdded(stmt string, err error) bool {
	var exc *clickhouse.Exception
	return strings.Contains(stmt, "ADD COLUMN") && errors.As(err, &exc) &&
		(exc.Code == 15 || exc.Code == 44) && strings.Contains(exc.Message, "already exists")
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

// table names one insert of a batch.
type table struct {
	name    string
	columns string
	values  func(*Batch) []any
	rows    func(*Batch) int
}

// tables are written in this order: flags first, because blocklist
// exporters wait for them, and the large cdrs insert last.
var tables = []table{
	{"flagged_numbers", flagInsert, func(b *Batch) []any { return b.flags.columns() }, func(b *Batch) int { return len(b.flags.number) }},
	{"caller_stats", statsInsert, func(b *Batch) []any { return b.stats.columns() }, func(b *Batch) int { return len(b.stats.caller) }},
	{"cdr_rejects", rejectInsert, func(b *Batch) []any { return b.rejects.columns() }, func(b *Batch) int { return len(b.rejects.topic) }},
	{"cdrs", cdrInsert, func(b *Batch) []any { return b.cdrs.columns() }, func(b *Batch) int { return len(b.cdrs.callKey) }},
}

// Write inserts every non-empty table of b, retrying each failed insert
// with backoff until it succeeds or ctx ends. Tables already written are
// not written again within one call.
func (s *Sink) Write(ctx context.Context, b *Batch) error {
	for _, t := range tables {
		if t.rows(b) == 0 {
			continue
		}
		err := s.retry(ctx, "insert "+t.name, func() error { return s.insert(ctx, t, b) })
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Sink) insert(ctx context.Context, t table, b *Batch) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+"."+t.name+" "+t.columns)
	if err != nil {
		return err
	}
	defer batch.Abort()
	for i, col := range t.values(b) {
		if err := batch.Column(i).Append(col); err != nil {
			return fmt.Errorf("column %d: %w", i, err)
		}
	}
	return batch.Send()
}

// retry runs f until it succeeds, backing off from 100 ms to maxBackoff.
// It gives up only when ctx ends.
func (s *Sink) retry(ctx context.Context, what string, f func() error) error {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			if attempt > 1 {
				s.log.Info("clickhouse recovered", "op", what, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", what, errors.Join(ctx.Err(), err))
		}
		s.Retries.Add(1)
		s.log.Warn("clickhouse write failed, retrying", "op", what, "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, errors.Join(ctx.Err(), err))
		case <-time.After(wait):
		}
		wait = min(2*wait, s.maxBackoff)
	}
}
