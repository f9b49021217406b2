package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// memSample is the process's memory at one moment, after a collection.
type memSample struct {
	HeapAlloc uint64 // bytes of live objects
	HeapInuse uint64 // bytes of spans holding objects
	RSS       uint64 // resident set, bytes (VmRSS)
}

// sample collects garbage and reads the heap and the resident set.
// release also returns freed pages to the OS, for the figures taken when
// nothing should be held: otherwise RSS lags until the scavenger runs.
func sample(release bool) (memSample, error) {
	runtime.GC()
	if release {
		debug.FreeOSMemory()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, err := vmRSS()
	if err != nil {
		return memSample{}, err
	}
	return memSample{HeapAlloc: ms.HeapAlloc, HeapInuse: ms.HeapInuse, RSS: rss}, nil
}

// vmRSS reads the resident set size from /proc/self/status.
func vmRSS() (uint64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read resident set size: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmRSS line %q: %w", sc.Text(), err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS line in /proc/self/status")
}

// gogc is the collector's target as set for this process, for the record:
// it decides how far RSS runs ahead of the live heap.
func gogc() string {
	if v := os.Getenv("GOGC"); v != "" {
		return v
	}
	return "100"
}

// result is one scenario's figures, passed from child to parent as JSON.
type result struct {
	Scenario string
	Callers  int
	CDRs     int
	Shards   int
	GOGC     string

	Baseline memSample // before the engine was built
	Fed      memSample // after the hour was fed
	Closed   memSample // after every window closed

	FedCallers, FedHeavy       int // engine.Size after feeding
	ClosedCallers, ClosedHeavy int // engine.Size after closing
	Feed, Close                tally

	FeedSeconds   float64 // generating and processing the hour
	EngineSeconds float64 // of which in Prepare and Process
	CloseSeconds  float64
	WallSeconds   float64 // the whole child, set by the parent
	PeakRSS       uint64  // bytes, from the child's rusage, set by the parent
}

// perCaller is what after costs over the baseline, per scenario caller.
func (r *result) perCaller(after, base uint64) float64 {
	return (float64(after) - float64(base)) / float64(r.Callers)
}

// released is the share of what feeding added that closing gave back.
func released(base, fed, closed uint64) float64 {
	added := float64(fed) - float64(base)
	if added <= 0 {
		return 0
	}
	return (float64(fed) - float64(closed)) / added
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
