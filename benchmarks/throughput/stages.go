package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/pprof/profile"
)

// stage is a part of cdrpipe's work, told by the functions on a CPU
// sample's stack.
type stage struct {
	name     string
	prefixes []string
}

// stages are tried on each frame from the innermost out: a sample counts
// for the innermost stage on its stack, so an allocation made while
// decoding is decoding's, and the garbage collector's own workers are the
// collector's.
var stages = []stage{
	{"gc", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcAssistAlloc"}},
	{"fetch", []string{"github.com/segmentio/kafka-go", "github.com/cdrpipe/cdrpipe/pipeline/source"}},
	{"decode", []string{"github.com/cdrpipe/cdrpipe/pipeline/decode", "github.com/cdrpipe/cdrpipe/pipeline/formats", "github.com/cdrpipe/cdrpipe/privacy"}},
	{"engine", []string{"github.com/cdrpipe/cdrpipe/pipeline/engine", "github.com/cdrpipe/cdrpipe/detectors", "github.com/cdrpipe/cdrpipe/pipeline/eventtime"}},
	{"sink", []string{"github.com/ClickHouse/", "github.com/cdrpipe/cdrpipe/pipeline/sink"}},
	{"repartition", []string{"github.com/cdrpipe/cdrpipe/pipeline/repartition"}},
	{"run loop", []string{"github.com/cdrpipe/cdrpipe/pipeline."}},
}

// stageNames are the stages in the order they are printed, then the rest.
var stageNames = []string{"fetch", "decode", "engine", "sink", "repartition", "run loop", "gc", "other"}

// stageSeconds reads a CPU profile and sums its CPU seconds per stage.
func stageSeconds(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("cpu profile %s: no cpu nanoseconds samples", path)
	}
	out := map[string]float64{}
	for _, s := range p.Sample {
		out[stageOf(s)] += float64(s.Value[idx]) / 1e9
	}
	return out, nil
}

// stageOf names the innermost stage on a sample's stack.
func stageOf(s *profile.Sample) string {
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function == nil {
				continue
			}
			for _, st := range stages {
				for _, p := range st.prefixes {
					if strings.HasPrefix(line.Function.Name, p) {
						return st.name
					}
				}
			}
		}
	}
	return "other"
}
