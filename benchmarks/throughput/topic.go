package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// produced is how a file went to Kafka.
type produced struct {
	Messages int64
	Elapsed  time.Duration
}

// PerSecond is the produce rate.
func (p produced) PerSecond() float64 { return perSecond(p.Messages, p.Elapsed) }

// produceFile creates topic and sends every line of path to it the way
// `cdrpipe produce` does (traffic.Produce: keyed by caller, synchronous
// slices).
func produceFile(ctx context.Context, brokers []string, topic string, partitions int, path string) (produced, error) {
	if err := source.EnsureTopic(ctx, brokers, topic, partitions); err != nil {
		return produced{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return produced{}, fmt.Errorf("open traffic: %w", err)
	}
	defer f.Close()
	start := time.Now()
	n, err := traffic.Produce(ctx, traffic.ProduceConfig{Brokers: brokers, Topic: topic}, f, nil)
	if err != nil {
		return produced{}, fmt.Errorf("produce %s to %s: %w", path, topic, err)
	}
	return produced{Messages: n, Elapsed: time.Since(start)}, nil
}

// deleteTopic removes a benchmark topic: a 2M-CDR run leaves about 600 MB
// in the broker otherwise.
func deleteTopic(ctx context.Context, brokers []string, topic string) error {
	c := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 30 * time.Second}
	resp, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err == nil {
		err = resp.Errors[topic]
	}
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	return nil
}

// perSecond divides, returning 0 for an empty interval.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
