package sink

import "testing"

func TestAlteredTable(t *testing.T) {
	for _, c := range []struct {
		stmt, table string
		ok          bool
	}{
		{"ALTER TABLE db.cdrs ON CLUSTER c ADD COLUMN x String DEFAULT ''", "cdrs", true},
		{"  ALTER TABLE db.flags ON CLUSTER c MODIFY TTL window_end + INTERVAL 1 DAY", "flags", true},
		{"ALTER TABLE other.cdrs ON CLUSTER c ADD COLUMN x String", "", false},
		{"ALTER TABLE db.cdrs ADD COLUMN x String", "", false}, // not on a cluster
		{"CREATE TABLE db.t ON CLUSTER c (a UInt8) ENGINE = Memory", "", false},
		{"DROP TABLE IF EXISTS db.cdrs_all ON CLUSTER c", "", false},
	} {
		table, ok := alteredTable(c.stmt, "db")
		if table != c.table || ok != c.ok {
			t.Errorf("alteredTable(%q) = %q, %v; want %q, %v", c.stmt, table, ok, c.table, c.ok)
		}
	}
}
