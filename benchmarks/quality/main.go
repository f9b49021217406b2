// Command quality is cdrpipe's detection-quality benchmark. It generates a
// deterministic day-in-the-life traffic model (ordinary subscribers with
// contact graphs, legitimate heavy callers, abusers at high and low rates,
// and noise), sends it through the real pipeline (Kafka in, ClickHouse
// out) into a fresh topic and database, and scores flagged_numbers per
// trait and the blocklist against the truth, per caller class.
//
//	go run ./benchmarks/quality [--seed N] [--subscribers N] [--hours N] [--out FILE] [--keep]
//	go run ./benchmarks/quality --topic T --start TIME   (read again a kept topic: same verdicts?)
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/traffic"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quality:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("quality", flag.ContinueOnError)
	seed := fs.Int64("seed", 1, "random seed of the traffic model")
	subs := fs.Int("subscribers", 50000, "ordinary subscribers")
	hours := fs.Int("hours", 3, "hours of traffic")
	brokers := fs.String("brokers", envOr("CDRPIPE_KAFKA_BROKERS", "127.0.0.1:9092"), "Kafka bootstrap brokers, comma-separated")
	chAddr := fs.String("clickhouse", envOr("CDRPIPE_CLICKHOUSE_ADDR", "127.0.0.1:9000"), "ClickHouse native address")
	keep := fs.Bool("keep", false, "keep the database (and say its name) instead of dropping it")
	out := fs.String("out", "", "also write the markdown results to this file")
	verbose := fs.Bool("v", false, "log the pipeline's progress")
	abroad := fs.Int("min-callees-abroad", config.Default().Detectors.SpoofedOrigin.MinCalleesAbroad,
		"detectors.spoofed_origin.min_callees_abroad (1 measures the rule before roamers were spared)")
	daily := fs.Bool("daily", true, "run the day-long window (detectors.daily.enabled); false measures without")
	campaigns := fs.Bool("campaigns", true, "run the traits over trunks and number blocks (detectors.campaigns.enabled); false measures without")
	topic := fs.String("topic", "", "read this topic, kept by an earlier run (--keep), instead of producing the traffic again: with the same --seed, --subscribers, --hours and --start, a second run must give the same verdicts")
	start := fs.String("start", "", "the traffic's first instant, RFC 3339 (default: whole hours before now, as the earlier run printed)")
	emit := fs.String("emit", "", "only write the traffic's JSON lines to this file, and to FILE.env the settings cdrpipe needs to read it (for the throughput benchmark), then exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *hours < 1 || *subs < 2 {
		return fmt.Errorf("--hours must be at least 1 and --subscribers at least 2")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	gc := DefaultConfig()
	gc.Seed, gc.Subscribers, gc.Span = *seed, *subs, time.Duration(*hours)*time.Hour
	gc.Start = DefaultStart(time.Now(), gc.Span)
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			return fmt.Errorf("--start: %w", err)
		}
		gc.Start = t.UTC()
	}
	t0 := time.Now()
	tr := Generate(gc)
	genTime := time.Since(t0)
	fmt.Fprintf(os.Stderr, "generated %d lines (%d unique valid CDRs) from %s in %s\n", tr.Sent, len(tr.Calls), gc.Start.Format(time.RFC3339), genTime.Round(time.Millisecond))
	if *emit != "" {
		return emitFile(*emit, tr)
	}

	// The process id too: two runs started in the same second must not
	// share a topic and a database.
	id := fmt.Sprintf("%s_%d", time.Now().UTC().Format("20060102150405"), os.Getpid())
	pc := config.Default()
	pc.Kafka.Brokers = strings.Split(*brokers, ",")
	pc.Kafka.Topic = "cdrs-quality-" + id
	pc.Kafka.Group = "cdrpipe-quality-" + id
	pc.ClickHouse.Addr = *chAddr
	pc.ClickHouse.Database = "cdrpipe_quality_" + id
	pc.Sink.FlushInterval = 200 * time.Millisecond
	pc.Numbering.InternationalTrunks = InternationalTrunks
	pc.Detectors.Campaigns.Enabled = *campaigns
	pc.Detectors.Daily.Enabled = *daily
	pc.Detectors.SpoofedOrigin.MinCalleesAbroad = *abroad
	pc.Detectors.Daily.Zone = DayZone
	// The fleet's local-time switches write wall-clock times in their
	// zones, without an offset.
	pc.Input.SwitchZones = traffic.SwitchZones()
	if err := pc.Validate(); err != nil {
		return err
	}

	t0 = time.Now()
	if *topic != "" {
		pc.Kafka.Topic = *topic
	} else if err := produce(ctx, pc.Kafka.Brokers, pc.Kafka.Topic, tr.Lines); err != nil {
		return err
	}
	prodTime := time.Since(t0)

	s, err := sink.Open(ctx, pc.ClickHouse, pc.Sink, log)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, pc.Verdict()); err != nil {
		return fmt.Errorf("migrate %s: %w", pc.ClickHouse.Database, err)
	}
	defer func() {
		if *keep {
			fmt.Fprintf(os.Stderr, "kept database %s (topic %s)\n", pc.ClickHouse.Database, pc.Kafka.Topic)
			return
		}
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Conn().Exec(dctx, "DROP DATABASE IF EXISTS "+pc.ClickHouse.Database); err != nil {
			fmt.Fprintf(os.Stderr, "drop database %s: %v\n", pc.ClickHouse.Database, err)
		}
	}()
	src, err := source.NewGroup(ctx, pc.Kafka, log)
	if err != nil {
		return err
	}
	defer src.Close()
	runner, err := pipeline.New(pc, pipeline.Options{UntilCaughtUp: true}, src, s, log)
	if err != nil {
		return err
	}
	sum, err := runner.Run(ctx)
	if err != nil {
		return fmt.Errorf("pipeline run: %w", err)
	}
	fmt.Fprintf(os.Stderr, "pipeline: %s\n", sum)

	res, err := Evaluate(ctx, s.Conn(), pc.ClickHouse.Database, tr)
	if err != nil {
		return err
	}
	var md bytes.Buffer
	writeMarkdown(&md, runInfo{
		Command: "go run ./benchmarks/quality " + strings.Join(args, " "),
		Config:  gc, Traffic: tr, Summary: sum, Gen: genTime, Produce: prodTime,
	}, res)
	if _, err := stdout.Write(md.Bytes()); err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(*out, md.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
	}
	return nil
}

// produce writes the traffic's lines to a new topic of four partitions.
func produce(ctx context.Context, brokers []string, topic string, lines []byte) error {
	t0 := time.Now()
	if err := source.EnsureTopic(ctx, brokers, topic, 4); err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	sent, err := traffic.Produce(ctx, traffic.ProduceConfig{Brokers: brokers, Topic: topic}, bytes.NewReader(lines), nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "produced %d messages to %s in %s\n", sent, topic, time.Since(t0).Round(time.Millisecond))
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// emitFile writes the traffic and, beside it, the environment cdrpipe
// reads it with: the settings this command's own run uses, and the
// counts a reader checks its rows against.
func emitFile(path string, tr *Traffic) error {
	if err := os.WriteFile(path, tr.Lines, 0o644); err != nil {
		return fmt.Errorf("emit: %w", err)
	}
	env := []string{
		"CDRPIPE_NUMBERING_INTERNATIONAL_TRUNKS=" + strings.Join(append(config.Default().Numbering.InternationalTrunks, InternationalTrunks...), ","),
		"CDRPIPE_DETECTORS_DAILY_ZONE=" + DayZone,
		"CDRPIPE_INPUT_SWITCH_ZONES=" + strings.Join(traffic.SwitchZones(), ","),
		fmt.Sprintf("# lines=%d unique_valid=%d malformed=%d duplicates=%d", tr.Sent, len(tr.Calls), tr.Malformed, tr.Duplicates),
	}
	if err := os.WriteFile(path+".env", []byte(strings.Join(env, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("emit: %w", err)
	}
	return nil
}
