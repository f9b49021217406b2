// Command cdrpipe reads call detail records from Kafka, runs windowed
// nuisance-call detectors per calling number, and writes flagged numbers
// and aggregates to ClickHouse. This package only wires: it resolves the
// configuration and builds the pipeline's parts in order.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/cdrpipe/cdrpipe/config"
)

// exitConfig is the exit status for a bad configuration.
const exitConfig = 2

// app carries what every subcommand shares.
type app struct {
	v        *viper.Viper
	cfgFile  string
	logLevel string
	log      *slog.Logger
}

// flagKeys binds command-line flags to configuration keys.
var flagKeys = map[string]string{
	"brokers":          "kafka.brokers",
	"topic":            "kafka.topic",
	"group":            "kafka.group",
	"clickhouse-addr":  "clickhouse.addr",
	"database":         "clickhouse.database",
	"country-code":     "numbering.country_code",
	"batch-size":       "sink.batch_size",
	"flush-interval":   "sink.flush_interval",
	"window":           "window.size",
	"slide":            "window.slide",
	"allowed-lateness": "window.allowed_lateness",
	"shards":           "engine.shards",
	"stats-min-calls":  "stats.min_calls",
	"fan-out-callees":  "detectors.fan_out.min_callees",
	"short-calls-min":  "detectors.short_calls.min_answered",
	"sequential-min":   "detectors.sequential_dialing.min_callees",
	"blocklist-ttl":    "blocklist.ttl",
	"clickhouse-user":  "clickhouse.username",
}

func main() {
	os.Exit(execute(os.Args[1:]))
}

// execute runs the command line and returns the exit status.
func execute(args []string) int {
	a := &app{v: viper.New()}
	root := a.root()
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "cdrpipe:", oneLine(err))
	if config.IsConfigError(err) {
		return exitConfig
	}
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		return exitConfig
	}
	return 1
}

// usageError is a bad command line.
type usageError struct{ error }

// noArgs and maxArgs check positional arguments, reporting a bad command
// line with the usage exit status.
func noArgs(cmd *cobra.Command, args []string) error { return usage(cobra.NoArgs(cmd, args)) }

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error { return usage(cobra.ExactArgs(n)(cmd, args)) }
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error { return usage(cobra.MaximumNArgs(n)(cmd, args)) }
}

func usage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "cdrpipe",
		Short:         "Find nuisance and fraud callers in a stream of call detail records",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.init(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.cfgFile, "config", "", "YAML configuration file")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.String("brokers", "", "Kafka brokers, comma-separated (kafka.brokers)")
	pf.String("topic", "", "Kafka topic of CDRs (kafka.topic)")
	pf.String("group", "", "Kafka consumer group (kafka.group)")
	pf.String("clickhouse-addr", "", "ClickHouse native address host:port (clickhouse.addr)")
	pf.String("clickhouse-user", "", "ClickHouse user (clickhouse.username)")
	pf.String("database", "", "ClickHouse database (clickhouse.database)")
	pf.String("country-code", "", "home country calling code (numbering.country_code)")
	pf.String("batch-size", "", "rows per ClickHouse insert (sink.batch_size)")
	pf.String("flush-interval", "", "longest wait before an insert (sink.flush_interval)")
	pf.String("window", "", "detector window length (window.size)")
	pf.String("slide", "", "how often a new window starts (window.slide)")
	pf.String("allowed-lateness", "", "how late a CDR may be and still count (window.allowed_lateness)")
	pf.String("shards", "", "engine goroutines, 0 = one per CPU (engine.shards)")
	pf.String("stats-min-calls", "", "calls in a window for a caller_stats row (stats.min_calls)")
	pf.String("fan-out-callees", "", "distinct callees that flag fan_out (detectors.fan_out.min_callees)")
	pf.String("short-calls-min", "", "answered calls before short_calls applies (detectors.short_calls.min_answered)")
	pf.String("sequential-min", "", "callees in runs that flag sequential_dialing (detectors.sequential_dialing.min_callees)")
	pf.String("blocklist-ttl", "", "how long a flag keeps a number on the blocklist (blocklist.ttl)")
	root.AddCommand(a.configCmd(), a.migrateCmd(), a.runCmd(), a.genCmd(), a.produceCmd(), a.reportCmd(),
		a.blocklistCmd(), a.allowlistCmd(), a.diffCmd(), a.retentionCmd(), a.pseudonymCmd())
	return root
}

// init sets up logging and the layered configuration: defaults < file <
// environment < flags.
func (a *app) init(cmd *cobra.Command) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", a.logLevel)}
	}
	a.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	setDefaults(a.v)
	a.v.SetEnvPrefix("CDRPIPE")
	a.v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	a.v.AutomaticEnv()
	if a.cfgFile != "" {
		a.v.SetConfigFile(a.cfgFile)
		a.v.SetConfigType("yaml")
		if err := a.v.ReadInConfig(); err != nil {
			return &config.Error{Key: "--config", Msg: fmt.Sprintf("read %s: %v", a.cfgFile, err)}
		}
	}
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if key, ok := flagKeys[f.Name]; ok && f.Changed {
			a.v.Set(key, f.Value.String())
		}
	})
	return bindErr
}

// config resolves and validates the effective configuration.
func (a *app) config() (config.Config, error) {
	return resolve(a.v)
}

func (a *app) configCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (secrets masked)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), printable(c))
			return nil
		},
	}
}
