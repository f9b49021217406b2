// Package schemas holds cdrpipe's data contract: the normalised call detail
// record every stage passes along, and the ClickHouse tables it ends up in
// (the versioned SQL embedded from schemas/sql).
package schemas

import "time"

// Disposition is how a call attempt ended.
type Disposition uint8

// Dispositions, in the order of the ClickHouse Enum8 in 0001_init.sql.
const (
	DispositionUnknown Disposition = iota
	Answered
	NoAnswer
	Busy
	Failed
	Rejected
	Cancelled
)

var dispositionNames = [...]string{"unknown", "answered", "no_answer", "busy", "failed", "rejected", "cancelled"}

// String returns the wire name of d, as used in JSON and in ClickHouse.
func (d Disposition) String() string {
	if int(d) < len(dispositionNames) {
		return dispositionNames[d]
	}
	return "unknown"
}

// ParseDisposition maps a wire name to a Disposition; ok is false for names
// outside the contract.
func ParseDisposition(s string) (d Disposition, ok bool) {
	for i, n := range dispositionNames {
		if i > 0 && n == s {
			return Disposition(i), true
		}
	}
	return DispositionUnknown, false
}

// CDR is one normalised call detail record. Numbers are E.164 with a
// leading '+'; times are UTC; absent optional times are the zero time.
type CDR struct {
	// CallID is the switch's id, or empty. Key is the de-duplication key:
	// CallID when present, otherwise a hash of the call's content, so a
	// re-sent record always maps to the same key.
	CallID string
	Key    string

	// Caller is empty when the caller ID was withheld and no number
	// came with it.
	Caller string
	Callee string
	// Withheld says the caller withheld its caller ID: the switch wrote
	// anonymous, restricted or unavailable, or flagged the presentation
	// as restricted (then Caller still holds the number it carried).
	// Withheld calls are valid; a number's withheld calls are a nuisance
	// signal of their own.
	Withheld bool

	StartTime  time.Time
	AnswerTime time.Time
	EndTime    time.Time

	// Duration is talk time in seconds, 0 when not answered.
	Duration float64
	// RingDuration is seconds from attempt to answer or release.
	RingDuration float64
	Disposition  Disposition
	// Cause is the Q.850 release cause, 0 when unknown.
	Cause uint16

	SwitchID    string
	TrunkID     string
	IMSI        string
	IMEI        string
	CellID      string
	Attestation string
}

// Answered reports whether the call was answered.
func (c *CDR) Answered() bool { return c.Disposition == Answered }

// Origin says where a record came from in Kafka, for rejects and commits.
type Origin struct {
	Topic     string
	Partition int
	Offset    int64
	// Received is when Kafka received the message (its timestamp), or
	// when cdrpipe fetched it if the message has none: a replay of the
	// same message gives the same time.
	Received time.Time
}
