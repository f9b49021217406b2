package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/report"
	"github.com/cdrpipe/cdrpipe/traffic"
)

func (a *app) genCmd() *cobra.Command {
	tc := traffic.DefaultConfig()
	var out, truthPath, start string
	var toKafka bool
	var key traffic.Key
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write synthetic carrier traffic with planted nuisance callers, and its ground truth",
		Long: "Write synthetic carrier traffic as JSON lines to a file (or stdout with --out -) or straight\n" +
			"to Kafka (--kafka): ordinary subscribers plus planted fan-out, short-call and range-scanning\n" +
			"callers, with duplicates, late, out-of-order and malformed records. The truth file lists the\n" +
			"planted numbers and the counts a correct pipeline must reproduce.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if start != "" {
				t, err := time.Parse(time.RFC3339, start)
				if err != nil {
					return usageError{fmt.Errorf("--start %q: want an RFC 3339 time", start)}
				}
				tc.Start = t
			}
			if cmd.Flags().Changed("key") && !toKafka {
				return usageError{fmt.Errorf("--key goes with --kafka (`produce --key` keys a file's lines)")}
			}
			c, err := a.config()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var truth traffic.Truth
			if toKafka {
				truth, err = a.genToKafka(ctx, tc, c, key)
			} else {
				truth, err = genToFile(ctx, tc, out)
			}
			if err != nil {
				return err
			}
			if truthPath != "" {
				if err := writeTruth(truthPath, &truth); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "gen: %d lines (%d unique valid, %d duplicates, %d malformed), %d planted callers, window %s to %s\n",
				truth.Lines, truth.UniqueValid, truth.Duplicates, truth.Malformed, len(truth.Planted),
				truth.Start.Format(time.RFC3339), truth.End.Format(time.RFC3339))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "-", "output file of JSON lines, - for stdout")
	f.StringVar(&truthPath, "truth", "", "write the ground truth (planted numbers, expected counts) to this JSON file")
	f.BoolVar(&toKafka, "kafka", false, "send straight to kafka.topic instead of a file")
	f.Var(&key, "key", keyUsage+" (with --kafka)")
	f.StringVar(&start, "start", "", "start of the traffic window, RFC 3339 (default: five hours ago, on the hour)")
	f.DurationVar(&tc.Duration, "duration", tc.Duration, "length of the traffic window")
	f.IntVar(&tc.Subscribers, "subscribers", tc.Subscribers, "ordinary subscribers")
	f.Float64Var(&tc.CallsPerSubscriberHour, "calls-per-hour", tc.CallsPerSubscriberHour, "mean calls per subscriber per hour")
	f.IntVar(&tc.FanOut, "fan-out", tc.FanOut, "planted fan-out callers")
	f.IntVar(&tc.ShortCalls, "short-calls", tc.ShortCalls, "planted short-call callers")
	f.IntVar(&tc.Sequential, "sequential", tc.Sequential, "planted range scanners")
	f.Int64Var(&tc.Seed, "seed", tc.Seed, "random seed; the same seed gives the same traffic")
	f.Float64Var(&tc.DuplicateRate, "duplicate-rate", tc.DuplicateRate, "share of records re-sent")
	f.Float64Var(&tc.MalformedRate, "malformed-rate", tc.MalformedRate, "share of malformed lines")
	return cmd
}

func genToFile(ctx context.Context, tc traffic.Config, out string) (traffic.Truth, error) {
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return traffic.Truth{}, fmt.Errorf("create %s: %w", out, err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	truth, err := traffic.Generate(ctx, tc, bw)
	if err != nil {
		return truth, err
	}
	if err := bw.Flush(); err != nil {
		return truth, fmt.Errorf("write %s: %w", out, err)
	}
	return truth, nil
}

// keyUsage describes --key.
const keyUsage = "message key: caller or callee (the number's last digits, the same whatever form it is written in), " +
	"switch (switch_id), call_id, or none (round-robin); several instances of one group in one stage need caller (two stages, kafka.repartition, take any)"

// genToKafka streams generated lines through a pipe into the producer,
// keyed by key.
func (a *app) genToKafka(ctx context.Context, tc traffic.Config, c config.Config, key traffic.Key) (traffic.Truth, error) {
	conn, err := a.kafka(ctx, c)
	if err != nil {
		return traffic.Truth{}, err
	}
	topic := c.Kafka.Topic
	if err := source.EnsureTopicOn(ctx, conn, topic, 4); err != nil {
		return traffic.Truth{}, err
	}
	pr, pw := io.Pipe()
	var truth traffic.Truth
	genErr := make(chan error, 1)
	go func() {
		var err error
		truth, err = traffic.Generate(ctx, tc, pw)
		pw.CloseWithError(err)
		genErr <- err
	}()
	pc := traffic.ProduceConfig{Brokers: conn.Brokers, Topic: topic, Transport: conn.Transport(), Key: key}
	sent, err := traffic.Produce(ctx, pc, pr, nil)
	pr.CloseWithError(err)
	if gerr := <-genErr; gerr != nil {
		return truth, gerr
	}
	if err != nil {
		return truth, err
	}
	a.log.Info("sent generated traffic", "topic", topic, "messages", sent, "key", key.String())
	return truth, nil
}

func writeTruth(path string, t *traffic.Truth) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := t.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readTruth(path string) (*traffic.Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open truth: %w", err)
	}
	defer f.Close()
	t, err := traffic.ReadTruth(f)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func (a *app) reportCmd() *cobra.Command {
	var truthPath string
	var top int
	var minQuality float64
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Summarise flagged numbers in ClickHouse, scored against a truth file from gen",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			var truth *traffic.Truth
			if truthPath != "" {
				if truth, err = readTruth(truthPath); err != nil {
					return err
				}
			}
			s, err := a.openSink(cmd.Context(), c)
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := report.Read(cmd.Context(), s.Conn(), c.ClickHouse.Database, truth)
			if err != nil {
				return err
			}
			rep.Print(cmd.OutOrStdout(), top)
			if minQuality > 0 {
				return rep.MinQuality(minQuality)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&truthPath, "truth", "", "ground-truth file written by gen --truth")
	cmd.Flags().IntVar(&top, "top", 15, "flagged numbers to list")
	cmd.Flags().Float64Var(&minQuality, "min-quality", 0, "fail when any detector's precision or recall is below this")
	return cmd
}
