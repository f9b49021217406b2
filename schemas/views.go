package schemas

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Rule is one verdict rule: a number showing all Traits gets Risk.
type Rule struct {
	Traits []string
	Risk   float64
}

// Verdict holds the settings the verdict views carry.
type Verdict struct {
	// TTL is how long a flag counts towards the verdict.
	TTL time.Duration
	// MinScore is the risk from which a number is blocked.
	MinScore float64
	// TraitRisk is what each trait adds on its own.
	TraitRisk float64
	Rules     []Rule
	// Allowlist holds E.164 numbers, or prefixes ending in '*', from the
	// configuration; the allowlist table adds more at run time.
	Allowlist []string
}

// View is one view of the schema: its name and the SELECT it shows.
type View struct {
	Name  string
	Query string
}

// Views returns the views of db, each after those it reads:
// flagged_numbers and caller_stats (one row per key of the versioned
// flags and window_stats tables, for analysts, who need no FINAL), verdicts
// (every number flagged within the TTL, its traits, reasons and risk) and
// blocklist (the numbers to block), and for number blocks range_verdicts
// and blocklist_ranges (the prefixes to block). Trait names and allowlist entries are
// validated by config before they get here.
func Views(db string, v Verdict) []View {
	return []View{
		{"flagged_numbers", `SELECT number, detector, window_start, window_end, score, value, evidence, flagged_at
FROM ` + db + `.flags FINAL WHERE withdrawn = 0`},
		{"caller_stats", `SELECT caller, window_start, window_end, calls, answered, distinct_callees, short_calls, avg_talk, sequential_score, updated_at
FROM ` + db + `.window_stats FINAL`},
		{"verdicts", verdictsQuery(db, v)},
		{"blocklist", blocklistQuery(db, v)},
		{"range_verdicts", rangeVerdictsQuery(db, v)},
		{"blocklist_ranges", blocklistRangesQuery(db, v)},
	}
}

func verdictsQuery(db string, v Verdict) string {
	return weighQuery(v, weighing{key: "number", table: db + ".flags", at: "flagged_at", allow: allowExpr(db, v),
		resets: `SELECT number, max(at) AS reset_at
            FROM ` + db + `.blocklist_changes
            WHERE source = 'manual' AND action = 'remove'
            GROUP BY number`,
		where: " AND withdrawn = 0"})
}

// weighing is what a verdict view weighs: the flags of table, one row per
// key (a number, or a block's prefix), and the manual releases of resets.
type weighing struct {
	key, table, at, allow, resets, where string
	// numbers also lists the numbers the flags name (blocks).
	numbers bool
}

// weighQuery is a verdict view: each key's traits flagged within the TTL
// and after its last manual release, their best evidence, and the risk.
func weighQuery(v Verdict, w weighing) string {
	outer, middle, inner := "", "", ""
	if w.numbers {
		outer = "\n    numbers,"
		middle = "\n        groupUniqArrayArray(best_numbers) AS numbers,"
		inner = " argMax(numbers, score) AS best_numbers,"
	}
	return `SELECT
    ` + w.key + `,
    detectors,
    reasons,` + outer + `
    first_flagged,
    last_flagged,
    ` + riskExpr(v) + ` AS risk,
    ` + w.allow + ` AS allowlisted
FROM
(
    SELECT
        ` + w.key + `,
        groupArray(detector) AS detectors,
        groupArray(concat(detector, ': ', best_evidence)) AS reasons,` + middle + `
        min(first_at) AS first_flagged,
        max(last_at) AS last_flagged
    FROM
    (
        SELECT ` + w.key + `, detector, argMax(evidence, score) AS best_evidence,` + inner + ` min(` + w.at + `) AS first_at, max(` + w.at + `) AS last_at
        FROM ` + w.table + ` FINAL
        ANY LEFT JOIN
        (
            ` + w.resets + `
        ) AS resets USING (` + w.key + `)
        WHERE window_start >= now() - ` + strconv.FormatInt(int64(v.TTL/time.Second), 10) + ` AND window_start > reset_at` + w.where + `
        GROUP BY ` + w.key + `, detector
    )
    GROUP BY ` + w.key + `
)`
}

func blocklistQuery(db string, v Verdict) string {
	return `SELECT number, risk AS score, detectors, reasons, first_flagged, last_flagged, 'auto' AS source
FROM ` + db + `.verdicts
WHERE risk >= ` + sqlFloat(v.MinScore) + ` AND NOT allowlisted AND number NOT IN (` + manualAdds(db) + `)
UNION ALL
SELECT number, 1. AS score, ['manual'] AS detectors, [concat('blocked by hand by ', who, ': ', why)] AS reasons,
    changed_at AS first_flagged, changed_at AS last_flagged, 'manual' AS source
FROM
(
    SELECT number, argMax(action, at) AS last_action, argMax(actor, at) AS who, argMax(reason, at) AS why, max(at) AS changed_at
    FROM ` + db + `.blocklist_changes
    WHERE source = 'manual' AND NOT ` + isRange("number") + `
    GROUP BY number
)
WHERE last_action = 'add' AND NOT (` + allowExpr(db, v) + `)`
}

func manualAdds(db string) string {
	return `SELECT number FROM (SELECT number, argMax(action, at) AS last_action FROM ` + db +
		`.blocklist_changes WHERE source = 'manual' GROUP BY number) WHERE last_action = 'add'`
}

// isRange is true for a blocklist_changes entry naming a number block:
// its prefix followed by '*', as the allowlist writes prefixes.
func isRange(col string) string {
	return "substring(" + col + ", length(" + col + "), 1) = '*'"
}

// rangeVerdictsQuery weighs the flags of each number block (range_flags)
// as verdicts weighs a number's: the same rules, TTL and manual releases
// (a 'remove' of the prefix with '*' in blocklist_changes).
func rangeVerdictsQuery(db string, v Verdict) string {
	return weighQuery(v, weighing{key: "prefix", table: db + ".range_flags", at: "window_start", allow: rangeAllowExpr(db, v), numbers: true,
		resets: `SELECT substring(number, 1, length(number) - 1) AS prefix, max(at) AS reset_at
            FROM ` + db + `.blocklist_changes
            WHERE source = 'manual' AND action = 'remove' AND ` + isRange("number") + `
            GROUP BY number`})
}

// blocklistRangesQuery is the prefixes to block: blocks whose risk
// reaches the blocking score, and blocks added by hand, unless the
// allowlist holds a number under them.
func blocklistRangesQuery(db string, v Verdict) string {
	return `SELECT prefix, risk AS score, detectors, reasons, numbers, first_flagged, last_flagged, 'auto' AS source
FROM ` + db + `.range_verdicts
WHERE risk >= ` + sqlFloat(v.MinScore) + ` AND NOT allowlisted AND concat(prefix, '*') NOT IN (` + manualAdds(db) + `)
UNION ALL
SELECT prefix, 1. AS score, ['manual'] AS detectors, [concat('blocked by hand by ', who, ': ', why)] AS reasons,
    emptyArrayString() AS numbers, changed_at AS first_flagged, changed_at AS last_flagged, 'manual' AS source
FROM
(
    SELECT substring(number, 1, length(number) - 1) AS prefix, argMax(action, at) AS last_action, argMax(actor, at) AS who,
        argMax(reason, at) AS why, max(at) AS changed_at
    FROM ` + db + `.blocklist_changes
    WHERE source = 'manual' AND ` + isRange("number") + `
    GROUP BY number
)
WHERE last_action = 'add' AND NOT (` + rangeAllowExpr(db, v) + `)`
}

// DailyTraits are the traits the day-long window also judges, as
// "daily_" and the name.
var DailyTraits = []string{"fan_out", "short_calls", "low_answer_rate"}

// Evidence is how many independent pieces of evidence traits are: a
// day-long trait shown with its hourly counterpart (daily_fan_out and
// fan_out) is one, measured twice. The verdict views count the same.
func Evidence(traits []string) int {
	n := len(traits)
	for _, t := range DailyTraits {
		if slices.Contains(traits, t) && slices.Contains(traits, "daily_"+t) {
			n--
		}
	}
	return n
}

// Risk is what the verdict views make of a set of traits (riskExpr): the
// highest risk among the rules all of whose traits are shown, or the
// traits as independent evidence, whichever is higher. The engine uses it
// to judge a trunk as the views judge a number.
func (v Verdict) Risk(traits []string) float64 {
	r := 0.0
	for _, rule := range v.Rules {
		if rule.Risk > r && allIn(rule.Traits, traits) {
			r = rule.Risk
		}
	}
	return max(r, 1-math.Pow(1-v.TraitRisk, float64(Evidence(traits))))
}

func allIn(want, have []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// riskExpr combines a number's traits: the highest risk among the rules
// it matches, or the traits as independent evidence (Evidence),
// whichever is higher.
func riskExpr(v Verdict) string {
	var terms []string
	for _, r := range v.Rules {
		terms = append(terms, fmt.Sprintf("if(hasAll(detectors, [%s]), %s, 0.)", quoteAll(r.Traits), sqlFloat(r.Risk)))
	}
	rules := "0."
	if len(terms) > 0 {
		rules = "arrayReduce('max', [0., " + strings.Join(terms, ", ") + "])"
	}
	evidence := "length(detectors)"
	for _, t := range DailyTraits {
		evidence += fmt.Sprintf(" - hasAll(detectors, ['%s', 'daily_%s'])", t, t)
	}
	return fmt.Sprintf("greatest(%s, 1. - pow(1. - %s, %s))", rules, sqlFloat(v.TraitRisk), evidence)
}

// allowExpr is true for numbers on the allowlist: exact entries and
// prefixes from the configuration and from the allowlist table.
func allowExpr(db string, v Verdict) string {
	var exact, prefixes []string
	for _, a := range v.Allowlist {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			prefixes = append(prefixes, p)
		} else {
			exact = append(exact, a)
		}
	}
	live := `(expires_at = toDateTime(0) OR expires_at > now())`
	terms := []string{
		`number IN (SELECT entry FROM ` + db + `.allowlist FINAL WHERE is_prefix = 0 AND ` + live + `)`,
		`arrayExists(p -> substring(number, 1, length(p)) = p, (SELECT groupArray(entry) FROM ` + db + `.allowlist FINAL WHERE is_prefix = 1 AND ` + live + `))`,
	}
	if len(exact) > 0 {
		terms = append(terms, "has(["+quoteAll(exact)+"], number)")
	}
	if len(prefixes) > 0 {
		terms = append(terms, "arrayExists(p -> substring(number, 1, length(p)) = p, ["+quoteAll(prefixes)+"])")
	}
	return "(" + strings.Join(terms, " OR ") + ")"
}

// rangeAllowExpr is true for a block (column prefix) that holds an
// allowlisted number or overlaps an allowlisted prefix: blocking it would
// block what the allowlist protects.
func rangeAllowExpr(db string, v Verdict) string {
	live := `(expires_at = toDateTime(0) OR expires_at > now())`
	under := `e -> substring(e, 1, length(prefix)) = prefix`
	over := `p -> substring(prefix, 1, length(p)) = p`
	terms := []string{
		`arrayExists(` + under + `, (SELECT groupArray(entry) FROM ` + db + `.allowlist FINAL WHERE ` + live + `))`,
		`arrayExists(` + over + `, (SELECT groupArray(entry) FROM ` + db + `.allowlist FINAL WHERE is_prefix = 1 AND ` + live + `))`,
	}
	var all []string
	for _, a := range v.Allowlist {
		all = append(all, strings.TrimSuffix(a, "*"))
	}
	if len(all) > 0 {
		terms = append(terms, "arrayExists("+under+", ["+quoteAll(all)+"])")
		var prefixes []string
		for _, a := range v.Allowlist {
			if p, ok := strings.CutSuffix(a, "*"); ok {
				prefixes = append(prefixes, p)
			}
		}
		if len(prefixes) > 0 {
			terms = append(terms, "arrayExists("+over+", ["+quoteAll(prefixes)+"])")
		}
	}
	return "(" + strings.Join(terms, " OR ") + ")"
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
	}
	return strings.Join(q, ", ")
}

func sqlFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
