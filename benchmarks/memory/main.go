// Command memory measures the detection engine's memory per active caller.
// Each scenario runs in a fresh child process (this program re-executed
// with a hidden flag), so one scenario's heap cannot inflate the next and
// the peak RSS the kernel reports belongs to that scenario alone. The
// child builds an engine from config.Default(), feeds it an hour of
// generated CDRs in batches, reads the live heap and RSS, then moves the
// watermark far past every window and reads them again, to show whether
// memory falls back once windows close.
//
//	go run ./benchmarks/memory [--scenarios light-1M,light-5M,heavy-10k,spoofed-1M] [--shards N] [--out FILE]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// childFlag names the hidden flag that makes the program measure one
// scenario and print its result as JSON instead of spawning children.
const childFlag = "child"

func main() {
	err := run(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("memory", flag.ContinueOnError)
	list := fs.String("scenarios", "light-1M,light-5M,heavy-10k,spoofed-1M",
		"comma-separated scenarios: light-N (N callers with one to three calls), heavy-N (N callers of 2,000 distinct callees) or spoofed-N (N spoofed caller IDs, one call each); N takes a k or M suffix")
	shards := fs.Int("shards", runtime.GOMAXPROCS(0), "engine shards")
	out := fs.String("out", "", "also write the results as markdown to this file")
	child := fs.String(childFlag, "", "")
	fs.Usage = usage(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *shards < 1 {
		return fmt.Errorf("--shards must be at least 1, got %d", *shards)
	}
	if *child != "" {
		return runChild(*child, *shards, stdout)
	}
	scs, err := parseScenarios(*list)
	if err != nil {
		return err
	}
	return runParent(scs, *shards, *out, stdout)
}

// usage prints the flags without the hidden one: it is the parent's
// protocol with its children, not an option.
func usage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./benchmarks/memory [flags]")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == childFlag {
				return
			}
			def := ""
			if f.DefValue != "" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(fs.Output(), "  --%s\n    \t%s%s\n", f.Name, f.Usage, def)
		})
	}
}

// runChild measures one scenario in this process and prints the result
// as JSON on stdout for the parent; progress goes to stderr.
func runChild(name string, shards int, stdout io.Writer) error {
	sc, err := parseScenario(name)
	if err != nil {
		return err
	}
	res, err := measure(sc, shards, os.Stderr)
	if err != nil {
		return fmt.Errorf("scenario %s: %w", name, err)
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return fmt.Errorf("scenario %s: write result: %w", name, err)
	}
	return nil
}

// runParent runs each scenario in its own child, one after the other
// (the machine has two cores; parallel children would measure each
// other), then prints the table. A failed scenario does not hide the
// figures of the others, but makes the run fail.
func runParent(scs []scenario, shards int, out string, stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable to re-run per scenario: %w", err)
	}
	var (
		results []result
		errs    []error
	)
	for _, sc := range scs {
		fmt.Fprintf(os.Stderr, "== %s: %d callers, %d CDRs, %d shards\n", sc.name, sc.callers, sc.cdrs(), shards)
		res, err := spawn(exe, sc, shards)
		if err != nil {
			errs = append(errs, fmt.Errorf("scenario %s: %w", sc.name, err))
			continue
		}
		results = append(results, res)
	}
	m := describeMachine(shards)
	if len(results) > 0 {
		writeText(stdout, m, results)
	}
	if out != "" && len(results) > 0 {
		if err := os.WriteFile(out, []byte(markdown(m, results)), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("write --out: %w", err))
		}
	}
	return errors.Join(errs...)
}

// spawn measures sc in a fresh child process and adds the child's peak
// RSS, which only the parent can read once the child has exited.
func spawn(exe string, sc scenario, shards int) (result, error) {
	cmd := exec.Command(exe, "--"+childFlag, sc.name, "--shards", fmt.Sprint(shards))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("child process: %w", err)
	}
	var res result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return result{}, fmt.Errorf("read child result %q: %w", strings.TrimSpace(stdout.String()), err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return result{}, fmt.Errorf("no rusage for the child on %s", runtime.GOOS)
	}
	res.PeakRSS = uint64(ru.Maxrss) * 1024 // Linux reports KiB
	res.WallSeconds = time.Since(start).Seconds()
	return res, nil
}
