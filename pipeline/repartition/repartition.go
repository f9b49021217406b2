// Package repartition carries decoded CDRs from the topic carriers feed
// to cdrpipe's internal topic, partitioned by number, and back: the first
// stage routes a copy of each call to the partition of its caller (for
// the caller's windows) and one to the partition of its callee (for
// callbacks and floods), in Apache Arrow IPC batches, one message per
// target partition and micro-batch, each carrying the first stage's
// event-time progress; the second stage reads them with a consumer group
// of its own, so whichever instance owns a partition sees every call
// that a number's traits depend on, however the carrier keyed its topic.
// One topic carries both sides, each copy marked with its side, so a
// caller's and a callee's copies of a number always land together.
package repartition

import (
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/cdrpipe/cdrpipe/pipeline/engine"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// Copy is one side of a call, as the internal topic carries it.
type Copy struct {
	// CDR holds what detection reads (no IMSI, IMEI or cell: the internal
	// topic carries no more personal data than detection needs).
	CDR  schemas.CDR
	Side engine.Side
	// Late says the first stage found the call too late to count.
	Late bool
	// Partition and Offset are where the call was read from the input
	// topic, kept for the cdrs row.
	Partition int
	Offset    int64
}

// PartitionOf returns the internal partition of number among n: FNV-1a
// of its E.164 form, so every instance routes a number alike.
func PartitionOf(number string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(number))
	return int(h.Sum32() % uint32(n))
}

// Header names of an internal message.
const (
	// HeaderProgress carries the first stage's progress per input
	// partition after the message's copies (see Mark).
	HeaderProgress = "cdrpipe-progress"
	// HeaderInputs is the input topic's partition count.
	HeaderInputs = "cdrpipe-inputs"
)

// Mark is an input partition's event-time progress as the first stage
// saw it after the copies of a message: the partition's frontier (Unix
// seconds) and whether it went silent (released, as a single stage
// releases idle partitions) or was read to its end in a bounded run.
type Mark struct {
	Partition int
	Frontier  int64
	Idle      bool
	Done      bool
}

// FormatMarks renders marks for HeaderProgress: "p:sec[:i][:d]" joined by
// commas.
func FormatMarks(marks []Mark) string {
	var b strings.Builder
	for i, m := range marks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(m.Partition))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(m.Frontier, 10))
		if m.Idle {
			b.WriteString(":i")
		}
		if m.Done {
			b.WriteString(":d")
		}
	}
	return b.String()
}

// ParseMarks reads a HeaderProgress value.
func ParseMarks(s string) ([]Mark, error) {
	if s == "" {
		return nil, nil
	}
	var out []Mark
	for _, e := range strings.Split(s, ",") {
		f := strings.Split(e, ":")
		if len(f) < 2 {
			return nil, &FormatError{What: "progress entry " + strconv.Quote(e)}
		}
		p, err1 := strconv.Atoi(f[0])
		sec, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || p < 0 {
			return nil, &FormatError{What: "progress entry " + strconv.Quote(e)}
		}
		m := Mark{Partition: p, Frontier: sec}
		for _, flag := range f[2:] {
			switch flag {
			case "i":
				m.Idle = true
			case "d":
				m.Done = true
			default:
				return nil, &FormatError{What: "progress flag " + strconv.Quote(flag)}
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// FormatError says an internal message is not what the first stage
// writes.
type FormatError struct{ What string }

func (e *FormatError) Error() string { return "internal message: bad " + e.What }
