package sink

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// refreshViews creates the views that are missing and replaces those
// whose query changed (the blocklist's carries blocklist.ttl and the
// rules), leaving the others alone: exporters read the blocklist view
// all the time, and a view dropped and created again fails their queries
// in between. What each view was made from is kept in schema_views.
// orReplace says the server has CREATE OR REPLACE VIEW, which swaps a
// view at once; on 18.16 the new view is made beside the old one and
// renamed over it, in one RENAME.
func (s *Sink) refreshViews(ctx context.Context, views []schemas.View, orReplace bool) error {
	if err := s.schema(ctx, "CREATE TABLE IF NOT EXISTS "+s.db+".schema_views "+
		"(name String, query_hash String, created_at DateTime) ENGINE = ReplacingMergeTree(created_at) ORDER BY name"); err != nil {
		return fmt.Errorf("create schema_views: %w", err)
	}
	engines, err := s.engines(ctx)
	if err != nil {
		return err
	}
	made, err := s.viewHashes(ctx)
	if err != nil {
		return err
	}
	for _, v := range views {
		sum := sha256.Sum256([]byte(v.Query))
		hash := hex.EncodeToString(sum[:12])
		engine, exists := engines[v.Name]
		switch {
		case exists && engine != "View":
			return fmt.Errorf("create view %s.%s: a %s table has that name (an earlier migration was not applied?)", s.db, v.Name, engine)
		case exists && made[v.Name] == hash:
			continue
		}
		if err := s.createView(ctx, v, exists, orReplace); err != nil {
			return err
		}
		if err := s.recordView(ctx, v.Name, hash); err != nil {
			return err
		}
	}
	return nil
}

// createView makes view v, replacing the one of that name if it exists.
func (s *Sink) createView(ctx context.Context, v schemas.View, exists, orReplace bool) error {
	name := s.db + "." + v.Name
	var stmts []string
	switch {
	case !exists:
		stmts = []string{"CREATE VIEW " + name + " AS " + v.Query}
	case orReplace:
		stmts = []string{"CREATE OR REPLACE VIEW " + name + " AS " + v.Query}
	default:
		next, old := name+"_next", name+"_old"
		stmts = []string{
			"DROP TABLE IF EXISTS " + next,
			"DROP TABLE IF EXISTS " + old,
			"CREATE VIEW " + next + " AS " + v.Query,
			"RENAME TABLE " + name + " TO " + old + ", " + next + " TO " + name,
			"DROP TABLE " + old,
		}
	}
	for _, stmt := range stmts {
		if err := s.schema(ctx, stmt); err != nil {
			return fmt.Errorf("create view %s: %w", name, err)
		}
	}
	return nil
}

// engines returns the engine of every table and view of the database.
func (s *Sink) engines(ctx context.Context) (map[string]string, error) {
	rows, err := s.conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = '"+s.db+"'")
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", s.db, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, engine string
		if err := rows.Scan(&name, &engine); err != nil {
			return nil, fmt.Errorf("list tables of %s: %w", s.db, err)
		}
		out[name] = engine
	}
	return out, rows.Err()
}

// viewHashes returns the hash of the query each view was last made from.
func (s *Sink) viewHashes(ctx context.Context) (map[string]string, error) {
	rows, err := s.conn.Query(ctx, "SELECT name, argMax(query_hash, created_at) FROM "+s.db+".schema_views GROUP BY name")
	if err != nil {
		return nil, fmt.Errorf("read schema_views: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, hash string
		if err := rows.Scan(&name, &hash); err != nil {
			return nil, fmt.Errorf("read schema_views: %w", err)
		}
		out[name] = hash
	}
	return out, rows.Err()
}

// recordView notes the query a view was made from (through a batch, like
// record).
func (s *Sink) recordView(ctx context.Context, name, hash string) error {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.db+".schema_views (name, query_hash, created_at)")
	if err != nil {
		return fmt.Errorf("record view %s: %w", name, err)
	}
	defer b.Abort()
	if err := b.Append(name, hash, time.Now()); err != nil {
		return fmt.Errorf("record view %s: %w", name, err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("record view %s: %w", name, err)
	}
	return nil
}

// lockStale is how old the migration lock may be before it is taken as
// left by an instance that died holding it.
const lockStale = 10 * time.Minute

// lock takes the database's migration lock, waiting while another
// instance holds it: instances started together must not run the same
// migration at once (moving a table's rows twice, or renaming a view
// under the other). The lock is a table, since only one CREATE TABLE of a
// name succeeds; it lives in memory, so a server restart frees it, and
// one older than lockStale is taken over.
func (s *Sink) lock(ctx context.Context) (unlock func(), err error) {
	name := s.db + ".migration_lock"
	wait := 100 * time.Millisecond
	for logged := false; ; {
		err := s.schema(ctx, "CREATE TABLE "+name+" (holder String) ENGINE = Memory")
		if err == nil {
			return func() {
				if err := s.schema(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+name); err != nil {
					s.log.Warn("could not release the migration lock; the next migrate takes it over after "+lockStale.String(), "err", err)
				}
			}, nil
		}
		if !exists(err) {
			return nil, fmt.Errorf("take the migration lock: %w", err)
		}
		age, err := s.lockAge(ctx)
		if err != nil {
			return nil, err
		}
		if age > lockStale {
			s.log.Warn("taking over a stale migration lock", "age", age.Round(time.Second))
			if err := s.schema(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
				return nil, fmt.Errorf("drop a stale migration lock: %w", err)
			}
			continue
		}
		if !logged {
			s.log.Info("another instance is migrating the database; waiting", "database", s.db)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the migration lock: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// lockAge is how long ago the migration lock was taken; zero if it is not
// there any more.
func (s *Sink) lockAge(ctx context.Context) (time.Duration, error) {
	var at time.Time
	err := s.conn.QueryRow(ctx, "SELECT metadata_modification_time FROM system.tables WHERE database = '"+s.db+"' AND name = 'migration_lock'").Scan(&at)
	if err != nil {
		if isNoRows(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("read the migration lock: %w", err)
	}
	return time.Since(at), nil
}

// exists reports whether err says that a table of that name exists
// (TABLE_ALREADY_EXISTS).
func exists(err error) bool {
	var exc *clickhouse.Exception
	return errors.As(err, &exc) && exc.Code == 57
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
