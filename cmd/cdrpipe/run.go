package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdrpipe/cdrpipe/blocklist"
	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/pipeline/formats"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the ClickHouse tables and views, and set their retention (idempotent)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			s, done, err := a.prepared(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintln(cmd.OutOrStdout(), done)
			return nil
		},
	}
}

// kafka connects to the configured brokers, TLS and SASL included, and
// checks that one accepts us: refused credentials or an untrusted
// certificate end the command at once with a configuration error (exit
// status 2) instead of a consumer retrying them against the brokers.
func (a *app) kafka(ctx context.Context, c config.Config) (source.Connection, error) {
	conn, err := source.Connect(c.Kafka)
	if err != nil {
		return conn, err
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := conn.Check(cctx); err != nil {
		if config.IsConfigError(err) {
			return conn, err
		}
		return conn, fmt.Errorf("%w (is it up? `make up`)", err)
	}
	return conn, nil
}

// openSink connects to ClickHouse and waits (bounded) until it answers.
func (a *app) openSink(ctx context.Context, c config.Config) (*sink.Sink, error) {
	return a.connect(ctx, c, 30*time.Second, false)
}

// connect opens ClickHouse and pings it for up to wait. Wrong settings
// or credentials are always an error; a server that does not answer is
// one unless outlive, for the readers that must outlive its outages (the
// feed), which only log it: their reads retry.
func (a *app) connect(ctx context.Context, c config.Config, wait time.Duration, outlive bool) (*sink.Sink, error) {
	s, err := sink.Open(ctx, c.ClickHouse, c.Sink, a.log)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err = s.Ping(pctx)
	switch {
	case err == nil:
		return s, nil
	case config.IsConfigError(err):
		s.Close()
		return nil, fmt.Errorf("clickhouse at %s: %w", c.ClickHouse.Addr, err)
	case outlive:
		a.log.Warn("clickhouse does not answer yet; retrying", "addr", c.ClickHouse.Addr, "err", err)
		return s, nil
	}
	s.Close()
	return nil, fmt.Errorf("clickhouse at %s does not answer (is it up? `make up`): %w", c.ClickHouse.Addr, err)
}

func (a *app) runCmd() *cobra.Command {
	var untilCaughtUp, shadow bool
	var drain time.Duration
	var from, to, cpuProfile, format string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Consume CDRs from Kafka, detect, and write to ClickHouse",
		Long: "Consume CDRs from Kafka, detect, and write to ClickHouse. Offsets are committed only after\n" +
			"the rows derived from them are in ClickHouse. SIGINT/SIGTERM stop fetching, flush, commit and exit 0.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			if format != "" {
				c.Kafka.Format = format
			}
			opts := pipeline.Options{UntilCaughtUp: untilCaughtUp, DrainTimeout: drain}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			if shadow {
				return a.shadow(cmd, c, opts, from, to)
			}
			if from != "" || to != "" {
				return usageError{fmt.Errorf("--from and --to go with --shadow")}
			}
			return a.run(cmd, c, opts, nil)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "how the topic's messages are written (kafka.format): "+strings.Join(formats.Names, ", "))
	cmd.Flags().BoolVar(&untilCaughtUp, "until-caught-up", false, "stop once the end offsets that existed at start are read")
	cmd.Flags().BoolVar(&shadow, "shadow", false, "replay --from..--to of the topic into another --database, outside the consumer group, to try other thresholds or rules")
	cmd.Flags().StringVar(&from, "from", "", "with --shadow: start of the stretch (RFC 3339, by Kafka message time)")
	cmd.Flags().StringVar(&to, "to", "", "with --shadow: end of the stretch (RFC 3339; default now)")
	cmd.Flags().DurationVar(&drain, "drain-timeout", 30*time.Second, "how long a stop may spend writing and committing")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for `go tool pprof`)")
	return cmd
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// shadow replays a stretch of the topic into a database of its own.
func (a *app) shadow(cmd *cobra.Command, c config.Config, opts pipeline.Options, from, to string) error {
	if !cmd.Flags().Changed("database") {
		return usageError{fmt.Errorf("--shadow needs --database NAME, a database other than production's")}
	}
	start, err := time.Parse(time.RFC3339, from)
	if err != nil {
		return usageError{fmt.Errorf("--from %q: want an RFC 3339 time", from)}
	}
	end := time.Now()
	if to != "" {
		if end, err = time.Parse(time.RFC3339, to); err != nil {
			return usageError{fmt.Errorf("--to %q: want an RFC 3339 time", to)}
		}
	}
	if _, err := a.kafka(cmd.Context(), c); err != nil {
		return err
	}
	src, err := source.NewReplay(cmd.Context(), c.Kafka, start, end, a.log)
	if err != nil {
		return err
	}
	defer src.Close()
	f, t := src.Range()
	a.log.Info("shadow run", "database", c.ClickHouse.Database, "from", start.Format(time.RFC3339), "to", end.Format(time.RFC3339),
		"from_offsets", f, "to_offsets", t)
	opts.UntilCaughtUp = true
	return a.run(cmd, c, opts, src)
}

func (a *app) run(cmd *cobra.Command, c config.Config, opts pipeline.Options, replay *source.Replay) error {
	ctx := cmd.Context()
	if _, err := a.kafka(ctx, c); err != nil {
		return err
	}
	s, _, err := a.prepared(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	if replay == nil && c.Kafka.Repartition.Enabled {
		return a.runStages(cmd, c, opts, s)
	}
	var src pipeline.Source = replay
	if replay == nil {
		group, err := source.NewGroup(ctx, c.Kafka, a.log)
		if err != nil {
			return err
		}
		defer group.Close()
		src = group
	}
	a.syncBlocklist(&opts, c, s)
	r, err := pipeline.New(c, opts, src, s, a.log)
	if err != nil {
		return err
	}
	if c.Metrics.Addr != "" {
		stop, err := serveMetrics(c.Metrics.Addr, c.Metrics.Pprof, stages{r}, a.log)
		if err != nil {
			return err
		}
		defer stop()
	}
	a.log.Info("running", "topic", c.Kafka.Topic, "group", c.Kafka.Group, "clickhouse", c.ClickHouse.Addr, "database", c.ClickHouse.Database)
	sum, err := r.Run(ctx)
	fmt.Fprintln(cmd.OutOrStdout(), "summary:", sum)
	return err
}

// syncBlocklist makes opts sync the blocklist's audit trail after writes.
func (a *app) syncBlocklist(opts *pipeline.Options, c config.Config, s *sink.Sink) {
	st := blocklist.New(s.Conn(), c.ClickHouse.Database, time.Now)
	opts.AfterWriteEvery = 30 * time.Second
	opts.AfterWrite = func(ctx context.Context) error {
		added, removed, err := st.Sync(ctx)
		if added+removed > 0 {
			a.log.Info("blocklist changed", "added", added, "removed", removed)
		}
		return err
	}
}

// serveMetrics exposes r's metrics on addr at /metrics (Prometheus text),
// its liveness at /livez (and /healthz), its readiness at /readyz and,
// with pprof, Go's profiles at /debug/pprof/, until the returned stop is
// called.
func serveMetrics(addr string, pprof bool, r stages, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics endpoint on %s (metrics.addr): %w", addr, err)
	}
	srv := &http.Server{Handler: metricsMux(r, pprof), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics endpoint stopped", "err", err)
		}
	}()
	log.Info("metrics endpoint", "addr", ln.Addr().String(), "pprof", pprof)
	return func() { srv.Close() }, nil
}

// metricsMux routes the metrics endpoint's paths.
func metricsMux(r stages, pprof bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_ = r.Metrics().WriteText(w)
	})
	live := func(w http.ResponseWriter, _ *http.Request) { answer(w, r.Live(), "live") }
	mux.HandleFunc("/livez", live)
	mux.HandleFunc("/healthz", live)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), 3*time.Second)
		defer cancel()
		answer(w, r.Ready(ctx), "ready")
	})
	if pprof {
		// Profiles of a running service, for `go tool pprof http://ADDR/debug/pprof/profile`.
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	}
	return mux
}

// answer writes a health check's outcome: 200 and ok, or 503 and what is
// wrong, a line each.
func answer(w http.ResponseWriter, err error, ok string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, err)
		return
	}
	fmt.Fprintln(w, ok)
}

func (a *app) diffCmd() *cobra.Command {
	var against, from, to string
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Compare a shadow database's blocklist (--database) with production's (--against)",
		Long: "Compare the blocklist of a shadow run (--database) with production's (--against): which numbers the\n" +
			"shadow's thresholds and rules would newly block or release, with their reasons. With --from/--to,\n" +
			"production's side is limited to numbers flagged in windows overlapping the replayed stretch.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			var start, end time.Time
			if from != "" {
				if start, err = time.Parse(time.RFC3339, from); err != nil {
					return usageError{fmt.Errorf("--from %q: want an RFC 3339 time", from)}
				}
				end = time.Now()
				if to != "" {
					if end, err = time.Parse(time.RFC3339, to); err != nil {
						return usageError{fmt.Errorf("--to %q: want an RFC 3339 time", to)}
					}
				}
			}
			if !config.Identifier(against) {
				return usageError{fmt.Errorf("--against %q is not a database name (letters, digits and _)", against)}
			}
			if against == c.ClickHouse.Database {
				return usageError{fmt.Errorf("--against %s is the same database as --database", against)}
			}
			s, err := a.openSink(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer s.Close()
			d, err := blocklist.Diff(cmd.Context(), s.Conn(), against, c.ClickHouse.Database, start, end)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s (shadow) against %s (production): %s", c.ClickHouse.Database, against, d)
			return nil
		},
	}
	cmd.Flags().StringVar(&against, "against", "cdrpipe", "production database")
	cmd.Flags().StringVar(&from, "from", "", "start of the replayed stretch (RFC 3339)")
	cmd.Flags().StringVar(&to, "to", "", "end of the replayed stretch (RFC 3339; default now)")
	return cmd
}
