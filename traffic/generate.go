package traffic

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// pcgStream is the fixed PCG stream selector; Config.Seed picks the state.
const pcgStream = 0x9e3779b97f4a7c15

// writeBufferSize batches small line writes into large ones.
const writeBufferSize = 256 << 10

// Lines generates cfg's traffic in memory and returns it one record per
// line, without the newline: the input benchmarks and tests decode.
func Lines(ctx context.Context, cfg Config) ([][]byte, Truth, error) {
	var buf bytes.Buffer
	truth, err := Generate(ctx, cfg, &buf)
	if err != nil {
		return nil, truth, err
	}
	var lines [][]byte
	for line := range bytes.Lines(buf.Bytes()) {
		lines = append(lines, bytes.TrimSuffix(line, []byte("\n")))
	}
	return lines, truth, nil
}

// SampleLines is an hour of the default mix for subscribers from a fixed
// date, for the benchmarks and tests that decode realistic lines whenever
// they run. It also returns a wall clock at which every line is valid,
// the far-future records included.
func SampleLines(ctx context.Context, subscribers int) (lines [][]byte, validAt time.Time, err error) {
	cfg := DefaultConfig()
	cfg.Start = time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	cfg.Subscribers = subscribers
	lines, _, err = Lines(ctx, cfg)
	return lines, cfg.End().Add(FarFutureOffset + time.Hour), err
}

// Generate writes the traffic cfg describes to out as JSON lines, in
// roughly increasing start_time order, and returns what it wrote. The
// output depends only on cfg: Generate never reads the clock. Everything is
// planned in memory first (about 40 bytes per call), then written.
func Generate(ctx context.Context, cfg Config, out io.Writer) (Truth, error) {
	if err := cfg.validate(); err != nil {
		return Truth{}, err
	}
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), pcgStream))
	m := newModel(cfg, r)
	if err := m.build(ctx); err != nil {
		return Truth{}, fmt.Errorf("plan traffic: %w", err)
	}
	w := bufio.NewWriterSize(out, writeBufferSize)
	e := newEmitter(cfg, r, w, m.subs, m.perSwitch)
	if err := e.run(ctx, m.calls, m.future); err != nil {
		return Truth{}, fmt.Errorf("write traffic: %w", err)
	}
	if err := w.Flush(); err != nil {
		return Truth{}, fmt.Errorf("flush traffic: %w", err)
	}
	t := e.truth
	t.Start, t.End = cfg.Start.UTC(), cfg.End().UTC()
	t.Seed = cfg.Seed
	t.Subscribers = len(m.subs)
	t.Planted = m.planted
	t.UniqueValid = t.Lines - t.Malformed - t.Duplicates
	if want := int64(len(m.calls) + len(m.future)); t.UniqueValid != want {
		panic(fmt.Sprintf("BUG: wrote %d unique valid records, planned %d", t.UniqueValid, want))
	}
	if e.perSwitch != m.perSwitch {
		panic(fmt.Sprintf("BUG: switches wrote %v records, planned %v", e.perSwitch, m.perSwitch))
	}
	t.fleetCounts(e.perSwitch, e.enc.CallIDRepeats())
	return t, nil
}

// fleetCounts fills the counts that follow from how many records each
// switch wrote.
func (t *Truth) fleetCounts(perSwitch [NumSwitches]int64, repeats int64) {
	t.CallIDRepeats = repeats
	t.Switches = make(map[string]int64, NumSwitches)
	for i, sw := range fleet {
		n := perSwitch[i]
		t.Switches[sw.ID] = n
		if sw.CallIDs == IDNone {
			t.NoCallID += n
		}
		if sw.Times.Local() {
			t.LocalTimes += n
		}
		if sw.Skew != 0 {
			t.Skewed += n
		}
		if sw.Kind == KindGateway {
			t.FromAbroad += n
		}
	}
}
