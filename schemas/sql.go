package schemas

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed sql/*.sql
var sqlFiles embed.FS

// Migration is one versioned step of the ClickHouse schema.
type Migration struct {
	Version    int
	Name       string
	Statements []string
	// Requires is the oldest ClickHouse release (major, minor) the step
	// runs on, from a "-- requires ClickHouse 21.8" line; zero for every
	// release. A step a server is too old for is skipped and not
	// recorded, so it is applied once the server is upgraded; such steps
	// change only how columns are stored, never what is inserted.
	Requires [2]int
}

// RunsOn reports whether the step runs on ClickHouse major.minor.
func (m Migration) RunsOn(major, minor int) bool {
	return major > m.Requires[0] || major == m.Requires[0] && minor >= m.Requires[1]
}

// Migrations returns the versioned schema steps for database db, in order.
// Files are named NNNN_name.sql.
func Migrations(db string) ([]Migration, error) {
	entries, err := fs.ReadDir(sqlFiles, "sql")
	if err != nil {
		return nil, fmt.Errorf("read embedded sql: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			continue
		}
		stmts, err := statements(path.Join("sql", name), map[string]string{"db": db})
		if err != nil {
			return nil, err
		}
		req, err := requires(path.Join("sql", name))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: rest, Statements: stmts, Requires: req})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// requiresPrefix starts the comment line that names the oldest release a
// migration runs on.
const requiresPrefix = "-- requires ClickHouse "

// requires reads a file's "-- requires ClickHouse MAJOR.MINOR" line.
func requires(name string) (req [2]int, err error) {
	b, err := sqlFiles.ReadFile(name)
	if err != nil {
		return req, fmt.Errorf("read %s: %w", name, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(l), requiresPrefix)
		if !ok {
			continue
		}
		major, minor, ok := strings.Cut(strings.TrimSpace(v), ".")
		if req[0], err = strconv.Atoi(major); err != nil || !ok {
			return req, fmt.Errorf("%s: %q is not MAJOR.MINOR", name, v)
		}
		if req[1], err = strconv.Atoi(minor); err != nil {
			return req, fmt.Errorf("%s: %q is not MAJOR.MINOR", name, v)
		}
	}
	return req, nil
}

// statements reads an embedded file, fills {placeholders} and splits it at
// semicolons that end a line. Comment lines are dropped.
func statements(name string, vars map[string]string) ([]string, error) {
	b, err := sqlFiles.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	text := strings.Join(lines, "\n")
	for k, v := range vars {
		text = strings.ReplaceAll(text, "{"+k+"}", v)
	}
	var out []string
	for _, s := range strings.Split(text, ";\n") {
		if s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";")); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
