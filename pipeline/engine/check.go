package engine

import (
	"github.com/cdrpipe/cdrpipe/detectors"
	"github.com/cdrpipe/cdrpipe/pipeline/decode"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Checks and emission: a window's summary for the detectors, flags when a
// threshold is crossed and again with the whole window when it closes,
// no_callback after its grace, and caller_stats rows.

// summary builds the detector view of window k in the shard's scratch
// view (detectors take a pointer, which would move a fresh one to the
// heap on every check). closing asks for the parts only the final view
// needs (callbacks). The view is valid until the next summary.
func (s *shard) summary(h *heavy, wn *win, closing bool) *detectors.Window {
	p := s.p
	w := &s.view
	*w = detectors.Window{Length: p.size, Distinct: int(wn.distinct), Mobile: h.mobile, Closing: closing}
	a := &wn.agg
	w.Calls, w.Answered, w.Short = int(a.calls), int(a.answered), int(a.short)
	w.TalkSeconds, w.TalkSquares = a.talk, a.talkSq
	w.OneRing, w.Invalid, w.Spoofed, w.BadID = int(a.oneRing), int(a.invalid), int(a.spoofed), int(a.badID)
	w.MaxConcurrent, w.PeakPerMinute = int(a.maxConc), int(a.peakMin)
	if h.overflow != nil {
		w.Distinct += int(s.overflowDistinct(h, wn))
	}
	if closing {
		s.gaps(h, wn.start, w)
		mask := windowMask(wn.start, p.w)
		for c := range h.calledBack {
			if m := h.callees.find(c); m != nil && *m&mask != 0 {
				w.Callbacks++
			}
		}
	}
	return w
}

// overflowDistinct estimates the callees the window's buckets kept only
// in their sketches, once per change of the caller's sketches.
func (s *shard) overflowDistinct(h *heavy, wn *win) int32 {
	if wn.sketchKnown && wn.sketchAt == h.sketchGen {
		return wn.sketchEst
	}
	p := s.p
	sketch, found := &s.sketch, false
	for b := wn.start; b < wn.start+p.w; b++ {
		slot := mod(b, p.ring)
		if h.overflow[slot] == nil || h.overSlot[slot] != b {
			continue
		}
		if !found {
			*sketch, found = *h.overflow[slot], true
			continue
		}
		sketch.merge(h.overflow[slot])
	}
	wn.sketchEst, wn.sketchAt, wn.sketchKnown = 0, h.sketchGen, true
	if found {
		wn.sketchEst = int32(sketch.estimate() + 0.5)
	}
	return wn.sketchEst
}

// check runs the detectors not yet flagged on window k.
func (s *shard) check(h *heavy, k int32, numberText string) {
	p := s.p
	wn := &h.wins[mod(k, p.ring)]
	if !wn.valid || wn.start != k || wn.flagged == p.allFlagged {
		return
	}
	w := s.summary(h, wn, false)
	for i, d := range p.detectors {
		bit := uint16(1) << i
		if wn.flagged&bit != 0 {
			continue
		}
		if d.NeedsSorted() {
			if !wn.seqDirty || w.Distinct < p.seqMin {
				continue
			}
			wn.seqDirty = false
			s.sorted = h.sortedIn(k, p.w, s.sorted)
			w.Sorted = s.sorted
		}
		f, ok := d.Check(w)
		if !ok {
			continue
		}
		wn.flagged |= bit
		s.flag(numberText, d, k, f, false)
	}
}

// flag emits a flag of window k. final says the window is closed and the
// flag measured all of it (or is judged only then): such a row replaces
// the one written when the threshold was crossed. flagged_at is the
// window's start, a time of the input, so a replay writes the same row and
// renews nothing.
func (s *shard) flag(numberText string, d detectors.Detector, k int32, f detectors.Finding, final bool) {
	s.out.Flags = append(s.out.Flags, schemas.Flag{
		Number:      numberText,
		Detector:    d.Name(),
		WindowStart: s.p.time(k),
		WindowEnd:   s.p.time(k + s.p.w),
		Score:       f.Score,
		Value:       f.Value,
		Evidence:    f.Evidence,
		FlaggedAt:   s.p.time(k),
		Final:       final,
	})
}

// withdraw emits the closing row of a flag window k no longer shows.
func (s *shard) withdraw(numberText string, d detectors.Detector, k int32) {
	s.out.Flags = append(s.out.Flags, schemas.Flag{
		Number:      numberText,
		Detector:    d.Name(),
		WindowStart: s.p.time(k),
		WindowEnd:   s.p.time(k + s.p.w),
		Evidence:    "withdrawn: the whole window no longer shows it",
		FlaggedAt:   s.p.time(k),
		Final:       true,
		Withdrawn:   true,
	})
}

// mayRun reports whether window wn can hold a run of sequential callees:
// not when no callee ever landed next to another. Sorting the callees of
// every closing window of a call centre would cost more than the rest of
// its calls' work.
func (s *shard) mayRun(wn *win) bool {
	return wn.neighbours || s.p.seq.MinRun < 2
}

// final runs every detector on the whole of a closing window. Flags
// already written are rewritten with what the whole window measured, so
// the evidence says "412 callees", not the 50 that first crossed the
// threshold; the row replaces the first one (same key, a higher version).
// Detectors that need the final view (no_callback) flag here.
func (s *shard) final(h *heavy, wn *win, w *detectors.Window, numberText string) {
	for i, d := range s.p.detectors {
		if i == s.p.noCallback {
			continue // judged after the callback grace (judge)
		}
		if d.NeedsSorted() {
			if w.Distinct < s.p.seqMin || !s.mayRun(wn) {
				continue
			}
			s.sorted = h.sortedIn(wn.start, s.p.w, s.sorted)
			w.Sorted = s.sorted
		}
		f, ok := d.Check(w)
		if !ok {
			if wn.flagged&(1<<i) != 0 {
				// Flagged when crossed, not by the whole window: the
				// closing row withdraws it, so the flags that stand
				// depend on the window's calls only.
				s.withdraw(numberText, d, wn.start)
			}
			continue
		}
		wn.flagged |= 1 << i
		s.flag(numberText, d, wn.start, f, true)
	}
}

// judge decides no_callback on h's windows starting at or before
// through, once their callees had the grace period to call back.
func (s *shard) judge(h *heavy, through int32) {
	p := s.p
	if p.noCallback < 0 {
		return
	}
	d := p.detectors[p.noCallback]
	from := max(h.judged+1, h.top-p.ring-p.w)
	for k := from; k <= through && k <= h.top; k++ {
		wn := &h.wins[mod(k, p.ring)]
		if !wn.valid || wn.start != k {
			continue
		}
		w := s.summary(h, wn, true)
		f, ok := d.Check(w)
		if !ok {
			continue
		}
		wn.flagged |= 1 << p.noCallback
		s.flag(decode.KeyNumber(h.number), d, k, f, true)
	}
	h.judged = max(h.judged, through)
}

// stats writes the caller_stats row of window k when it has the volume.
// Its updated_at is the window's end, a time of the input, so a replay
// writes the same row.
func (s *shard) stats(h *heavy, k int32, numberText string) {
	p := s.p
	wn := &h.wins[mod(k, p.ring)]
	if !wn.valid || wn.start != k {
		return
	}
	w := s.summary(h, wn, true)
	if numberText == "" {
		numberText = decode.KeyNumber(h.number)
	}
	s.final(h, wn, w, numberText)
	if w.Calls < p.statsMin {
		return
	}
	if w.Sorted == nil && s.mayRun(wn) { // final did not sort them
		s.sorted = h.sortedIn(k, p.w, s.sorted)
		w.Sorted = s.sorted
	}
	row := schemas.CallerStats{
		Caller:          numberText,
		WindowStart:     p.time(k),
		WindowEnd:       p.time(k + p.w),
		Calls:           uint32(w.Calls),
		Answered:        uint32(w.Answered),
		DistinctCallees: uint32(w.Distinct),
		ShortCalls:      uint32(w.Short),
		SequentialScore: p.seq.Score(w.Sorted),
		UpdatedAt:       p.time(k + p.w),
	}
	if w.Answered > 0 {
		row.AvgTalk = w.TalkSeconds / float64(w.Answered)
	}
	s.out.Stats = append(s.out.Stats, row)
}
