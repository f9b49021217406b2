package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// warehouse is the harness's own ClickHouse connection, for resetting the
// benchmark databases and checking what the pipeline wrote.
type warehouse struct {
	addr string
	conn driver.Conn
}

// queryTimeout bounds every query the harness sends, so a hung server
// fails the run instead of stalling it.
const queryTimeout = 60 * time.Second

// openWarehouse connects to ClickHouse at addr and waits (bounded) for an
// answer.
func openWarehouse(ctx context.Context, addr string) (*warehouse, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse at %s does not answer (is the stack up? `make up`): %w", addr, err)
	}
	return &warehouse{addr: addr, conn: conn}, nil
}

// Close closes the connection.
func (w *warehouse) Close() { w.conn.Close() }

// dropDatabase removes db, so the run under test starts from nothing.
func (w *warehouse) dropDatabase(ctx context.Context, db string) error {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	if err := w.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
		return fmt.Errorf("drop database %s: %w", db, err)
	}
	return nil
}

// count runs a query returning one UInt64.
func (w *warehouse) count(ctx context.Context, query string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var n uint64
	if err := w.conn.QueryRow(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", query, err)
	}
	return n, nil
}

// version returns the server's version, or "?" when it cannot say.
func (w *warehouse) version(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	var v string
	if err := w.conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "?"
	}
	return v
}

// flaggedNumbers returns the numbers flagged by detector in db so far.
// No FINAL: a number is visible as soon as any row of it is, which is
// what an analyst or an exporter polling the table would see.
func (w *warehouse) flaggedNumbers(ctx context.Context, db, detector string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// The detector is one of ours, never user text; 18.16 is happier with
	// literals than with bound parameters.
	rows, err := w.conn.Query(ctx, "SELECT DISTINCT number FROM "+db+".flagged_numbers WHERE detector = '"+detector+"'")
	if err != nil {
		return nil, fmt.Errorf("poll %s.flagged_numbers: %w", db, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("read %s.flagged_numbers: %w", db, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s.flagged_numbers: %w", db, err)
	}
	return out, nil
}
