// Package sink writes cdrpipe's rows to ClickHouse over the native
// protocol: columnar batches per table, retried with backoff while the
// server is slow or down, split around the rows it refuses for good,
// which go to a quarantine table; and the schema migrations that create
// the tables. Every table is keyed by input-derived columns, so a retried
// or replayed insert duplicates nothing once merged.
package sink

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/tlsconf"
)

// Sink is a ClickHouse connection plus the database it writes to.
type Sink struct {
	conn       driver.Conn
	db         string
	cluster    string // clickhouse.cluster: schema changes ON CLUSTER
	ddlTimeout time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
	// send makes one insert attempt of cols into t; it is s.insert, or a
	// fake in tests of the split and the quarantine.
	send func(ctx context.Context, t *table, cols []any) error
	// now is the clock of Failing and of quarantined_at.
	now           func() time.Time
	health        health
	quarantinedBy map[string]*atomic.Int64

	// Retries counts failed insert attempts that were retried.
	Retries atomic.Int64
	// Splits counts inserts that ClickHouse refused for their content and
	// that were inserted again in two halves.
	Splits atomic.Int64
	// Quarantined counts rows written to the quarantine table instead of
	// their own, because ClickHouse refused them on their own.
	Quarantined atomic.Int64
}

// Open connects to ClickHouse. It does not require the database to exist
// (migrate creates it); every statement names its database.
func Open(ctx context.Context, cfg config.ClickHouse, sinkCfg config.Sink, log *slog.Logger) (*Sink, error) {
	opts := &clickhouse.Options{
		Addr:         cfg.Addrs(),
		Auth:         clickhouse.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password},
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  5 * time.Minute,
		MaxOpenConns: 4,
		Compression:  compression(cfg.Compression),
	}
	if cfg.TLS.Enabled {
		tc, err := tlsconf.Client(tlsconf.Files{CAFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile,
			KeyFile: cfg.TLS.KeyFile, ServerName: cfg.TLS.ServerName})
		if err != nil {
			return nil, &config.Error{Key: "clickhouse.tls", Msg: err.Error()}
		}
		opts.TLS = tc
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", cfg.Addr, err)
	}
	s := newSink(conn, cfg.Database, sinkCfg.MaxBackoff, log)
	s.cluster = cfg.Cluster
	s.ddlTimeout = cfg.DDLTimeout
	return s, nil
}

// newSink builds a sink on conn, which tests of the split leave nil.
func newSink(conn driver.Conn, db string, maxBackoff time.Duration, log *slog.Logger) *Sink {
	s := &Sink{conn: conn, db: db, minBackoff: min(firstBackoff, maxBackoff), maxBackoff: maxBackoff, log: log,
		now: time.Now, quarantinedBy: newQuarantineCounters()}
	s.send = s.insert
	return s
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
// A server that refuses the credentials or a certificate it cannot trust
// ends it at once: retrying cannot mend either.
func (s *Sink) Ping(ctx context.Context) error {
	if err := s.retry(ctx, "ping clickhouse", func() error { return setupError(s.conn.Ping(ctx)) }, isSetupError); err != nil {
		return fmt.Errorf("ping clickhouse: %w", err)
	}
	return nil
}

// Write inserts every non-empty table of b, retrying each failed insert
// with backoff until it succeeds or ctx ends. Rows ClickHouse refuses for
// their content are split out and quarantined (see writeTable), so Write
// waits only while the server or the schema is at fault. Tables already
// written are not written again within one call.
func (s *Sink) Write(ctx context.Context, b *Batch) error {
	for _, t := range tables {
		if t.rows(b) == 0 {
			continue
		}
		if err := s.writeTable(ctx, t, t.values(b)); err != nil {
			return fmt.Errorf("insert %s: %w", t.name, err)
		}
	}
	return nil
}

// insert makes one insert attempt of cols, the columns of t. The driver
// appends each typed slice whole.
func (s *Sink) insert(ctx context.Context, t *table, cols []any) error {
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+"."+t.name+" "+t.columns)
	if err != nil {
		return err
	}
	defer batch.Abort()
	for i, col := range cols {
		if err := batch.Column(i).Append(col); err != nil {
			return &appendError{column: t.names[i], err: err}
		}
	}
	return batch.Send()
}
