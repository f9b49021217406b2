package sink

import (
	"context"
	"fmt"
	"strings"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// SetRetention makes a server that has TTL expire rows itself: each table
// of schemas.Expiries gets the TTL its retention asks for (none for
// zero), and the device columns of cdrs a column TTL. Only what differs
// from what is in force is altered, so it is cheap to call at every
// start. It returns the statements it ran, and whether the server has
// TTL at all: one without (18.16) is left alone, and `cdrpipe retention`
// expires rows there.
func (s *Sink) SetRetention(ctx context.Context, r schemas.Retention) (stmts []string, ttl bool, err error) {
	ver, err := s.conn.ServerVersion()
	if err != nil {
		return nil, false, fmt.Errorf("clickhouse server version: %w", err)
	}
	if !schemas.HasTTL(int(ver.Version.Major), int(ver.Version.Minor)) {
		return nil, false, nil
	}
	creates, err := s.createQueries(ctx)
	if err != nil {
		return nil, true, err
	}
	stmts = retentionChanges(s.db, r, creates)
	for i, stmt := range stmts {
		if err := s.schema(ctx, stmt); err != nil {
			return stmts[:i], true, fmt.Errorf("set retention: %w", err)
		}
	}
	return stmts, true, nil
}

// createQueries returns the CREATE statement of every table of the
// database, by table name, as the server prints it.
func (s *Sink) createQueries(ctx context.Context) (map[string]string, error) {
	rows, err := s.conn.Query(ctx, "SELECT name, create_table_query FROM system.tables WHERE database = '"+s.db+"'")
	if err != nil {
		return nil, fmt.Errorf("read table definitions: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			return nil, fmt.Errorf("read table definitions: %w", err)
		}
		out[name] = create
	}
	return out, rows.Err()
}

// retentionChanges returns the ALTER statements that bring the TTLs in
// creates (table name to CREATE statement) to those r asks for.
func retentionChanges(db string, r schemas.Retention, creates map[string]string) []string {
	var out []string
	for _, e := range schemas.Expiries {
		create, ok := creates[e.Table]
		if !ok {
			continue
		}
		want := schemas.TTLExpr(e.Column, r.Keep(e.Table))
		if tableTTL(create) == want {
			continue
		}
		if want == "" {
			out = append(out, "ALTER TABLE "+db+"."+e.Table+" REMOVE TTL")
		} else {
			out = append(out, "ALTER TABLE "+db+"."+e.Table+" MODIFY TTL "+want)
		}
	}
	create, ok := creates["cdrs"]
	if !ok {
		return out
	}
	want := schemas.TTLExpr(schemas.DeviceColumnsFrom, r.DeviceTTL())
	for _, col := range schemas.DeviceColumns {
		have, found := columnTTL(create, col)
		if !found || have == want {
			continue
		}
		if want == "" {
			out = append(out, "ALTER TABLE "+db+".cdrs MODIFY COLUMN "+col+" REMOVE TTL")
		} else {
			out = append(out, "ALTER TABLE "+db+".cdrs MODIFY COLUMN "+col+" String TTL "+want)
		}
	}
	return out
}

// tableTTL returns the table TTL of a CREATE statement as the server
// prints it ("... ENGINE = X PARTITION BY ... TTL expr SETTINGS ..."),
// or "".
func tableTTL(create string) string {
	_, engine, ok := strings.Cut(create, ") ENGINE = ")
	if !ok {
		return ""
	}
	_, ttl, ok := strings.Cut(engine, " TTL ")
	if !ok {
		return ""
	}
	ttl, _, _ = strings.Cut(ttl, " SETTINGS ")
	return strings.TrimSpace(ttl)
}

// columnTTL returns the TTL of column col in a CREATE statement ("`col`
// String TTL expr," with TTL last), and whether the column is there.
func columnTTL(create, col string) (ttl string, found bool) {
	columns, _, _ := strings.Cut(create, ") ENGINE = ")
	_, def, ok := strings.Cut(columns, "`"+col+"` ")
	if !ok {
		return "", false
	}
	def, _, _ = strings.Cut(def, ", `")
	_, ttl, _ = strings.Cut(def, " TTL ")
	return strings.TrimSpace(ttl), true
}
