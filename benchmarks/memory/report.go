package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cdrpipe/cdrpipe/benchmarks/internal/format"
)

// machine describes where the figures were taken: they mean little
// without it.
type machine struct {
	CPUs      int
	CPU       string
	Memory    string
	Go        string
	GOMAXPROC int
	Shards    int
	Load      string
	Date      string
	Command   string
}

func describeMachine(shards int) machine {
	return machine{
		CPUs:      runtime.NumCPU(),
		CPU:       procField("/proc/cpuinfo", "model name"),
		Memory:    memTotal(),
		Go:        runtime.Version(),
		GOMAXPROC: runtime.GOMAXPROCS(0),
		Shards:    shards,
		Load:      loadAverage(),
		Date:      time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Command:   "go run ./benchmarks/memory " + strings.Join(os.Args[1:], " "),
	}
}

// procField returns the value of the first "key: value" line of a /proc
// file, or "unknown".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// memTotal is the machine's memory in GiB, from /proc/meminfo.
func memTotal() string {
	kb, err := strconv.ParseUint(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 10, 64)
	if err != nil {
		return "unknown memory"
	}
	return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
}

// loadAverage is the 1, 5 and 15 minute load when the table is written:
// the cores are shared, so rates depend on what else ran.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}

var summaryHeader = []string{"scenario", "callers", "CDRs", "heap B/caller", "RSS B/caller", "peak RSS",
	"heap after close", "RSS after close", "heap released", "RSS released", "feed CDR/s", "engine CDR/s"}

func summaryRow(r *result) []string {
	return []string{
		r.Scenario,
		count(r.Callers),
		count(r.CDRs),
		byteCount(r.perCaller(r.Fed.HeapAlloc, r.Baseline.HeapAlloc)),
		byteCount(r.perCaller(r.Fed.RSS, r.Baseline.RSS)),
		mib(r.PeakRSS),
		mib(r.Closed.HeapAlloc),
		mib(r.Closed.RSS),
		percent(released(r.Baseline.HeapAlloc, r.Fed.HeapAlloc, r.Closed.HeapAlloc)),
		percent(released(r.Baseline.RSS, r.Fed.RSS, r.Closed.RSS)),
		count(int(float64(r.CDRs) / r.FeedSeconds)),
		count(int(float64(r.CDRs) / r.EngineSeconds)),
	}
}

var detailHeader = []string{"scenario", "baseline heap / RSS", "after feed heap / in use / RSS", "heap B/caller in use",
	"Size() after feed", "Size() after close", "B/caller left (heap)", "promoted", "overflowed", "flags", "stats rows", "close", "child wall"}

func detailRow(r *result) []string {
	return []string{
		r.Scenario,
		mib(r.Baseline.HeapAlloc) + " / " + mib(r.Baseline.RSS),
		mib(r.Fed.HeapAlloc) + " / " + mib(r.Fed.HeapInuse) + " / " + mib(r.Fed.RSS),
		byteCount(r.perCaller(r.Fed.HeapInuse, r.Baseline.HeapInuse)),
		fmt.Sprintf("%s (%s heavy)", count(r.FedCallers), count(r.FedHeavy)),
		fmt.Sprintf("%s (%s heavy)", count(r.ClosedCallers), count(r.ClosedHeavy)),
		byteCount(r.perCaller(r.Closed.HeapAlloc, r.Baseline.HeapAlloc)),
		count(r.Feed.Promoted),
		count(r.Feed.Overflowed),
		count(r.Feed.Flags + r.Close.Flags),
		count(r.Feed.Stats + r.Close.Stats),
		fmt.Sprintf("%.1fs", r.CloseSeconds),
		fmt.Sprintf("%.1fs", r.WallSeconds),
	}
}

// writeText prints the tables for a terminal.
func writeText(w io.Writer, m machine, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range tables(results) {
		fmt.Fprintln(tw, strings.Join(t.header, "\t"))
		for _, row := range t.rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "%s\n", m.line())
}

// markdown renders the machine, the tables and how to read them.
func markdown(m machine, results []result) string {
	var b strings.Builder
	b.WriteString("# Engine memory per active caller\n\n")
	fmt.Fprintf(&b, "`%s`, %s.\n\n", m.Command, m.Date)
	fmt.Fprintf(&b, "Machine: %s\n\n", m.line())
	for _, t := range tables(results) {
		b.WriteString("| " + strings.Join(t.header, " | ") + " |\n")
		b.WriteString("|" + strings.Repeat("---|", len(t.header)) + "\n")
		for _, row := range t.rows {
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	b.WriteString(legend)
	return b.String()
}

func (m machine) line() string {
	return fmt.Sprintf("%d CPUs (%s), %s, %s, GOMAXPROCS %d, %d engine shards, load average %s",
		m.CPUs, m.CPU, m.Memory, m.Go, m.GOMAXPROC, m.Shards, m.Load)
}

type table struct {
	header []string
	rows   [][]string
}

func tables(results []result) []table {
	sum := table{header: summaryHeader}
	det := table{header: detailHeader}
	for i := range results {
		sum.rows = append(sum.rows, summaryRow(&results[i]))
		det.rows = append(det.rows, detailRow(&results[i]))
	}
	return []table{sum, det}
}

// legend says how each figure was taken, so it is not misread.
const legend = `How the figures were taken: each scenario runs in its own child process.
The engine is built from config.Default() (one-hour windows sliding by
5 minutes, engine.max_callees 4096) and fed one hour of calls in time order,
in batches of 8192, with the pipeline's watermark (newest start minus the
allowed lateness). "B/caller" is (after feeding − before the engine was
built) / callers, after a collection: heap is HeapAlloc, RSS is VmRSS (which
also holds freed pages not yet returned to the OS). It
includes everything the engine holds for the hour, not only per-caller
state: the de-duplication sets (per CDR of the window) and the callee-side
counters for call bombing (per CDR of the last spans). Peak RSS is the
child's rusage maximum, GC headroom included. "After close" is after the
watermark moved three hours past the hour with empty batches, a collection
and debug.FreeOSMemory; "released" is the share of what feeding added that
closing gave back. "feed CDR/s" covers generating and processing, "engine
CDR/s" only Prepare and Process; the cores are shared, so rates vary.
`

// count formats n with thousands separators.
func count(n int) string { return format.Thousands(int64(n)) }

func percent(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

// byteCount formats a per-caller byte count.
func byteCount(b float64) string { return count(int(math.Round(b))) }
