package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Campaigns and enterprises as the carrier sees them: which campaign
// numbers are caught, which trunks are flagged, what blocked ranges cover.

// GroupResult scores detection over trunks and number blocks.
type GroupResult struct {
	// CampaignNumbers counts the numbers campaigns called from; Caught
	// those blocked, under a blocked range or listed on a flagged trunk,
	// and By how each was caught first in that order.
	CampaignNumbers, Caught int
	By                      map[string]int
	// Ranges are the blocked prefixes; Covering maps those covering a
	// legitimate number to how many such numbers lie under it.
	Ranges   []string
	Covering map[string]int
	// Trunks are the flagged trunks; Legit those not a campaign's.
	Trunks, Legit []string
}

// readGroups reads blocklist_ranges and flagged_trunks.
func readGroups(ctx context.Context, conn driver.Conn, db string) (ranges []string, trunkNumbers map[string][]string, err error) {
	rows, err := conn.Query(ctx, "SELECT prefix FROM "+db+".blocklist_ranges")
	if err != nil {
		return nil, nil, fmt.Errorf("read blocklist_ranges: %w", err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("scan blocklist_ranges: %w", err)
		}
		ranges = append(ranges, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read blocklist_ranges: %w", err)
	}
	trunkNumbers = map[string][]string{}
	rows, err = conn.Query(ctx, "SELECT trunk_id, groupUniqArrayArray(numbers) FROM "+db+".flagged_trunks FINAL GROUP BY trunk_id")
	if err != nil {
		return nil, nil, fmt.Errorf("read flagged_trunks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var trunk string
		var nums []string
		if err := rows.Scan(&trunk, &nums); err != nil {
			return nil, nil, fmt.Errorf("scan flagged_trunks: %w", err)
		}
		trunkNumbers[trunk] = nums
	}
	slices.Sort(ranges)
	return ranges, trunkNumbers, rows.Err()
}

// scoreGroups scores what was read back against the traffic's truth.
func scoreGroups(t *Traffic, blocked map[string]bool, ranges []string, trunkNumbers map[string][]string) GroupResult {
	res := GroupResult{Ranges: ranges, By: map[string]int{}, Covering: map[string]int{}}
	onTrunk := map[string]bool{}
	for trunk, nums := range trunkNumbers {
		res.Trunks = append(res.Trunks, trunk)
		for _, n := range nums {
			onTrunk[n] = true
		}
	}
	slices.Sort(res.Trunks)
	campaignTrunks := map[string]bool{}
	for _, c := range t.Calls {
		if t.Class[t.Numbers[c.Caller]] == Campaign {
			campaignTrunks[trunks[c.Trunk]] = true
		}
	}
	for _, tr := range res.Trunks {
		if !campaignTrunks[tr] {
			res.Legit = append(res.Legit, tr)
		}
	}
	under := func(n string) bool {
		for _, p := range ranges {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
		return false
	}
	for n, cl := range t.Class {
		if cl != Campaign {
			continue
		}
		res.CampaignNumbers++
		switch {
		case blocked[n]:
			res.By["blocked"]++
		case under(n):
			res.By["under a blocked range"]++
		case onTrunk[n]:
			res.By["on a flagged trunk"]++
		default:
			continue
		}
		res.Caught++
	}
	// Every number of the traffic, callees too, that is no abuser's.
	for _, n := range t.Numbers {
		if cl, ok := t.Class[n]; ok && Spec(cl).Abuser {
			continue
		}
		for _, p := range ranges {
			if strings.HasPrefix(n, p) {
				res.Covering[p]++
			}
		}
	}
	return res
}

// singleAbusers is the blocklist score over callers acting alone: the
// numbers of group classes (campaigns, enterprises) are scored by
// scoreGroups.
func singleAbusers(t *Traffic, blocked map[string]bool) Score {
	predicted, expected := map[string]bool{}, map[string]bool{}
	for n := range blocked {
		if cl, ok := t.Class[n]; !ok || !Spec(cl).Group {
			predicted[n] = true
		}
	}
	for n, cl := range t.Class {
		if sp := Spec(cl); sp.Abuser && !sp.Group {
			expected[n] = true
		}
	}
	return score("blocklist", t, predicted, expected)
}

// Targets of issue 11.
const (
	targetPrecision = 0.995
	targetRecall    = 0.97
	targetCaught    = 0.90
)

func writeGroups(w io.Writer, res *Result) {
	g := res.Groups
	share := 0.0
	if g.CampaignNumbers > 0 {
		share = float64(g.Caught) / float64(g.CampaignNumbers)
	}
	var by []string
	for _, k := range []string{"blocked", "under a blocked range", "on a flagged trunk"} {
		by = append(by, fmt.Sprintf("%s %d", k, g.By[k]))
	}
	fmt.Fprintf(w, "\n### Campaigns and enterprise trunks\n\n")
	fmt.Fprintf(w, "Campaign numbers caught: %d of %d (%.3f): %s.\n\n", g.Caught, g.CampaignNumbers, share, strings.Join(by, ", "))
	fmt.Fprintf(w, "Blocked ranges (`blocklist_ranges`): %s. Flagged trunks (`flagged_trunks`): %s; of them not a campaign's: %s.\n\n",
		orNone(g.Ranges), orNone(g.Trunks), orNone(g.Legit))
	var cover []string
	for _, p := range g.Ranges {
		if n := g.Covering[p]; n > 0 {
			cover = append(cover, fmt.Sprintf("%s (%d)", p, n))
		}
	}
	fmt.Fprintf(w, "Blocked ranges covering a legitimate number: %s.\n\n", orNone(cover))

	b := res.Blocklist
	p, okp := b.precision()
	r, okr := b.recall()
	fmt.Fprintf(w, "### Targets\n\n| target | measured | met |\n|---|---|---|\n")
	row := func(name, measured string, met bool) {
		fmt.Fprintf(w, "| %s | %s | %s |\n", name, measured, map[bool]string{true: "yes", false: "**no**"}[met])
	}
	row(fmt.Sprintf("blocklist precision over single abusers ≥ %.3f", targetPrecision), num(p, okp), !okp || p >= targetPrecision)
	row(fmt.Sprintf("blocklist recall over single abusers ≥ %.2f", targetRecall), num(r, okr), okr && r >= targetRecall)
	row(fmt.Sprintf("campaign numbers caught ≥ %.2f", targetCaught), fmt.Sprintf("%.3f", share), share >= targetCaught)
	row("legitimate trunks flagged: none", fmt.Sprint(len(g.Legit)), len(g.Legit) == 0)
	row("blocked ranges covering a legitimate number: none", fmt.Sprint(len(cover)), len(cover) == 0)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
