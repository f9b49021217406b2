package main

import (
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/cdrpipe/cdrpipe/internal/mix"
)

// heavyCallees is how many distinct callees each heavy caller reaches in
// the hour: past every volume threshold, below engine.max_callees (4096
// by default), so the exact callee set is what is measured.
const heavyCallees = 2000

// Light callers make one, two or three calls in the hour, in these
// shares (tenths); together 1.5 calls per caller.
var lightShares = [3]int{6, 3, 1}

// hourMs is the span every scenario's calls fall in: one window of the
// default configuration.
const hourMs = int64(time.Hour / time.Millisecond)

// scenario is one workload: how many callers, and whether they are light
// (the bulk of subscribers), heavy (call centres, diallers) or spoofed
// (random caller IDs on an international trunk, one call each: what a
// spoofing campaign looks like to the engine).
type scenario struct {
	name    string
	heavy   bool
	spoofed bool
	callers int
}

// parseScenarios parses a comma-separated list of scenario names.
func parseScenarios(list string) ([]scenario, error) {
	var scs []scenario
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		sc, err := parseScenario(name)
		if err != nil {
			return nil, err
		}
		scs = append(scs, sc)
	}
	if len(scs) == 0 {
		return nil, fmt.Errorf("--scenarios is empty")
	}
	return scs, nil
}

// parseScenario parses "light-1M", "heavy-10k" or "spoofed-1M".
func parseScenario(name string) (scenario, error) {
	kind, count, ok := strings.Cut(name, "-")
	if !ok || kind != "light" && kind != "heavy" && kind != "spoofed" {
		return scenario{}, fmt.Errorf("scenario %q: want light-N, heavy-N or spoofed-N, such as light-1M, heavy-10k or spoofed-1M", name)
	}
	n, err := parseCount(count)
	if err != nil {
		return scenario{}, fmt.Errorf("scenario %q: %w", name, err)
	}
	sc := scenario{name: name, heavy: kind == "heavy", spoofed: kind == "spoofed", callers: n}
	// Numbers are a bijection of the index onto eight digits; heavy
	// callees need a distinct number per (caller, callee) pair.
	if limit := sc.numberLimit(); n > limit {
		return scenario{}, fmt.Errorf("scenario %q: at most %d callers fit the generated numbering", name, limit)
	}
	return sc, nil
}

// parseCount parses a positive count with an optional k or M suffix.
func parseCount(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1_000, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1_000_000, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("caller count %q is not a positive number", s)
	}
	return n * mult, nil
}

func (sc scenario) numberLimit() int {
	if sc.heavy {
		return numberSpace / heavyCallees
	}
	return numberSpace
}

// cdrs is how many records the scenario feeds.
func (sc scenario) cdrs() int {
	switch {
	case sc.heavy:
		return sc.callers * heavyCallees
	case sc.spoofed:
		return sc.callers
	}
	total := 0
	for k, cl := range lightClasses(sc.callers) {
		total += (k + 1) * cl.count
	}
	return total
}

// call is one generated call attempt, before it becomes a record.
type call struct {
	caller, callee uint64 // E.164 digits
	at             int64  // start, Unix milliseconds
	spoofed        bool   // arrives on the international trunk
}

// calls yields the scenario's calls in start-time order, as a live feed
// would deliver them, from t0 to t0 plus an hour. Nothing is held but the
// loop counters, so the generator adds no memory of its own.
func (sc scenario) calls(t0 time.Time) iter.Seq[call] {
	switch {
	case sc.heavy:
		return heavyCalls(sc.callers, t0.UnixMilli())
	case sc.spoofed:
		return spoofedCalls(sc.callers, t0.UnixMilli())
	}
	return lightCalls(sc.callers, t0.UnixMilli())
}

// lightClass is the callers that make the same number of calls.
type lightClass struct {
	first, count int // caller indexes [first, first+count)
}

// lightClasses splits n callers by their number of calls (index k: k+1
// calls).
func lightClasses(n int) [3]lightClass {
	var cls [3]lightClass
	first := 0
	for k, share := range lightShares {
		count := n * share / 10
		if k == len(lightShares)-1 {
			count = n - first
		}
		cls[k] = lightClass{first: first, count: count}
		first += count
	}
	return cls
}

// lightCalls yields the calls of n light callers. The hour is cut into 60
// one-minute slices; a caller with k calls calls once every 60/k minutes,
// starting in slice (its index within its class) mod 60/k. So each slice
// carries the same load, a caller's calls are at least 20 minutes apart
// (they never overlap, which would promote the caller to full state, as
// a handset cannot do that), and the stream is in time order without
// storing anything per caller.
func lightCalls(n int, t0 int64) iter.Seq[call] {
	const slices = 60
	const sliceMs = hourMs / slices
	cls := lightClasses(n)
	return func(yield func(call) bool) {
		var seq uint64
		for s := range slices {
			total := 0
			for k, cl := range cls {
				total += inSlice(cl.count, slices/(k+1), s)
			}
			pos := 0
			for k, cl := range cls {
				period := slices / (k + 1)
				for q := s % period; q < cl.count; q += period {
					seq++
					at := t0 + int64(s)*sliceMs + int64(pos)*sliceMs/int64(total)
					if !yield(call{caller: lightCaller(cl.first + q), callee: lightCallee(seq), at: at}) {
						return
					}
					pos++
				}
			}
		}
	}
}

// spoofedCalls yields n calls evenly over the hour, each from a caller ID
// of its own, as random spoofed IDs come: a domestic mobile number on an
// international trunk, which flags spoofed_origin at once.
func spoofedCalls(n int, t0 int64) iter.Seq[call] {
	return func(yield func(call) bool) {
		for i := range n {
			at := t0 + int64(i)*hourMs/int64(n)
			if !yield(call{caller: lightCaller(i), callee: lightCallee(uint64(i)), at: at, spoofed: true}) {
				return
			}
		}
	}
}

// inSlice counts the q in [0, count) with q mod period == s mod period.
func inSlice(count, period, s int) int {
	r := s % period
	if r >= count {
		return 0
	}
	return (count-r-1)/period + 1
}

// heavyCalls yields n heavy callers each calling heavyCallees distinct
// callees over the hour, round-robin: in round r every caller places its
// r-th call, so all of them stay active for the whole window.
func heavyCalls(n int, t0 int64) iter.Seq[call] {
	roundMs := hourMs / heavyCallees
	return func(yield func(call) bool) {
		for r := range heavyCallees {
			for h := range n {
				at := t0 + int64(r)*roundMs + int64(h)*roundMs/int64(n)
				if !yield(call{caller: heavyCaller(h), callee: heavyCallee(h*heavyCallees + r), at: at}) {
					return
				}
			}
		}
	}
}

// numberSpace is how many numbers fit after each generated prefix: eight
// digits, so every number is an 11-digit national mobile number of the
// default plan (+86 1xx xxxx xxxx).
const numberSpace = 100_000_000

// Prefixes of the generated numbers as E.164 digits times 10^8: light
// callers, their callees, heavy callers, their callees. All are mobile
// prefixes of config.Default().Numbering, so no call is invalid or
// spoofed by numbering alone.
const (
	lightCallerBase  = 86139 * numberSpace
	lightCalleeBase  = 86138 * numberSpace
	heavyCallerBase  = 86135 * numberSpace
	heavyCalleeBase  = 86137 * numberSpace
	scrambleMultiple = 73_939_133 // prime, so coprime with 10^8: a bijection
)

// scramble maps [0, numberSpace) onto itself one to one, so consecutive
// indexes become scattered numbers, as real subscribers are.
func scramble(i int) uint64 {
	return (uint64(i)*scrambleMultiple + 12_345_679) % numberSpace
}

func lightCaller(i int) uint64 { return lightCallerBase + scramble(i) }

// lightCallee picks a random subscriber for call seq.
func lightCallee(seq uint64) uint64 { return lightCalleeBase + mix.Mix64(seq)%numberSpace }

func heavyCaller(i int) uint64 { return heavyCallerBase + scramble(i) }

// heavyCallee gives pair i (caller*heavyCallees + call) its own number, so
// each heavy caller's callees are distinct.
func heavyCallee(i int) uint64 { return heavyCalleeBase + scramble(i) }
