package sink_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestMigrateOnCluster migrates a database on the cluster stack's two
// replicas from two instances at once: each replica gets every table
// replicated, a Distributed table over each data table, and the views;
// a changed verdict swaps the views on both; a row written through one
// replica is read on the other.
func TestMigrateOnCluster(t *testing.T) {
	c := e2e.RequireCluster(t)
	ctx := context.Background()
	cfg := config.Default()
	cfg.ClickHouse.Addr = strings.Join(c.Replicas, ",")
	cfg.ClickHouse.Cluster = c.Name
	cfg.ClickHouse.Database = e2e.Name("cdrpipe_cluster")
	cfg.ClickHouse.DDLTimeout = 90 * time.Second
	db := cfg.ClickHouse.Database
	open := func() *sink.Sink {
		s, err := sink.Open(ctx, cfg.ClickHouse, cfg.Sink, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open()
	t.Cleanup(func() { s.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" ON CLUSTER "+c.Name) })
	c.DiagnoseOnFailure(t, db)

	// Two instances starting together take turns.
	var wg sync.WaitGroup
	applied := make([]int, 2)
	for i, snk := range []*sink.Sink{s, open()} {
		wg.Go(func() {
			n, err := snk.Migrate(ctx, cfg.Verdict())
			if err != nil {
				t.Errorf("migrate %d: %v", i+1, err)
			}
			applied[i] = n
		})
	}
	wg.Wait()
	if applied[0]+applied[1] == 0 || applied[0] != 0 && applied[1] != 0 {
		t.Errorf("migrations applied by each instance: %v; want all by one, none by the other", applied)
	}

	var engines []map[string]string
	for i := range c.Replicas {
		conn := c.Replica(t, i)
		got := map[string]string{}
		rows, err := conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = '"+db+"'")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, engine string
			if err := rows.Scan(&name, &engine); err != nil {
				t.Fatal(err)
			}
			got[name] = engine
		}
		rows.Close()
		engines = append(engines, got)
	}
	for i, got := range engines {
		for name, engine := range got {
			if strings.Contains(engine, "MergeTree") && !strings.HasPrefix(engine, "Replicated") {
				t.Errorf("replica %d: %s is %s, not replicated", i+1, name, engine)
			}
		}
		for _, table := range []string{"cdrs", "cdr_rejects", "flags", "window_stats", "quarantine", "allowlist", "blocklist_changes"} {
			if got[table+schemas.DistributedSuffix] != "Distributed" {
				t.Errorf("replica %d: no Distributed table over %s (%q)", i+1, table, got[table+schemas.DistributedSuffix])
			}
		}
		for _, view := range []string{"flagged_numbers", "caller_stats", "verdicts", "blocklist"} {
			if got[view] != "View" {
				t.Errorf("replica %d: %s is %q, want a view", i+1, view, got[view])
			}
		}
		if len(got) != len(engines[0]) {
			t.Errorf("replica %d has %d tables, replica 1 %d", i+1, len(got), len(engines[0]))
		}
	}

	// A changed verdict replaces the blocklist view on both replicas.
	changed := cfg.Verdict()
	changed.TTL = 48 * time.Hour
	if n, err := s.Migrate(ctx, changed); err != nil || n != 0 {
		t.Fatalf("migrate again: %d applied, %v; want 0", n, err)
	}
	for i := range c.Replicas {
		conn := c.Replica(t, i)
		var q string
		if err := conn.QueryRow(ctx, "SELECT create_table_query FROM system.tables WHERE database = '"+db+"' AND name = 'verdicts'").Scan(&q); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(q, "172800") {
			t.Errorf("replica %d: the verdicts view does not carry the new TTL: %s", i+1, q)
		}
	}

	// A row written through the cluster setting reaches both replicas.
	var b sink.Batch
	at := time.Date(2026, 11, 29, 7, 0, 3, 0, time.UTC)
	b.AddCDR(&schemas.CDR{CallID: "x", Key: "x", Caller: "+8613900000001", Callee: "+8613800000001", StartTime: at,
		Duration: 4, Disposition: schemas.Answered}, "cdrs", 0, 0)
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	for i := range c.Replicas {
		conn := c.Replica(t, i)
		e2e.SyncReplica(t, conn, db)
		if n := e2e.Count(t, conn, "SELECT count() FROM "+db+".cdrs_all"); n != 1 {
			t.Errorf("replica %d: cdrs_all has %d rows, want 1", i+1, n)
		}
	}
}
