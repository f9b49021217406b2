package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/benchmarks/internal/format"
)

// machine says where figures were measured; timings mean little without it.
type machine struct {
	CPUs       int
	Model      string
	GoVersion  string // of the cdrpipe binary
	ClickHouse string
	Date       time.Time
}

// describeMachine gathers the machine's description. Nothing here can
// fail the run: an unknown field reads "?".
func describeMachine(ctx context.Context, bin string, wh *warehouse) machine {
	m := machine{CPUs: runtime.NumCPU(), Model: cpuModel(), GoVersion: runtime.Version(),
		ClickHouse: wh.version(ctx), Date: time.Now().UTC()}
	if bi, err := buildinfo.ReadFile(bin); err == nil {
		m.GoVersion = bi.GoVersion
	}
	return m
}

// cpuModel reads the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// String is the machine in one table cell.
func (m machine) String() string {
	return fmt.Sprintf("%d × %s, %s, ClickHouse %s", m.CPUs, m.Model, m.GoVersion, m.ClickHouse)
}

// table is a markdown table of one result row.
type table struct {
	header []string
	row    []string
}

// markdown renders the header, the separator and the row.
func (t table) markdown() string {
	var b strings.Builder
	b.WriteString(mdRow(t.header))
	seps := make([]string, len(t.header))
	for i := range seps {
		seps[i] = "---"
	}
	b.WriteString(mdRow(seps))
	b.WriteString(mdRow(t.row))
	return b.String()
}

func mdRow(cells []string) string {
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// appendTo appends the row to the markdown file at path: under the
// existing table when the file already ends with one of the same header,
// so repeated runs grow one table, otherwise as a new table.
func (t table) appendTo(path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	text := t.markdown()
	if endsWithTable(string(old), t.header) {
		text = mdRow(t.row)
	} else if len(old) > 0 {
		text = "\n" + text
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		return fmt.Errorf("append to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

// endsWithTable reports whether text ends with a table whose header is
// header: its last lines are table rows, the first of them that header.
func endsWithTable(text string, header []string) bool {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	want := strings.TrimSpace(mdRow(header))
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "|") {
			return false
		}
		if l == want {
			return true
		}
	}
	return false
}

// writeResult prints the table to w and appends it to path when set.
func writeResult(w io.Writer, t table, path string) error {
	if _, err := fmt.Fprintf(w, "\n%s", t.markdown()); err != nil {
		return fmt.Errorf("print result: %w", err)
	}
	if path == "" {
		return nil
	}
	if err := t.appendTo(path); err != nil {
		return err
	}
	progress("result appended to %s", path)
	return nil
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// ds, or 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

// mib renders bytes as MiB.
func mib(b int64) string { return fmt.Sprintf("%.0f", float64(b)/(1<<20)) }

// cpuPerMillion renders CPU seconds per million records.
func cpuPerMillion(cpu time.Duration, records int64) string {
	if records == 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", cpu.Seconds()/float64(records)*1e6)
}

// rate renders records per second with thousands separators.
func rate(v float64) string { return thousands(int64(math.Round(v))) }

// thousands renders n with commas, as the other benchmark tables do.
func thousands(n int64) string { return format.Thousands(n) }

// ms renders a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
