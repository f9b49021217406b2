package detectors

// Daily is a volume trait judged over a whole day: low and slow callers
// who stay under every hourly threshold. It flags as D does, under D's
// name with "daily_" before it, so its rows do not replace the hourly
// window's that starts at midnight.
type Daily struct {
	D Detector
}

// Name implements Detector.
func (d Daily) Name() string { return "daily_" + d.D.Name() }

// NeedsSorted implements Detector.
func (d Daily) NeedsSorted() bool { return d.D.NeedsSorted() }

// Check implements Detector.
func (d Daily) Check(w *Window) (Finding, bool) { return d.D.Check(w) }
