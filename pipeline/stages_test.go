package pipeline

import (
	"context"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/pipeline/repartition"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

// internalTopic is the internal topic the two-stage tests claim.
const internalTopic = "cdrs-repartition"

// routeAll runs the first stage over byPart's messages (as runOver
// would, in an order seed picks) and returns what it wrote to each of n
// internal partitions, with offsets.
func routeAll(t testing.TB, cfg config.Config, byPart [][]kafka.Message, n int, seed uint64) [][]kafka.Message {
	t.Helper()
	out := make([][]kafka.Message, n)
	write := func(_ context.Context, msgs ...kafka.Message) error {
		for _, m := range msgs {
			m.Topic, m.Offset = internalTopic, int64(len(out[m.Partition]))
			out[m.Partition] = append(out[m.Partition], m)
		}
		return nil
	}
	pub := repartition.NewPublisherFunc(write, n, len(byPart))
	r := ownerOf(t, cfg, Options{Stage: Route, Publisher: pub}, len(byPart), nil)
	drive(t, r, byPart, make([]int, len(byPart)), -1, seed, 500, 1024, newOutcome())
	r.publish(context.Background(), true)
	return out
}

// detectOver runs instances second stages over the internal partitions,
// each owning every instances-th, and merges what they wrote.
func detectOver(t testing.TB, cfg config.Config, internal [][]kafka.Message, instances int, seed uint64) *outcome {
	t.Helper()
	o := newOutcome()
	for i := range instances {
		var mine [][]kafka.Message
		var parts []int
		for q := i; q < len(internal); q += instances {
			mine = append(mine, internal[q])
			parts = append(parts, q)
		}
		// drive reads partitions by index: renumber them 0..len(mine)-1,
		// since nothing in the second stage depends on a partition's
		// number.
		for k := range mine {
			for j := range mine[k] {
				mine[k][j].Partition = k
			}
		}
		r := detectRunner(t, cfg, len(mine), nil)
		drive(t, r, mine, make([]int, len(mine)), -1, seed+uint64(i), 7, 3, o)
		for k := range mine {
			for j := range mine[k] {
				mine[k][j].Partition = parts[k]
			}
		}
	}
	return o
}

// TestTwoStagesGiveOneInstancesVerdicts routes the model's traffic, spread
// over the input partitions at random (no keying), through the first
// stage, then detects over the internal topic with one to four
// instances, each reading its internal partitions in an order of its
// own: the flags and caller stats equal those of one instance reading
// the input whole.
func TestTwoStagesGiveOneInstancesVerdicts(t *testing.T) {
	t.Run("traits", func(t *testing.T) {
		cfg, byPart := traits(t, 4)
		twoStages(t, cfg, byPart)
	})
	t.Run("switches", func(t *testing.T) {
		if testing.Short() {
			t.Skip("generates three hours of traffic")
		}
		// Twenty switches, clocks off, records late and very late, spread
		// over the partitions at random.
		cfg, byPart := model(t, 20000, 3, 4, false)
		twoStages(t, cfg, byPart)
	})
}

func twoStages(t *testing.T, cfg config.Config, byPart [][]kafka.Message) {
	ref := runOver(t, cfg, byPart, 1, 2000, 2048)
	if len(ref.pairs) == 0 {
		t.Fatal("the reference run flagged nothing")
	}
	for _, tc := range []struct {
		internal, instances int
		seed                uint64
	}{{6, 1, 1}, {6, 2, 2}, {6, 3, 3}, {5, 4, 4}} {
		internal := routeAll(t, cfg, byPart, tc.internal, tc.seed)
		got := detectOver(t, cfg, internal, tc.instances, tc.seed)
		if d := diff(ref, got); d != "" {
			t.Errorf("%d internal partitions, %d instances, differ from one instance reading the input whole:\n%s", tc.internal, tc.instances, d)
		}
	}
}

// detectRunner makes a second stage that owns internal partitions 0 to
// parts-1, resuming from the progress saved in commits.
func detectRunner(t testing.TB, cfg config.Config, parts int, commits map[int]source.Commit) *Runner {
	t.Helper()
	return ownerOf(t, cfg, Options{Stage: Detect, Internal: internalTopic}, parts, commits)
}

// TestTwoStagesRestarts kills the second stage twice at random points and
// resumes it from what it would have committed: the windows' flags and
// stats are those of a run never stopped.
func TestTwoStagesRestarts(t *testing.T) {
	cfg, byPart := traits(t, 4)
	internal := routeAll(t, cfg, byPart, 6, 1)
	ref := detectOver(t, cfg, internal, 1, 1)
	restartsOf(t, internal, ref, func(commits map[int]source.Commit) *Runner {
		return detectRunner(t, cfg, len(internal), commits)
	})
}
