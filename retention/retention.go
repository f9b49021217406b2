// Package retention removes what cdrpipe's tables keep past their
// retention, on any ClickHouse release. Whole partitions older than a
// table's retention are dropped, which costs nothing. On a server without
// TTL (18.16) it also deletes the older rows left in partitions that are
// only partly past it, and blanks old device identifiers, with mutations;
// on a current server TTL does both at merges (see sink.SetRetention), so
// only the drops are left to do. The job is idempotent: run it daily.
package retention

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// Kind is what an Action does.
type Kind string

// The actions of a retention run.
const (
	// DropPartition drops a partition all of whose rows are past the
	// cutoff.
	DropPartition Kind = "drop partition"
	// DeleteRows deletes the rows past the cutoff left in partitions
	// that also hold newer ones (a mutation).
	DeleteRows Kind = "delete rows"
	// BlankDeviceIDs empties the device columns of calls past their
	// cutoff (a mutation).
	BlankDeviceIDs Kind = "blank device ids"
	// Wait is a mutation not started because an earlier one on the table
	// is still running; the next run starts it.
	Wait Kind = "wait"
)

// Action is one step of a run.
type Action struct {
	Table string
	Kind  Kind
	// Partition is the partition dropped, as ClickHouse names it.
	Partition string
	// Rows is how many rows it removes or changes.
	Rows uint64
	// Cutoff is the time before which the table's rows are past their
	// retention.
	Cutoff time.Time
	// Newest is the newest row time of a dropped partition.
	Newest time.Time
}

// String describes a, for the command's output and logs.
func (a Action) String() string {
	switch a.Kind {
	case DropPartition:
		return fmt.Sprintf("%s: drop partition %s (%d rows, newest %s, cutoff %s)", a.Table, a.Partition, a.Rows,
			a.Newest.UTC().Format(time.RFC3339), a.Cutoff.UTC().Format(time.RFC3339))
	case Wait:
		return fmt.Sprintf("%s: an earlier retention mutation is still running; the next run goes on", a.Table)
	}
	return fmt.Sprintf("%s: %s, %d rows older than %s", a.Table, a.Kind, a.Rows, a.Cutoff.UTC().Format(time.RFC3339))
}

// Options tune a run.
type Options struct {
	// Now is the time cutoffs are counted back from.
	Now time.Time
	// DryRun reports what would be done and does nothing.
	DryRun bool
}

// Run enforces r on the tables of database db and returns what it did
// (or, with DryRun, would do). Mutations are started, not waited for:
// system.mutations shows their progress.
func Run(ctx context.Context, conn driver.Conn, db string, r schemas.Retention, opts Options) ([]Action, error) {
	ver, err := conn.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("clickhouse server version: %w", err)
	}
	rowLevel := !schemas.HasTTL(int(ver.Version.Major), int(ver.Version.Minor))
	j := &job{conn: conn, db: db, dry: opts.DryRun, dropped: map[string]time.Time{}}
	for _, e := range schemas.Expiries {
		keep := r.Keep(e.Table)
		if keep <= 0 {
			continue
		}
		cutoff := opts.Now.Add(-keep).Truncate(time.Second)
		if err := j.expire(ctx, e, cutoff, rowLevel); err != nil {
			return j.done, err
		}
	}
	if keep := r.DeviceTTL(); keep > 0 && rowLevel {
		if err := j.blankDevices(ctx, opts.Now.Add(-keep).Truncate(time.Second)); err != nil {
			return j.done, err
		}
	}
	return j.done, nil
}

// job is one run over one database.
type job struct {
	conn driver.Conn
	db   string
	dry  bool
	done []Action
	// dropped is, per table, the newest row of the partitions dropped.
	// Partitions split time into disjoint ranges, so the rows left are
	// exactly those after it: bounding the counts by it makes a dry run
	// count what a real run, having dropped, would.
	dropped map[string]time.Time
}

// after limits a condition on table's column to the rows its partition
// drops leave.
func (j *job) after(table, column string) string {
	if at, ok := j.dropped[table]; ok {
		return " AND " + column + " > " + sqlTime(at)
	}
	return ""
}

// expire drops e's partitions past cutoff and, on a server without TTL,
// deletes its remaining rows past cutoff. On cdrs, partitioned by day,
// the rows of the one partial day are left to the next day's drop: a
// delete mutation rewrites every part of the largest table.
func (j *job) expire(ctx context.Context, e schemas.Expiry, cutoff time.Time, rowLevel bool) error {
	if e.Grain != schemas.Unpartitioned {
		if err := j.dropPartitions(ctx, e, cutoff); err != nil {
			return err
		}
	}
	if !rowLevel || e.Grain == schemas.Daily {
		return nil
	}
	where := e.Column + " < " + sqlTime(cutoff) + j.after(e.Table, e.Column)
	return j.mutate(ctx, e.Table, DeleteRows, cutoff, where, "DELETE WHERE "+where)
}

// partition is one partition of a table, from system.parts.
type partition struct {
	name   string
	rows   uint64
	newest time.Time
}

// dropPartitions drops the partitions of e whose newest row is before
// cutoff.
func (j *job) dropPartitions(ctx context.Context, e schemas.Expiry, cutoff time.Time) error {
	parts, err := j.partitions(ctx, e.Table)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if p.newest.Unix() > 0 && !p.newest.Before(cutoff) {
			continue
		}
		if _, err := strconv.ParseUint(p.name, 10, 64); err != nil || p.newest.Unix() <= 0 {
			return fmt.Errorf("%s: partition %q is not one cdrpipe made (partitioned by %s); leaving the table alone", e.Table, p.name, e.Column)
		}
		if !j.dry {
			if err := j.conn.Exec(ctx, "ALTER TABLE "+j.db+"."+e.Table+" DROP PARTITION "+p.name); err != nil {
				return fmt.Errorf("drop partition %s of %s: %w", p.name, e.Table, err)
			}
		}
		j.done = append(j.done, Action{Table: e.Table, Kind: DropPartition, Partition: p.name, Rows: p.rows, Cutoff: cutoff, Newest: p.newest})
		if p.newest.After(j.dropped[e.Table]) {
			j.dropped[e.Table] = p.newest
		}
	}
	return nil
}

// partitions lists the active partitions of table with their row count
// and newest row time (the max_time of the partition key's column).
func (j *job) partitions(ctx context.Context, table string) ([]partition, error) {
	rows, err := j.conn.Query(ctx, "SELECT partition, sum(rows), max(max_time) FROM system.parts"+
		" WHERE database = '"+j.db+"' AND table = '"+table+"' AND active GROUP BY partition ORDER BY partition")
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", table, err)
	}
	defer rows.Close()
	var out []partition
	for rows.Next() {
		var p partition
		if err := rows.Scan(&p.name, &p.rows, &p.newest); err != nil {
			return nil, fmt.Errorf("list partitions of %s: %w", table, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// blankDevices empties the device columns of calls before cutoff.
func (j *job) blankDevices(ctx context.Context, cutoff time.Time) error {
	var set, filled []string
	for _, c := range schemas.DeviceColumns {
		set = append(set, c+" = ''")
		filled = append(filled, c+" != ''")
	}
	where := schemas.DeviceColumnsFrom + " < " + sqlTime(cutoff) + j.after("cdrs", schemas.DeviceColumnsFrom) +
		" AND (" + strings.Join(filled, " OR ") + ")"
	return j.mutate(ctx, "cdrs", BlankDeviceIDs, cutoff, where, "UPDATE "+strings.Join(set, ", ")+" WHERE "+where)
}

// mutate starts the mutation "ALTER TABLE table <command>" when rows
// match where and no earlier mutation on the table is still running: on
// 18.16 a mutation rewrites every part, so they must not pile up.
func (j *job) mutate(ctx context.Context, table string, kind Kind, cutoff time.Time, where, command string) error {
	n, err := j.count(ctx, "SELECT count() FROM "+j.db+"."+table+" WHERE "+where)
	if err != nil || n == 0 {
		return err
	}
	running, err := j.count(ctx, "SELECT count() FROM system.mutations WHERE database = '"+j.db+"' AND table = '"+table+"' AND is_done = 0")
	if err != nil {
		return err
	}
	if running > 0 {
		j.done = append(j.done, Action{Table: table, Kind: Wait, Rows: n, Cutoff: cutoff})
		return nil
	}
	if !j.dry {
		if err := j.conn.Exec(ctx, "ALTER TABLE "+j.db+"."+table+" "+command); err != nil {
			return fmt.Errorf("%s on %s: %w", kind, table, err)
		}
	}
	j.done = append(j.done, Action{Table: table, Kind: kind, Rows: n, Cutoff: cutoff})
	return nil
}

func (j *job) count(ctx context.Context, q string) (uint64, error) {
	var n uint64
	if err := j.conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", q, err)
	}
	return n, nil
}

// sqlTime writes t as a DateTime literal that means the same instant
// whatever the server's time zone.
func sqlTime(t time.Time) string { return fmt.Sprintf("toDateTime(%d)", t.Unix()) }
