package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the ClickHouse tables and views (idempotent)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			s, err := a.openSink(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer s.Close()
			n, err := s.Migrate(cmd.Context(), c.Verdict())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "database %s: %d migration(s) applied, views refreshed\n", c.ClickHouse.Database, n)
			return nil
		},
	}
}

// openSink connects to ClickHouse and waits (bounded) until it answers.
func (a *app) openSink(ctx context.Context, c config.Config) (*sink.Sink, error) {
	s, err := sink.Open(ctx, c.ClickHouse, c.Sink, a.log)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Ping(pctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("clickhouse at %s does not answer (is it up? `make up`): %w", c.ClickHouse.Addr, err)
	}
	return s, nil
}

func (a *app) runCmd() *cobra.Command {
	var untilCaughtUp bool
	var drain time.Duration
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
			return a.run(cmd, c, pipeline.Options{UntilCaughtUp: untilCaughtUp, DrainTimeout: drain})
		},
	}
	cmd.Flags().BoolVar(&untilCaughtUp, "until-caught-up", false, "stop once the end offsets that existed at start are read")
	cmd.Flags().DurationVar(&drain, "drain-timeout", 30*time.Second, "how long a stop may spend writing and committing")
	return cmd
}

func (a *app) run(cmd *cobra.Command, c config.Config, opts pipeline.Options) error {
	ctx := cmd.Context()
	s, err := a.openSink(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, c.Verdict()); err != nil {
		return err
	}
	if err := source.Reachable(ctx, c.Kafka.Brokers, 5*time.Second); err != nil {
		return fmt.Errorf("%w (is it up? `make up`)", err)
	}
	src := source.New(c.Kafka, a.log)
	defer src.Close()
	r, err := pipeline.New(c, opts, src, s, a.log)
	if err != nil {
		return err
	}
	a.log.Info("running", "topic", c.Kafka.Topic, "group", c.Kafka.Group, "clickhouse", c.ClickHouse.Addr, "database", c.ClickHouse.Database)
	sum, err := r.Run(ctx)
	fmt.Fprintln(cmd.OutOrStdout(), "summary:", sum)
	return err
}
