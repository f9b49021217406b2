// Package report reads what the pipeline wrote to ClickHouse and scores it
// against the ground truth of generated traffic: table counts, the top
// flagged numbers with their evidence, and precision and recall per
// detector. `cdrpipe report`, the demo and the integration tests use it.
package report

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/traffic"
)

// Detectors are the detector names scored, in report order.
var Detectors = []string{"fan_out", "short_calls", "sequential_dialing"}

// Flagged is one number's strongest finding for one detector.
type Flagged struct {
	Number   string
	Detector string
	Windows  uint64
	Score    float64
	Evidence string
}

// Counts are the rows of each table, read with FINAL so replays count
// once.
type Counts struct {
	CDRs, Rejects, Flags, Stats, Blocklist uint64
}

// Score is one detector's quality against the truth.
type Score struct {
	Detector                  string
	Planted, Flagged, TruePos int
	Precision, Recall         float64
	FalsePositives, Missed    []string
}

// Blocked is one number on the blocklist.
type Blocked struct {
	Number  string
	Score   float64
	Reasons []string
}

// Report is everything read back from one database.
type Report struct {
	Database string
	Counts   Counts
	Flagged  []Flagged // by score, descending
	Blocked  []Blocked // by score, descending
	Scores   []Score   // only when a truth was given; the last is the blocklist's
	Truth    *traffic.Truth
}

// Read builds a report from database db.
func Read(ctx context.Context, conn driver.Conn, db string, truth *traffic.Truth) (*Report, error) {
	r := &Report{Database: db, Truth: truth}
	for _, c := range []struct {
		dst   *uint64
		query string
	}{
		{&r.Counts.CDRs, "SELECT count() FROM " + db + ".cdrs FINAL"},
		{&r.Counts.Rejects, "SELECT count() FROM " + db + ".cdr_rejects FINAL"},
		{&r.Counts.Flags, "SELECT count() FROM " + db + ".flagged_numbers"},
		{&r.Counts.Stats, "SELECT count() FROM " + db + ".caller_stats"},
		{&r.Counts.Blocklist, "SELECT count() FROM " + db + ".blocklist"},
	} {
		if err := conn.QueryRow(ctx, c.query).Scan(c.dst); err != nil {
			return nil, fmt.Errorf("count: %s: %w", c.query, err)
		}
	}
	rows, err := conn.Query(ctx, "SELECT number, detector, count() AS windows, max(score) AS best, argMax(evidence, score) "+
		"FROM "+db+".flagged_numbers GROUP BY number, detector ORDER BY best DESC, number")
	if err != nil {
		return nil, fmt.Errorf("read flagged_numbers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f Flagged
		if err := rows.Scan(&f.Number, &f.Detector, &f.Windows, &f.Score, &f.Evidence); err != nil {
			return nil, fmt.Errorf("read flagged_numbers: %w", err)
		}
		r.Flagged = append(r.Flagged, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read flagged_numbers: %w", err)
	}
	if err := r.readBlocklist(ctx, conn, db); err != nil {
		return nil, err
	}
	if truth != nil {
		r.Scores = score(r.Flagged, truth)
		r.Scores = append(r.Scores, blockScore(r.Blocked, truth))
	}
	return r, nil
}

func (r *Report) readBlocklist(ctx context.Context, conn driver.Conn, db string) error {
	rows, err := conn.Query(ctx, "SELECT number, score, reasons FROM "+db+".blocklist ORDER BY score DESC, number")
	if err != nil {
		return fmt.Errorf("read blocklist: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b Blocked
		if err := rows.Scan(&b.Number, &b.Score, &b.Reasons); err != nil {
			return fmt.Errorf("read blocklist: %w", err)
		}
		r.Blocked = append(r.Blocked, b)
	}
	return rows.Err()
}

// blockScore compares the blocklist with every planted caller: all of
// them are nuisance callers and should be blocked, nobody else.
func blockScore(blocked []Blocked, truth *traffic.Truth) Score {
	s := Score{Detector: "blocklist", Planted: len(truth.Planted), Flagged: len(blocked)}
	on := map[string]bool{}
	for _, b := range blocked {
		on[b.Number] = true
		if truth.Kind(b.Number) != "" {
			s.TruePos++
		} else {
			s.FalsePositives = append(s.FalsePositives, b.Number)
		}
	}
	for _, p := range truth.Planted {
		if !on[p.Number] {
			s.Missed = append(s.Missed, p.Number)
		}
	}
	sort.Strings(s.Missed)
	s.Precision, s.Recall = ratio(s.TruePos, s.Flagged), ratio(s.TruePos, s.Planted)
	return s
}

// score compares flagged numbers per detector with the planted ones.
func score(flagged []Flagged, truth *traffic.Truth) []Score {
	var out []Score
	for _, d := range Detectors {
		planted := map[string]bool{}
		for _, p := range truth.Planted {
			if p.Kind == d {
				planted[p.Number] = true
			}
		}
		s := Score{Detector: d, Planted: len(planted)}
		seen := map[string]bool{}
		for _, f := range flagged {
			if f.Detector != d || seen[f.Number] {
				continue
			}
			seen[f.Number] = true
			s.Flagged++
			if planted[f.Number] {
				s.TruePos++
			} else {
				s.FalsePositives = append(s.FalsePositives, f.Number)
			}
		}
		for n := range planted {
			if !seen[n] {
				s.Missed = append(s.Missed, n)
			}
		}
		sort.Strings(s.Missed)
		s.Precision, s.Recall = ratio(s.TruePos, s.Flagged), ratio(s.TruePos, s.Planted)
		out = append(out, s)
	}
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Print writes the report for a person, with at most top flagged numbers.
func (r *Report) Print(w io.Writer, top int) {
	fmt.Fprintf(w, "Database %s\n", r.Database)
	fmt.Fprintf(w, "  cdrs %d   cdr_rejects %d   flagged_numbers %d   caller_stats %d   blocklist %d\n",
		r.Counts.CDRs, r.Counts.Rejects, r.Counts.Flags, r.Counts.Stats, r.Counts.Blocklist)
	if t := r.Truth; t != nil {
		fmt.Fprintf(w, "  expected from the truth file: %d unique valid CDRs, %d malformed\n", t.UniqueValid, t.Malformed)
	}
	fmt.Fprintf(w, "\nTop flagged numbers\n")
	fmt.Fprintf(w, "  %-17s %-19s %7s %5s  %s\n", "number", "detector", "windows", "score", "evidence")
	for i, f := range r.Flagged {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %-17s %-19s %7d %5.2f  %s\n", f.Number, f.Detector, f.Windows, f.Score, f.Evidence)
	}
	fmt.Fprintf(w, "\nBlocklist (%d numbers; risk at or over blocklist.min_score)\n", len(r.Blocked))
	for i, b := range r.Blocked {
		if i == min(top, 5) {
			break
		}
		fmt.Fprintf(w, "  %-17s %.2f  %s\n", b.Number, b.Score, strings.Join(b.Reasons, "; "))
	}
	if len(r.Scores) > 0 {
		fmt.Fprintf(w, "\nQuality against the planted truth\n")
		fmt.Fprintf(w, "  %-19s %7s %7s %7s %9s %7s\n", "detector", "planted", "flagged", "correct", "precision", "recall")
		for _, s := range r.Scores {
			fmt.Fprintf(w, "  %-19s %7d %7d %7d %9.3f %7.3f\n", s.Detector, s.Planted, s.Flagged, s.TruePos, s.Precision, s.Recall)
			if len(s.FalsePositives) > 0 {
				fmt.Fprintf(w, "    false positives: %s\n", clip(s.FalsePositives))
			}
			if len(s.Missed) > 0 {
				fmt.Fprintf(w, "    missed: %s\n", clip(s.Missed))
			}
		}
	}
	fmt.Fprintf(w, "\nExplore: clickhouse-client --host 127.0.0.1 --port 9000 --database %s\n", r.Database)
	fmt.Fprintf(w, "  e.g. SELECT * FROM blocklist ORDER BY score DESC LIMIT 20\n")
}

func clip(ns []string) string {
	ns = slices.Clone(ns)
	if len(ns) > 10 {
		return strings.Join(ns[:10], " ") + fmt.Sprintf(" … (%d more)", len(ns)-10)
	}
	return strings.Join(ns, " ")
}

// MinQuality returns an error naming the first detector whose precision
// or recall is below min.
func (r *Report) MinQuality(min float64) error {
	for _, s := range r.Scores {
		if s.Precision < min || s.Recall < min {
			return fmt.Errorf("%s: precision %.3f, recall %.3f, below %.2f", s.Detector, s.Precision, s.Recall, min)
		}
	}
	return nil
}
