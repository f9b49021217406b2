package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// Score is precision, recall and F1 of one predicted set against one
// expected set; a ratio with a zero denominator prints as n/a.
type Score struct {
	Name                 string
	Expected, Flagged    int
	TP, FP, FN           int
	FPByClass, FNByClass map[Class]int
}

func (s Score) precision() (float64, bool) {
	if s.Flagged == 0 {
		return 0, false
	}
	return float64(s.TP) / float64(s.Flagged), true
}

func (s Score) recall() (float64, bool) {
	if s.Expected == 0 {
		return 0, false
	}
	return float64(s.TP) / float64(s.Expected), true
}

func (s Score) f1() (float64, bool) {
	p, okp := s.precision()
	r, okr := s.recall()
	if !okp || !okr {
		return 0, false
	}
	if p+r == 0 {
		return 0, true
	}
	return 2 * p * r / (p + r), true
}

// Result is what the evaluation read back and scored.
type Result struct {
	Traits    []Score
	Blocklist Score
	Classes   []ClassRow
	Groups    GroupResult
	Stored    uint64 // rows in cdrs FINAL
	Rejects   uint64 // rows in cdr_rejects FINAL
	Unknown   []string
}

// ClassRow is one line of the per-class table.
type ClassRow struct {
	Spec    ClassSpec
	Callers int
	Flagged int
	Blocked int
	Seen    map[string]int // detector → callers of the class it flagged
	Expect  map[string]int // trait → callers of the class expected to show it
}

// score compares predicted against expected numbers.
func score(name string, t *Traffic, predicted, expected map[string]bool) Score {
	s := Score{Name: name, Expected: len(expected), Flagged: len(predicted),
		FPByClass: map[Class]int{}, FNByClass: map[Class]int{}}
	for n := range predicted {
		if expected[n] {
			s.TP++
		} else {
			s.FP++
			s.FPByClass[t.classOf(n)]++
		}
	}
	for n := range expected {
		if !predicted[n] {
			s.FN++
			s.FNByClass[t.classOf(n)]++
		}
	}
	return s
}

func (t *Traffic) classOf(n string) Class {
	if c, ok := t.Class[n]; ok {
		return c
	}
	return "not_a_caller"
}

// Evaluate reads flagged_numbers and the blocklist from db and scores them.
func Evaluate(ctx context.Context, conn driver.Conn, db string, t *Traffic) (*Result, error) {
	flagged := map[string]map[string]bool{} // detector → numbers
	rows, err := conn.Query(ctx, "SELECT detector, number FROM "+db+".flagged_numbers GROUP BY detector, number")
	if err != nil {
		return nil, fmt.Errorf("read flagged_numbers: %w", err)
	}
	for rows.Next() {
		var det, num string
		if err := rows.Scan(&det, &num); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan flagged_numbers: %w", err)
		}
		if flagged[det] == nil {
			flagged[det] = map[string]bool{}
		}
		flagged[det][num] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read flagged_numbers: %w", err)
	}
	blocked := map[string]bool{}
	rows, err = conn.Query(ctx, "SELECT number FROM "+db+".blocklist")
	if err != nil {
		return nil, fmt.Errorf("read blocklist: %w", err)
	}
	for rows.Next() {
		var num string
		if err := rows.Scan(&num); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan blocklist: %w", err)
		}
		blocked[num] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read blocklist: %w", err)
	}
	res := &Result{}
	for q, dst := range map[string]*uint64{
		"SELECT count() FROM " + db + ".cdrs FINAL":        &res.Stored,
		"SELECT count() FROM " + db + ".cdr_rejects FINAL": &res.Rejects,
	} {
		if err := conn.QueryRow(ctx, q).Scan(dst); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	ranges, trunkNumbers, err := readGroups(ctx, conn, db)
	if err != nil {
		return nil, err
	}
	res.Groups = scoreGroups(t, blocked, ranges, trunkNumbers)
	return score3(t, flagged, blocked, res), nil
}

// score3 fills res from what was read back.
func score3(t *Traffic, flagged map[string]map[string]bool, blocked map[string]bool, res *Result) *Result {
	names := slices.Clone(Traits)
	for det := range flagged {
		if !slices.Contains(names, det) {
			names = append(names, det) // a detector the benchmark does not know yet
			res.Unknown = append(res.Unknown, det)
		}
	}
	for _, tr := range names {
		exp := map[string]bool{}
		for n, trs := range t.Expected {
			if trs[tr] {
				exp[n] = true
			}
		}
		res.Traits = append(res.Traits, score(tr, t, flagged[tr], exp))
	}
	res.Blocklist = singleAbusers(t, blocked)
	any := map[string]bool{}
	for _, nums := range flagged {
		for n := range nums {
			any[n] = true
		}
	}
	for _, sp := range Specs {
		row := ClassRow{Spec: sp, Seen: map[string]int{}, Expect: map[string]int{}}
		for n, cl := range t.Class {
			if cl != sp.Class {
				continue
			}
			row.Callers++
			if any[n] {
				row.Flagged++
			}
			if blocked[n] {
				row.Blocked++
			}
			for det, nums := range flagged {
				if nums[n] {
					row.Seen[det]++
				}
			}
			for tr := range t.Expected[n] {
				row.Expect[tr]++
			}
		}
		res.Classes = append(res.Classes, row)
	}
	return res
}

type runInfo struct {
	Command string
	Config  Config
	Traffic *Traffic
	Summary pipeline.Summary
	Gen     time.Duration
	Produce time.Duration
}

func num(v float64, ok bool) string {
	if !ok {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", v)
}

// byClass renders {courier: 3, clinic: 1} as "courier 3, clinic 1".
func byClass(m map[Class]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for c := range m {
		keys = append(keys, string(c))
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[Class(k)])
	}
	return strings.Join(parts, ", ")
}

func counts(m map[string]int, total int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		if m[k] == total {
			parts[i] = k
		} else {
			parts[i] = fmt.Sprintf("%s %d", k, m[k])
		}
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}

func writeMarkdown(w io.Writer, ri runInfo, res *Result) {
	t := ri.Traffic
	fmt.Fprintf(w, "## Detection quality\n\n")
	fmt.Fprintf(w, "```\n%s\n```\n\n", strings.TrimSpace(ri.Command))
	fmt.Fprintf(w, "Seed %d, %d ordinary subscribers, %s of traffic from %s, %d callers of other classes. ",
		ri.Config.Seed, ri.Config.Subscribers, ri.Config.Span, ri.Config.Start.Format(time.RFC3339), len(t.Class)-ri.Config.Subscribers)
	fmt.Fprintf(w, "Generated in %s, produced in %s, pipeline %s.\n\n", ri.Gen.Round(time.Millisecond), ri.Produce.Round(time.Millisecond), ri.Summary.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "| CDR lines sent | unique valid | duplicates | out of order | very late | malformed | stored (`cdrs FINAL`) | rejected (`cdr_rejects`) | pipeline: duplicates dropped, late |\n|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %d | %d | %d | %d, %d |\n\n", t.Sent, len(t.Calls), t.Duplicates, t.OutOfOrder, t.VeryLate, t.Malformed,
		res.Stored, res.Rejects, ri.Summary.Duplicates, ri.Summary.Late)
	fmt.Fprintf(w, "Written by the %d switches of `traffic.Fleet` in their own dialects: %d records in local time without an offset, %d from switches whose clock is off, "+
		"%d with the caller ID withheld (%d of them without a number), %d sharing their call_id with another switch's call.\n\n",
		traffic.NumSwitches, t.LocalTimes, t.Skewed, t.Withheld, t.WithheldNoNumber, t.CallIDRepeats)

	fmt.Fprintf(w, "### Per trait\n\nPredicted: distinct numbers in `flagged_numbers` with the detector. Expected: numbers whose own records cross the trait's threshold at the configured defaults, checked by brute force on the generated records as the pipeline reads them (times on each switch's clock; 1 h windows on the 5-minute grid; very late records and withheld callers without a number left out).\n\n")
	fmt.Fprintf(w, "| trait | expected | flagged | correct | precision | recall | F1 | false positives by class | missed by class |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range res.Traits {
		p, okp := s.precision()
		r, okr := s.recall()
		f, okf := s.f1()
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s | %s | %s | %s |\n", s.Name, s.Expected, s.Flagged, s.TP,
			num(p, okp), num(r, okr), num(f, okf), byClass(s.FPByClass), byClass(s.FNByClass))
	}
	b := res.Blocklist
	p, okp := b.precision()
	r, okr := b.recall()
	f, okf := b.f1()
	fmt.Fprintf(w, "\n### Blocklist\n\nPredicted: numbers in the `blocklist` view. Expected: every abuser acting alone (campaigns' and enterprises' numbers are scored below, as groups).\n\n")
	fmt.Fprintf(w, "| abusers | blocked | correct | precision | recall | F1 | wrongly blocked by class | missed by class |\n|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %d | %d | %d | %s | %s | %s | %s | %s |\n", b.Expected, b.Flagged, b.TP, num(p, okp), num(r, okr), num(f, okf),
		byClass(b.FPByClass), byClass(b.FNByClass))

	fmt.Fprintf(w, "\n### Per caller class\n\nTraits list the detector and how many callers it flagged (no count: all of them).\n\n")
	fmt.Fprintf(w, "| class | should block | callers | flagged | blocked | traits seen | traits expected |\n|---|---|---|---|---|---|---|\n")
	for _, row := range res.Classes {
		should := "no"
		if row.Spec.Abuser {
			should = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %s | %s |\n", row.Spec.Class, should, row.Callers, row.Flagged, row.Blocked,
			counts(row.Seen, row.Callers), counts(row.Expect, row.Callers))
	}
	writeGroups(w, res)
	if len(res.Unknown) > 0 {
		fmt.Fprintf(w, "\nDetectors in `flagged_numbers` the benchmark has no expectations for (scored with none expected): %s.\n", strings.Join(res.Unknown, ", "))
	}
}
