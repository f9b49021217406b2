package traffic

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Planted kinds, named as the detectors that must flag them.
const (
	KindFanOut     = "fan_out"
	KindShortCalls = "short_calls"
	KindSequential = "sequential_dialing"
)

// Planted is one nuisance caller that Generate planted.
type Planted struct {
	// Number is the caller in E.164 with a leading '+'.
	Number string `json:"number"`
	// Kind is KindFanOut, KindShortCalls or KindSequential.
	Kind string `json:"kind"`
	// Calls counts its distinct calls (re-sent copies not included).
	Calls int `json:"calls"`
	// DistinctCallees counts the distinct numbers it called.
	DistinctCallees int `json:"distinct_callees"`
	// FirstCall and LastCall bound its burst by start_time (true time:
	// its switch's clock may be off, see Switch).
	FirstCall time.Time `json:"first_call"`
	LastCall  time.Time `json:"last_call"`
	// Switch is the id of its home switch, which writes all its calls.
	Switch string `json:"switch"`
}

// Truth is what Generate wrote, for checking what the pipeline flagged and
// counted. Counts are measured while writing, so they hold even when the
// config asked for something the window could not fit.
type Truth struct {
	// Start and End bound the traffic window (End exclusive); only the
	// far-future records lie outside it.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Seed is the Config.Seed the traffic came from.
	Seed int64 `json:"seed"`
	// Subscribers counts the ordinary callers.
	Subscribers int `json:"subscribers"`
	// Planted lists the nuisance callers in the order they were planted.
	Planted []Planted `json:"planted"`

	// Lines counts every line written.
	Lines int64 `json:"lines"`
	// Malformed counts lines the pipeline must reject; no two are equal.
	Malformed int64 `json:"malformed"`
	// Duplicates counts extra byte-identical copies of valid records.
	Duplicates int64 `json:"duplicates"`
	// UniqueValid counts distinct valid CDRs: Lines - Malformed -
	// Duplicates. It includes the very late and far-future ones.
	UniqueValid int64 `json:"unique_valid"`
	// VeryLate counts records emitted at least 30 minutes of event time
	// after the latest start_time already written, beyond the 5-minute
	// allowed lateness. All are ordinary subscribers' calls.
	VeryLate int64 `json:"very_late"`
	// FarFuture counts records dated FarFutureOffset after End, written in
	// the middle of the stream.
	FarFuture int64 `json:"far_future"`
	// LateDuplicates counts the Duplicates written more than 5 minutes of
	// event time behind the stream: a pipeline may count these as late
	// drops rather than as duplicates.
	LateDuplicates int64 `json:"late_duplicates"`

	// The fleet's habits, counted over the UniqueValid records.

	// Withheld counts records whose caller withheld its caller ID, with
	// or without the number; WithheldNoNumber those of them written with
	// a word (anonymous, restricted, unavailable) instead of the number,
	// which no detector can count for any caller.
	Withheld         int64 `json:"withheld"`
	WithheldNoNumber int64 `json:"withheld_no_number"`
	// CallIDRepeats counts records whose call_id also occurs on another
	// switch, for another call: each must be stored once, none of them
	// taken for a re-send of another.
	CallIDRepeats int64 `json:"call_id_repeats"`
	// NoCallID counts records without a call_id (de-duplicated on their
	// content).
	NoCallID int64 `json:"no_call_id"`
	// LocalTimes counts records whose times are local wall-clock times
	// without an offset (input.switch_zones must name their zones).
	LocalTimes int64 `json:"local_times"`
	// Skewed counts records from switches whose clock is off.
	Skewed int64 `json:"skewed"`
	// FromAbroad counts calls from abroad, written by the gateway.
	FromAbroad int64 `json:"from_abroad"`
	// Switches counts records per switch id.
	Switches map[string]int64 `json:"switches"`
}

// Kind returns the planted kind of number (E.164 with '+'), or "" for an
// ordinary subscriber. It scans the planted list, which is short.
func (t *Truth) Kind(number string) string {
	for _, p := range t.Planted {
		if p.Number == number {
			return p.Kind
		}
	}
	return ""
}

// WriteJSON writes t as indented JSON.
func (t *Truth) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}

// ReadTruth reads a Truth written by WriteJSON.
func ReadTruth(r io.Reader) (Truth, error) {
	var t Truth
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return Truth{}, fmt.Errorf("read truth: %w", err)
	}
	return t, nil
}
