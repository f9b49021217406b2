package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

// consumeMode is the hidden mode the e2e mode runs as a child: the plain
// consumer that sets the floor cdrpipe is compared with.
const consumeMode = "consume"

// consumeResult is what the plain consumer reports on stdout, as JSON.
type consumeResult struct {
	Messages int64 `json:"messages"`
	Commits  int   `json:"commits"`
	// Seconds runs from the first fetch call (so it includes joining the
	// group, as cdrpipe's own summary does) to the last commit.
	Seconds float64 `json:"seconds"`
	// FromFirstSeconds runs from the first message to the last commit.
	FromFirstSeconds float64 `json:"from_first_seconds"`
	// CloseSeconds is how long leaving the group took.
	CloseSeconds float64 `json:"close_seconds"`
}

// runConsume reads the whole topic as a fresh group member and commits,
// doing nothing else with the messages.
func runConsume(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(consumeMode, flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	topic := fs.String("topic", "", "topic to read")
	group := fs.String("group", "", "consumer group (should be fresh)")
	expect := fs.Int64("expect", 0, "messages the topic must hold")
	every := fs.Int64("commit-every", 50000, "commit after this many messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *topic == "" || *group == "" || *every < 1 {
		return errors.New("consume: --topic and --group are required and --commit-every must be positive")
	}
	cfg := config.Default().Kafka
	cfg.Brokers, cfg.Topic, cfg.Group = strings.Split(*brokers, ","), *topic, *group
	ends, err := endOffsets(ctx, cfg)
	if err != nil {
		return err
	}
	res, err := consumeAll(ctx, cfg, ends, *every)
	if err != nil {
		return err
	}
	if *expect > 0 && res.Messages != *expect {
		return fmt.Errorf("consume: read %d messages from %s, expected %d", res.Messages, *topic, *expect)
	}
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return fmt.Errorf("consume: write result: %w", err)
	}
	return nil
}

// endOffsets returns the end offset of every non-empty partition.
func endOffsets(ctx context.Context, cfg config.Kafka) (map[int]int64, error) {
	adm, err := source.NewAdmin(cfg)
	if err != nil {
		return nil, err
	}
	parts, err := adm.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	ends, err := adm.EndOffsets(ctx, parts)
	if err != nil {
		return nil, err
	}
	for p, end := range ends {
		if end == 0 {
			delete(ends, p)
		}
	}
	return ends, nil
}

// consumeAll fetches until every partition is read to its end offset,
// committing every `every` messages and at the end. It reads as cdrpipe
// does, through source.Group and its per-partition readers, so the floor
// has the same reader settings (MinBytes, MaxBytes, MaxWait, queue,
// explicit commits per generation) and cannot drift from them.
func consumeAll(ctx context.Context, cfg config.Kafka, ends map[int]int64, every int64) (res consumeResult, err error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g, err := source.NewGroup(ctx, cfg, log)
	if err != nil {
		return res, err
	}
	defer func() {
		t0 := time.Now()
		g.Close()
		res.CloseSeconds = time.Since(t0).Seconds()
	}()
	a, err := g.Next(ctx)
	if err != nil {
		return res, err
	}
	defer a.Close()
	from := map[int]int64{}
	for _, st := range a.Partitions() {
		from[st.Partition] = max(st.Offset, 0)
	}
	a.Read(from, nil)
	next := make(map[int]source.Commit, len(ends))
	left := len(ends)
	start := time.Now()
	var first time.Time
	for left > 0 {
		m, err := a.Fetch(ctx)
		if err != nil {
			return res, fmt.Errorf("consume after %d messages: %w", res.Messages, err)
		}
		if res.Messages == 0 {
			first = time.Now()
		}
		res.Messages++
		if m.Offset+1 == ends[m.Partition] {
			left--
		}
		next[m.Partition] = source.Commit{Offset: m.Offset + 1}
		if res.Messages%every == 0 || left == 0 {
			if err := a.Commit(ctx, next); err != nil {
				return res, err
			}
			res.Commits++
		}
	}
	res.Seconds = time.Since(start).Seconds()
	res.FromFirstSeconds = time.Since(first).Seconds()
	return res, nil
}
