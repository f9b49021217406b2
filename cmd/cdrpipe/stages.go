package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/pipeline/repartition"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

// stages are the runners of one process: one, or the two stages of
// kafka.repartition. They share one set of counters.
type stages []*pipeline.Runner

// Metrics returns the process's counters.
func (s stages) Metrics() *pipeline.Metrics { return s[0].Metrics() }

// Live reports the first stage that is not live.
func (s stages) Live() error {
	for _, r := range s {
		if err := r.Live(); err != nil {
			return err
		}
	}
	return nil
}

// Ready reports what keeps any stage from working.
func (s stages) Ready(ctx context.Context) error {
	var errs []error
	for _, r := range s {
		errs = append(errs, r.Ready(ctx))
	}
	return errors.Join(errs...)
}

// runStages runs both stages of kafka.repartition in this process: the
// first reads the carriers' topic in the configured group and routes
// calls to the internal topic (created if missing), the second reads
// that in a group of its own and detects. Each ends the other.
func (a *app) runStages(cmd *cobra.Command, c config.Config, opts pipeline.Options, s *sink.Sink) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	conn, err := source.Connect(c.Kafka)
	if err != nil {
		return err
	}
	internal := c.Kafka.InternalTopic()
	rp := c.Kafka.Repartition
	if err := source.EnsureTopicSpec(ctx, conn, source.TopicSpec{Name: internal, Partitions: rp.Partitions,
		Replication: rp.Replication, Retention: rp.Retention}); err != nil {
		return fmt.Errorf("internal topic: %w", err)
	}
	in, err := source.NewGroup(ctx, c.Kafka, a.log)
	if err != nil {
		return err
	}
	defer in.Close()
	inputs, err := in.Partitions(ctx)
	if err != nil {
		return err
	}
	dc := c
	dc.Kafka.Topic, dc.Kafka.Group = internal, c.Kafka.DetectGroup()
	out, err := source.NewGroup(ctx, dc.Kafka, a.log)
	if err != nil {
		return err
	}
	defer out.Close()
	parts, err := out.Partitions(ctx)
	if err != nil {
		return err
	}
	pub := repartition.NewPublisher(conn, internal, len(parts), len(inputs))
	defer pub.Close()

	metrics := new(pipeline.Metrics)
	ropts := opts
	ropts.Stage, ropts.Publisher, ropts.Metrics = pipeline.Route, pub, metrics
	route, err := pipeline.New(c, ropts, in, s, a.log.With("stage", "route"))
	if err != nil {
		return err
	}
	dopts := opts
	dopts.Stage, dopts.Internal, dopts.Metrics = pipeline.Detect, internal, metrics
	a.syncBlocklist(&dopts, c, s)
	detect, err := pipeline.New(c, dopts, out, s, a.log.With("stage", "detect"))
	if err != nil {
		return err
	}
	if c.Metrics.Addr != "" {
		stop, err := serveMetrics(c.Metrics.Addr, c.Metrics.Pprof, stages{route, detect}, a.log)
		if err != nil {
			return err
		}
		defer stop()
	}
	a.log.Info("running in two stages", "topic", c.Kafka.Topic, "group", c.Kafka.Group, "internal_topic", internal,
		"internal_partitions", len(parts), "detect_group", dc.Kafka.Group, "clickhouse", c.ClickHouse.Addr, "database", c.ClickHouse.Database)

	var wg sync.WaitGroup
	var routeErr error
	wg.Go(func() {
		_, routeErr = route.Run(ctx)
		if routeErr != nil || !opts.UntilCaughtUp {
			cancel() // a bounded second stage ends on the first's marks
		}
	})
	sum, detectErr := detect.Run(ctx)
	cancel()
	wg.Wait()
	fmt.Fprintln(cmd.OutOrStdout(), "summary:", sum)
	return errors.Join(routeErr, detectErr)
}
