package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "throughput:", err)
		os.Exit(1)
	}
}

const usageText = `usage:
  throughput e2e     [--cdrs N] [--partitions N] [--bin PATH] [--brokers LIST] [--clickhouse ADDR] [--out FILE] [--keep]
  throughput latency [--rate N] [--duration D] [--abusers N] [--set key=value]... [--bin PATH] [--brokers LIST] [--clickhouse ADDR] [--out FILE] [--keep]
run 'throughput <mode> -h' for the flags of a mode`

// run dispatches to a mode.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("no mode given\n" + usageText)
	}
	switch args[0] {
	case "e2e":
		return runE2E(ctx, args[1:], stdout)
	case "latency":
		return runLatency(ctx, args[1:], stdout)
	case consumeMode:
		return runConsume(ctx, args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usageText)
		return nil
	}
	return fmt.Errorf("unknown mode %q\n%s", args[0], usageText)
}

// stackFlags are the flags every mode shares: where the services and the
// binary are, and where results go.
type stackFlags struct {
	brokers    string
	clickhouse string
	bin        string
	partitions int
	out        string
	keep       bool
	stackDir   string
}

func (s *stackFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.brokers, "brokers", envOr("CDRPIPE_KAFKA_BROKERS", "127.0.0.1:9092"), "Kafka bootstrap brokers, comma-separated")
	fs.StringVar(&s.clickhouse, "clickhouse", envOr("CDRPIPE_CLICKHOUSE_ADDR", "127.0.0.1:9000"), "ClickHouse native address host:port")
	fs.StringVar(&s.bin, "bin", "bin/cdrpipe", "cdrpipe binary to run (build it with 'make build')")
	fs.IntVar(&s.partitions, "partitions", 4, "partitions of the fresh topic")
	fs.StringVar(&s.out, "out", "", "markdown file to append the result table to")
	fs.BoolVar(&s.keep, "keep", false, "keep the topic and the temporary directory (logs, traffic)")
	fs.StringVar(&s.stackDir, "stack-dir", ".stack", "the local stack's state directory (`make up`), whose pid files name the ClickHouse server and the broker charged for a run")
}

// brokerList splits --brokers.
func (s *stackFlags) brokerList() []string {
	var out []string
	for _, b := range strings.Split(s.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// bench is what a mode needs once the services are known to answer.
type bench struct {
	flags   *stackFlags
	brokers []string
	bin     string // absolute path of the cdrpipe binary
	wh      *warehouse
	dir     string // temporary directory for traffic and child logs
	stamp   string // names this run's topic and groups
	machine machine
	env     []string // settings cdrpipe reads the traffic with
}

// prepare checks the binary and both services and makes the temporary
// directory. The caller must call finish.
func prepare(ctx context.Context, f *stackFlags, mode string) (*bench, error) {
	if f.partitions < 1 {
		return nil, fmt.Errorf("--partitions %d must be at least 1", f.partitions)
	}
	bin, err := checkBinary(f.bin)
	if err != nil {
		return nil, err
	}
	brokers := f.brokerList()
	if len(brokers) == 0 {
		return nil, errors.New("--brokers is empty")
	}
	if err := source.Reachable(ctx, brokers, 5*time.Second); err != nil {
		return nil, fmt.Errorf("%w (is the stack up? `make up`)", err)
	}
	wh, err := openWarehouse(ctx, f.clickhouse)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cdrpipe-"+mode+"-*")
	if err != nil {
		wh.Close()
		return nil, fmt.Errorf("make temporary directory: %w", err)
	}
	b := &bench{flags: f, brokers: brokers, bin: bin, wh: wh, dir: dir,
		stamp: time.Now().UTC().Format("20060102150405")}
	b.machine = describeMachine(ctx, bin, wh)
	return b, nil
}

// checkBinary resolves the cdrpipe binary and checks it can be run.
func checkBinary(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("--bin %s: %w", path, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("cdrpipe binary %s: %w (build it with `make build`)", abs, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("cdrpipe binary %s is not an executable file (build it with `make build`)", abs)
	}
	return abs, nil
}

// finish removes the topic and the temporary directory after a success,
// unless --keep; after a failure it keeps both for inspection and says
// where they are.
func (b *bench) finish(ctx context.Context, topic string, failed bool) {
	defer b.wh.Close()
	if failed || b.flags.keep {
		var kept []string
		if os.Remove(b.dir) != nil { // fails unless empty
			kept = append(kept, "temporary directory "+b.dir+" (traffic, child logs)")
		}
		if topic != "" {
			kept = append(kept, "topic "+topic)
		}
		if len(kept) > 0 {
			fmt.Fprintf(os.Stderr, "kept for inspection: %s\n", strings.Join(kept, ", "))
		}
		return
	}
	if topic != "" {
		// The run may have been interrupted; cleaning up must not be.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := deleteTopic(dctx, b.brokers, topic); err != nil {
			fmt.Fprintf(os.Stderr, "warning: %v\n", err)
		}
	}
	if err := os.RemoveAll(b.dir); err != nil {
		fmt.Fprintf(os.Stderr, "warning: remove %s: %v\n", b.dir, err)
	}
}

// progress prints a step to stderr, so stdout holds only the results.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
