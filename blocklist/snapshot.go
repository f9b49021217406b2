package blocklist

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Query says what an export takes from the lists.
type Query struct {
	// MinScore leaves out entries scored lower (0: all the views hold).
	MinScore float64
	// Since leaves out entries last flagged before it (zero: all).
	Since time.Time
	// TTL is blocklist.ttl: an automatic entry expires TTL after its last
	// flag unless flagged again.
	TTL time.Duration
}

// Snapshot reads the blocklist and the blocked ranges once, for every
// format of an export to say the same.
func (s *Store) Snapshot(ctx context.Context, q Query) (*List, error) {
	l := &List{At: s.now().UTC()}
	for _, src := range []struct {
		table, key string
		prefix     bool
	}{{"blocklist", "number", false}, {"blocklist_ranges", "prefix", true}} {
		// Filtered here, not in SQL: 18.16 pushes a WHERE into the
		// views' UNION ALL and loses the manual part's rows.
		rows, err := s.conn.Query(ctx, "SELECT "+src.key+", score, detectors, reasons, first_flagged, last_flagged, source FROM "+
			s.db+"."+src.table)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", src.table, err)
		}
		for rows.Next() {
			it := Item{Prefix: src.prefix}
			if err := rows.Scan(&it.Number, &it.Score, &it.Detectors, &it.Reasons, &it.First, &it.Last, &it.Source); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read %s: %w", src.table, err)
			}
			it.First, it.Last = it.First.UTC(), it.Last.UTC()
			if it.Score < q.MinScore || it.Last.Before(q.Since) {
				continue
			}
			if it.Source == "auto" && q.TTL > 0 {
				it.Expires = it.Last.Add(q.TTL)
			}
			l.Items = append(l.Items, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read %s: %w", src.table, err)
		}
	}
	sortItems(l.Items)
	return l, nil
}

// WriteFile writes l in format to path atomically: to a temporary file
// beside it, synced, then renamed over it, so a switch loading the file
// never reads half a list. For kamailio and opensips, path is the db_text
// directory: the global table and db_text's version table are written
// there, and the module's per-user table when missing (it must exist).
func WriteFile(path, format string, l *List) error {
	switch format {
	case "kamailio", "opensips":
		table, users, files := "globalblocklist", "userblocklist", map[string]string{"version": DBTextVersion, "userblocklist": DBTextUsers}
		if format == "opensips" {
			table, users, files = "globalblacklist", "userblacklist", map[string]string{"version": OpenSIPSVersion, "userblacklist": OpenSIPSUsers}
		}
		if err := os.MkdirAll(path, 0o755); err != nil {
			return fmt.Errorf("export %s: %w", format, err)
		}
		for name, text := range files {
			if _, err := os.Stat(filepath.Join(path, name)); err == nil && name == users {
				continue // the operator's own per-user entries stay
			}
			if err := atomically(filepath.Join(path, name), func(f *os.File) error {
				_, err := f.WriteString(text)
				return err
			}); err != nil {
				return err
			}
		}
		path = filepath.Join(path, table)
	}
	return atomically(path, func(f *os.File) error { return Write(f, format, l) })
}

// atomically writes path through write into a temporary file in the same
// directory, then renames it into place.
func atomically(path string, write func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return nil
}

// History reads the audit trail since since, per number (blocks under
// their RangeEntry), oldest first: what the feed shows with a lookup.
func (s *Store) History(ctx context.Context, since time.Time) (map[string][]Change, error) {
	cs, err := s.changes(ctx, "at >= toDateTime(?)", since.Unix())
	if err != nil {
		return nil, err
	}
	out := map[string][]Change{}
	for _, c := range cs {
		c.At = c.At.UTC()
		out[c.Number] = append(out[c.Number], c)
	}
	return out, nil
}
