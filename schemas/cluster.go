package schemas

import (
	"regexp"
	"strings"
)

// On a ClickHouse cluster (clickhouse.cluster), every statement that
// changes the schema runs ON CLUSTER, so each replica gets it from the
// distributed DDL queue even if it was down at the time; tables of the
// MergeTree family are their Replicated twins, coordinated under
// /clickhouse/tables/{shard}/<db>/<table>, so an insert on any replica
// reaches the others; and each data table has a Distributed table
// <table>_all over the cluster, for queries that must see every shard.
// Statements that move rows (INSERT … SELECT) run on one replica only:
// replication copies what they write.

// clusterHead matches the start of a schema statement up to the name of
// the object it changes, where ON CLUSTER goes.
var clusterHead = regexp.MustCompile(`(?is)^(CREATE\s+(?:OR\s+REPLACE\s+)?(?:MATERIALIZED\s+)?(?:TABLE|VIEW|DATABASE)(?:\s+IF\s+NOT\s+EXISTS)?|DROP\s+(?:TABLE|VIEW|DATABASE)(?:\s+IF\s+EXISTS)?|ALTER\s+TABLE)\s+([\w.]+)`)

// mergeTree matches a MergeTree-family engine and its arguments.
var mergeTree = regexp.MustCompile(`ENGINE\s*=\s*((?:Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree)\(([^)]*)\)`)

// addColumn matches what follows the table's name in ALTER … ADD COLUMN.
var addColumn = regexp.MustCompile(`(?i)^\s*ADD\s+COLUMN`)

// DistributedSuffix names the Distributed table over a data table.
const DistributedSuffix = "_all"

// Clustered returns the statements that do what stmt does on a single
// server on cluster: stmt with ON CLUSTER and a replicated engine, and
// what keeps its Distributed table in step (created with the table and
// given its new columns; a migration that drops a table drops that one
// too, by name). Bookkeeping tables (schema_*)
// get no Distributed table. Other statements come back as they are.
func Clustered(stmt, cluster string) []string {
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(stmt)), "RENAME TABLE") {
		return []string{strings.TrimSpace(stmt) + " ON CLUSTER " + cluster}
	}
	m := clusterHead.FindStringSubmatchIndex(stmt)
	if m == nil {
		return []string{stmt}
	}
	verb := strings.ToUpper(strings.Join(strings.Fields(stmt[m[2]:m[3]]), " "))
	name := stmt[m[4]:m[5]]
	out := stmt[:m[5]] + " ON CLUSTER " + cluster + stmt[m[5]:]
	db, table, _ := strings.Cut(name, ".")
	if table == "" {
		db, table = "", name
	}
	replicated := mergeTree.ReplaceAllStringFunc(out, func(e string) string {
		sm := mergeTree.FindStringSubmatch(e)
		args := "'/clickhouse/tables/{shard}/" + db + "/" + table + "', '{replica}'"
		if a := strings.TrimSpace(sm[2]); a != "" {
			args += ", " + a
		}
		return "ENGINE = Replicated" + sm[1] + "(" + args + ")"
	})
	stmts := []string{replicated}
	if db == "" || strings.HasPrefix(table, "schema_") {
		return stmts
	}
	switch {
	case strings.HasPrefix(verb, "CREATE TABLE") && replicated != out:
		stmts = append(stmts, distributed(db, table, cluster))
	case verb == "ALTER TABLE" && addColumn.MatchString(stmt[m[5]:]):
		// ClickHouse runs an ALTER ON CLUSTER of a table that is not
		// replicated only where shards are not replicated; a Distributed
		// table holds no rows, so it is made again with the new columns.
		stmts = append(stmts, "DROP TABLE IF EXISTS "+name+DistributedSuffix+" ON CLUSTER "+cluster, distributed(db, table, cluster))
	}
	return stmts
}

// distributed creates the Distributed table over db.table on cluster.
func distributed(db, table, cluster string) string {
	return "CREATE TABLE IF NOT EXISTS " + db + "." + table + DistributedSuffix + " ON CLUSTER " + cluster +
		" AS " + db + "." + table + " ENGINE = Distributed(" + cluster + ", " + db + ", " + table + ", rand())"
}
