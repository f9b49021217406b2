package blocklist

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Exports: the blocklist in the forms switches and SIP proxies load
// (../docs/blocking.md says how to wire each). A List is read once
// (Store.Snapshot) and written in any format, so every format of one
// export says the same.

// Item is one entry of an exported list: a number, or a block of numbers
// (Prefix set, every number starting with it).
type Item struct {
	// Number is the E.164 number with '+', or the block's prefix.
	Number string
	// Prefix says Number is a block's prefix.
	Prefix    bool
	Score     float64
	Detectors []string
	Reasons   []string
	First     time.Time
	Last      time.Time
	// Expires is when the entry leaves the list unless flagged again
	// (its last flag plus blocklist.ttl); zero for manual entries, which
	// stay until removed by hand.
	Expires time.Time
	Source  string // auto, manual
}

// List is an exported blocklist, numbers then prefixes, each sorted.
type List struct {
	Items []Item
	// At is when it was read.
	At time.Time
}

// Formats are the export formats, by name.
var Formats = []string{"csv", "json", "parquet", "kamailio", "opensips", "asterisk", "freeswitch", "numbers"}

// LeftOut counts the entries of l that format cannot carry: number blocks,
// in the formats whose switches match exact numbers only.
func LeftOut(format string, l *List) int {
	switch format {
	case "asterisk", "freeswitch", "numbers":
	default:
		return 0
	}
	n := 0
	for i := range l.Items {
		if l.Items[i].Prefix {
			n++
		}
	}
	return n
}

// Write writes l to w in format.
func Write(w io.Writer, format string, l *List) error {
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "csv":
		err = writeCSV(bw, l)
	case "json":
		err = writeJSON(bw, l)
	case "kamailio":
		err = writeDBText(bw, l, "allowlist")
	case "opensips":
		err = writeDBText(bw, l, "whitelist")
	case "asterisk":
		err = writeAsterisk(bw, l)
	case "freeswitch", "numbers":
		err = writeNumbers(bw, l, format == "freeswitch")
	case "parquet":
		err = writeParquet(bw, l)
	default:
		return fmt.Errorf("export: unknown format %q (known: %s)", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func kind(it *Item) string {
	if it.Prefix {
		return "prefix"
	}
	return "number"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeCSV(w io.Writer, l *List) error {
	c := csv.NewWriter(w)
	if err := c.Write([]string{"number", "kind", "score", "detectors", "reasons", "first_flagged", "last_flagged", "expires", "source"}); err != nil {
		return err
	}
	for i := range l.Items {
		it := &l.Items[i]
		rec := []string{it.Number, kind(it), strconv.FormatFloat(it.Score, 'f', 3, 64), strings.Join(it.Detectors, " "),
			strings.Join(it.Reasons, "; "), stamp(it.First), stamp(it.Last), stamp(it.Expires), it.Source}
		if err := c.Write(rec); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

// JSONItem is an Item as the JSON export (and the feed) spells it.
type JSONItem struct {
	Number    string   `json:"number,omitempty"`
	Prefix    string   `json:"prefix,omitempty"`
	Score     float64  `json:"score"`
	Detectors []string `json:"detectors"`
	Reasons   []string `json:"reasons"`
	First     string   `json:"first_flagged"`
	Last      string   `json:"last_flagged"`
	Expires   string   `json:"expires,omitempty"`
	Source    string   `json:"source"`
}

func writeJSON(w io.Writer, l *List) error {
	out := struct {
		Generated string     `json:"generated"`
		Entries   []JSONItem `json:"entries"`
	}{Generated: stamp(l.At), Entries: make([]JSONItem, 0, len(l.Items))}
	for i := range l.Items {
		out.Entries = append(out.Entries, l.Items[i].JSON())
	}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(out)
}

// JSON returns it as the JSON export spells it.
func (it *Item) JSON() JSONItem {
	j := JSONItem{Score: round3(it.Score), Detectors: nonNil(it.Detectors), Reasons: nonNil(it.Reasons),
		First: stamp(it.First), Last: stamp(it.Last), Expires: stamp(it.Expires), Source: it.Source}
	if it.Prefix {
		j.Prefix = it.Number
	} else {
		j.Number = it.Number
	}
	return j
}

func round3(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// writeDBText writes the global blocklist table of Kamailio's
// userblocklist (flag column allowlist) or OpenSIPS' userblacklist
// (whitelist) as a db_text file: prefixes are digits without '+' (the
// module skips a caller's leading '+'), ':' in text is escaped, and the
// last row ends in a newline (db_text drops a last row without one).
func writeDBText(w io.Writer, l *List, flag string) error {
	if _, err := fmt.Fprintf(w, "id(int,auto) prefix(string) %s(int) description(string,null)\n", flag); err != nil {
		return err
	}
	for i := range l.Items {
		it := &l.Items[i]
		desc := fmt.Sprintf("cdrpipe %s %.2f %s", it.Source, it.Score, strings.Join(it.Detectors, ","))
		if _, err := fmt.Fprintf(w, "%d:%s:0:%s\n", i+1, digits(it.Number), dbTextEscape(desc)); err != nil {
			return err
		}
	}
	return nil
}

// DBTextVersion is db_text's version table, which the module checks at
// start for both of its tables.
const DBTextVersion = "table_name(string) table_version(int)\nglobalblocklist:1\nuserblocklist:1\n"

// DBTextUsers is the module's per-user table, which must exist; cdrpipe
// leaves it empty.
const DBTextUsers = "id(int,auto) username(string) domain(string) prefix(string) allowlist(int)\n"

// OpenSIPSVersion and OpenSIPSUsers are the same for OpenSIPS' tables.
const (
	OpenSIPSVersion = "table_name(string) table_version(int)\nglobalblacklist:1\nuserblacklist:1\n"
	OpenSIPSUsers   = "id(int,auto) username(string) domain(string) prefix(string) whitelist(int)\n"
)

func dbTextEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ":", `\:`, "\n", " ", "\r", " ")
	return r.Replace(s)
}

func digits(n string) string { return strings.TrimPrefix(n, "+") }

// writeAsterisk writes AstDB commands: the dialplan checks
// DB_EXISTS(blacklist/${CALLERID(num)}). AstDB keys are exact numbers.
func writeAsterisk(w io.Writer, l *List) error {
	for i := range l.Items {
		it := &l.Items[i]
		if it.Prefix {
			continue
		}
		reason := fmt.Sprintf("cdrpipe %s %.2f %s", it.Source, it.Score, strings.Join(it.Detectors, ","))
		reason = strings.NewReplacer(`"`, `'`, "\n", " ").Replace(reason)
		if _, err := fmt.Fprintf(w, "database put blacklist %s \"%s\"\n", it.Number, reason); err != nil {
			return err
		}
	}
	return nil
}

// writeNumbers writes one number a line: E.164 with '+', or, for
// FreeSWITCH's mod_blacklist lists (matched against the caller ID as the
// switch has it), the digits without it.
func writeNumbers(w io.Writer, l *List, bare bool) error {
	for i := range l.Items {
		it := &l.Items[i]
		if it.Prefix {
			continue
		}
		n := it.Number
		if bare {
			n = digits(n)
		}
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

// sortItems puts numbers first, then prefixes, each in ascending order,
// so an unchanged list exports byte for byte the same.
func sortItems(items []Item) {
	slices.SortFunc(items, func(a, b Item) int {
		if a.Prefix != b.Prefix {
			if a.Prefix {
				return 1
			}
			return -1
		}
		return strings.Compare(a.Number, b.Number)
	})
}
