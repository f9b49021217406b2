package detectors

import "fmt"

// Sequential flags number-range scanning: many callees whose numbers lie
// in runs of near-consecutive values, as diallers produce when they walk
// a block of numbers looking for live lines.
type Sequential struct {
	// MinCallees is how many callees in qualifying runs flag.
	MinCallees int
	// MinRun is the shortest run that counts.
	MinRun int
	// MaxStep is the largest gap between neighbours within a run.
	MaxStep uint64
}

// Name implements Detector.
func (Sequential) Name() string { return "sequential_dialing" }

// NeedsSorted implements Detector.
func (Sequential) NeedsSorted() bool { return true }

// Check implements Detector.
func (d Sequential) Check(w *Window) (Finding, bool) {
	if w.Distinct < d.MinCallees {
		return Finding{}, false
	}
	inRuns, runs := d.InRuns(w.Sorted)
	if inRuns < d.MinCallees {
		return Finding{}, false
	}
	return Finding{
		Score: ratio(float64(inRuns), float64(d.MinCallees)),
		Value: float64(inRuns),
		Evidence: fmt.Sprintf("%d of %d distinct callees in %s lie in %d runs of at least %d numbers stepping by at most %d (threshold %d)",
			inRuns, w.Distinct, human(w.Length), runs, d.MinRun, d.MaxStep, d.MinCallees),
	}, true
}

// InRuns counts the numbers of sorted (ascending, distinct) that lie in
// runs of at least MinRun values whose neighbours differ by at most
// MaxStep, and how many such runs there are.
func (d Sequential) InRuns(sorted []uint64) (inRuns, runs int) {
	start := 0
	for i := 1; i <= len(sorted); i++ {
		if i < len(sorted) && sorted[i]-sorted[i-1] <= d.MaxStep {
			continue
		}
		if n := i - start; n >= d.MinRun {
			inRuns += n
			runs++
		}
		start = i
	}
	return inRuns, runs
}

// Score returns the share of sorted callees that lie in qualifying runs,
// the sequential score kept in caller_stats.
func (d Sequential) Score(sorted []uint64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	n, _ := d.InRuns(sorted)
	return float64(n) / float64(len(sorted))
}
