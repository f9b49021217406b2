package schemas

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cdrpipe/cdrpipe/internal/golden"
)

func TestClustered(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CREATE DATABASE IF NOT EXISTS db", "CREATE DATABASE IF NOT EXISTS db ON CLUSTER c"},
		{"CREATE TABLE IF NOT EXISTS db.t (a UInt8) ENGINE = ReplacingMergeTree(v) ORDER BY a",
			"CREATE TABLE IF NOT EXISTS db.t ON CLUSTER c (a UInt8) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', v) ORDER BY a\n" +
				"CREATE TABLE IF NOT EXISTS db.t_all ON CLUSTER c AS db.t ENGINE = Distributed(c, db, t, rand())"},
		{"CREATE TABLE db.schema_x (a UInt8) ENGINE = MergeTree() ORDER BY a",
			"CREATE TABLE db.schema_x ON CLUSTER c (a UInt8) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/schema_x', '{replica}') ORDER BY a"},
		{"CREATE TABLE db.migration_lock (holder String) ENGINE = Memory",
			"CREATE TABLE db.migration_lock ON CLUSTER c (holder String) ENGINE = Memory"},
		{"ALTER TABLE db.t ADD COLUMN b String DEFAULT ''",
			"ALTER TABLE db.t ON CLUSTER c ADD COLUMN b String DEFAULT ''\nDROP TABLE IF EXISTS db.t_all ON CLUSTER c\n" +
				"CREATE TABLE IF NOT EXISTS db.t_all ON CLUSTER c AS db.t ENGINE = Distributed(c, db, t, rand())"},
		{"ALTER TABLE db.t MODIFY TTL start_time + INTERVAL 1 DAY", "ALTER TABLE db.t ON CLUSTER c MODIFY TTL start_time + INTERVAL 1 DAY"},
		{"DROP TABLE IF EXISTS db.t", "DROP TABLE IF EXISTS db.t ON CLUSTER c"},
		{"DROP TABLE db.v_old", "DROP TABLE db.v_old ON CLUSTER c"},
		{"CREATE OR REPLACE VIEW db.v AS SELECT 1", "CREATE OR REPLACE VIEW db.v ON CLUSTER c AS SELECT 1"},
		{"RENAME TABLE db.v TO db.v_old, db.v_next TO db.v", "RENAME TABLE db.v TO db.v_old, db.v_next TO db.v ON CLUSTER c"},
		{"INSERT INTO db.t (a) SELECT a FROM db.u", "INSERT INTO db.t (a) SELECT a FROM db.u"},
	} {
		if got := strings.Join(Clustered(tc.in, "c"), "\n"); got != tc.want {
			t.Errorf("Clustered(%q)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// TestClusteredMigrations keeps every migration as it runs on a cluster
// in a golden file, to be read in review.
func TestClusteredMigrations(t *testing.T) {
	migs, err := Migrations("cdrpipe")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, m := range migs {
		fmt.Fprintf(&b, "-- %04d_%s\n", m.Version, m.Name)
		for _, s := range m.Statements {
			for _, c := range Clustered(s, "cdrpipe") {
				if strings.Contains(c, "MergeTree(") && !strings.Contains(c, "Replicated") {
					t.Errorf("a MergeTree table left unreplicated: %s", c)
				}
				b.WriteString(c + ";\n\n")
			}
		}
	}
	golden.Check(t, "testdata/migrations_on_cluster.sql", b.String())
}
