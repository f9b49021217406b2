package sink

import (
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// Batch buffers rows for every table as typed columns, so an insert
// appends whole slices without per-row reflection. Reset keeps capacity.
type Batch struct {
	cdrs    cdrColumns
	flags   flagColumns
	stats   statsColumns
	rejects rejectColumns
	trunks  groupColumns // flagged_trunks
	ranges  groupColumns // range_flags
	days    dayColumns   // day_windows
}

// Rows returns the number of rows buffered across all tables.
func (b *Batch) Rows() int {
	return len(b.cdrs.callKey) + len(b.flags.number) + len(b.stats.caller) + len(b.rejects.topic) +
		len(b.trunks.detector) + len(b.ranges.detector) + len(b.days.caller)
}

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.cdrs.reset()
	b.flags.reset()
	b.stats.reset()
	b.rejects.reset()
	b.trunks.reset()
	b.ranges.reset()
	b.days.reset()
}

type cdrColumns struct {
	callKey, callID, caller, callee []string
	start                           []time.Time
	startMS                         []uint16
	// answer and end hold the zero time for NULL. The driver takes a
	// Nullable column as a slice of pointers; columns makes them when the
	// batch is sent, pointing into these slices, so that AddCDR does not
	// allocate a time per row.
	answer, end       []time.Time
	answerPtr, endPtr []*time.Time
	duration, ring    []float64
	// disposition holds Enum8 values (schemas.Disposition follows the
	// Enum8 of the cdrs table), which the driver appends without the map
	// lookup per row that names would cost.
	disposition                              []int8
	cause                                    []uint16
	switchID, trunkID, imsi, imei, cell, att []string
	withheld                                 []uint8
	topic                                    []string
	partition                                []uint32
	offset                                   []uint64
	// storedTopic, storedPartition and storedOffset name the message
	// whose processing stored the row: the input message itself, or the
	// internal one that carried it (two stages).
	storedTopic     []string
	storedPartition []uint32
	storedOffset    []uint64
}

// AddCDR buffers one cdrs row, read from offset of partition of topic. It
// does not allocate once the batch's slices have grown to the batch size.
func (b *Batch) AddCDR(c *schemas.CDR, topic string, partition int, offset int64) {
	b.AddCDRVia(c, topic, partition, offset, topic, partition, offset)
}

// AddCDRVia buffers one cdrs row read from offset of partition of topic
// and carried to the stage that stores it by the message at viaOffset of
// viaPartition of viaTopic (the internal topic).
func (b *Batch) AddCDRVia(c *schemas.CDR, topic string, partition int, offset int64, viaTopic string, viaPartition int, viaOffset int64) {
	t := &b.cdrs
	t.storedTopic = append(t.storedTopic, viaTopic)
	t.storedPartition = append(t.storedPartition, uint32(viaPartition))
	t.storedOffset = append(t.storedOffset, uint64(viaOffset))
	t.callKey = append(t.callKey, c.Key)
	t.callID = append(t.callID, c.CallID)
	t.caller = append(t.caller, c.Caller)
	t.callee = append(t.callee, c.Callee)
	t.start = append(t.start, c.StartTime)
	t.startMS = append(t.startMS, uint16(c.StartTime.Nanosecond()/1e6))
	t.answer = append(t.answer, c.AnswerTime)
	t.end = append(t.end, c.EndTime)
	t.duration = append(t.duration, c.Duration)
	t.ring = append(t.ring, c.RingDuration)
	t.disposition = append(t.disposition, enumDisposition(c.Disposition))
	t.cause = append(t.cause, c.Cause)
	t.switchID = append(t.switchID, c.SwitchID)
	t.trunkID = append(t.trunkID, c.TrunkID)
	t.imsi = append(t.imsi, c.IMSI)
	t.imei = append(t.imei, c.IMEI)
	t.cell = append(t.cell, c.CellID)
	t.att = append(t.att, c.Attestation)
	t.withheld = append(t.withheld, boolByte(c.Withheld))
	t.topic = append(t.topic, topic)
	t.partition = append(t.partition, uint32(partition))
	t.offset = append(t.offset, uint64(offset))
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// enumDisposition is d's value in the Enum8 of the cdrs table. A value
// outside the contract is written as 'unknown', as its name is: the driver
// would reject the whole insert over it, and retry it for ever.
func enumDisposition(d schemas.Disposition) int8 {
	if d > schemas.Cancelled {
		return int8(schemas.DispositionUnknown)
	}
	return int8(d)
}

// nullable appends to dst a pointer to each time of ts, or nil (NULL) for
// the zero time. The pointers stay valid until the batch is reset.
func nullable(dst []*time.Time, ts []time.Time) []*time.Time {
	for i := range ts {
		var p *time.Time
		if !ts[i].IsZero() {
			p = &ts[i]
		}
		dst = append(dst, p)
	}
	return dst
}

func (t *cdrColumns) reset() {
	*t = cdrColumns{
		callKey: t.callKey[:0], callID: t.callID[:0], caller: t.caller[:0], callee: t.callee[:0],
		start: t.start[:0], startMS: t.startMS[:0], answer: t.answer[:0], end: t.end[:0],
		answerPtr: t.answerPtr[:0], endPtr: t.endPtr[:0],
		duration: t.duration[:0], ring: t.ring[:0], disposition: t.disposition[:0], cause: t.cause[:0],
		switchID: t.switchID[:0], trunkID: t.trunkID[:0], imsi: t.imsi[:0], imei: t.imei[:0],
		cell: t.cell[:0], att: t.att[:0], withheld: t.withheld[:0], topic: t.topic[:0], partition: t.partition[:0], offset: t.offset[:0],
		storedTopic: t.storedTopic[:0], storedPartition: t.storedPartition[:0], storedOffset: t.storedOffset[:0],
	}
}

// columns returns the columns in cdrInsert order, as the driver appends
// them. It may be called again for a retry: the pointer columns are
// rebuilt, not appended to.
func (t *cdrColumns) columns() []any {
	t.answerPtr = nullable(t.answerPtr[:0], t.answer)
	t.endPtr = nullable(t.endPtr[:0], t.end)
	return []any{t.callKey, t.callID, t.caller, t.callee, t.start, t.startMS, t.answerPtr, t.endPtr,
		t.duration, t.ring, t.disposition, t.cause, t.switchID, t.trunkID, t.imsi, t.imei, t.cell, t.att,
		t.withheld, t.topic, t.partition, t.offset, t.storedTopic, t.storedPartition, t.storedOffset}
}

const cdrInsert = "(call_key, call_id, caller, callee, start_time, start_ms, answer_time, end_time, duration, ring_duration, " +
	"disposition, cause, switch_id, trunk_id, imsi, imei, cell_id, attestation, withheld, kafka_topic, kafka_partition, kafka_offset, stored_topic, stored_partition, stored_offset)"

type flagColumns struct {
	number, detector      []string
	start, end, flaggedAt []time.Time
	score, value          []float64
	evidence              []string
	version, withdrawn    []uint8
}

// AddFlag buffers one row of flags (flagged_numbers).
func (b *Batch) AddFlag(f *schemas.Flag) {
	t := &b.flags
	t.number = append(t.number, f.Number)
	t.detector = append(t.detector, f.Detector)
	t.start = append(t.start, f.WindowStart)
	t.end = append(t.end, f.WindowEnd)
	t.score = append(t.score, f.Score)
	t.value = append(t.value, f.Value)
	t.evidence = append(t.evidence, f.Evidence)
	t.flaggedAt = append(t.flaggedAt, f.FlaggedAt)
	t.version = append(t.version, boolByte(f.Final))
	t.withdrawn = append(t.withdrawn, boolByte(f.Withdrawn))
}

func (t *flagColumns) reset() {
	*t = flagColumns{number: t.number[:0], detector: t.detector[:0], start: t.start[:0], end: t.end[:0],
		flaggedAt: t.flaggedAt[:0], score: t.score[:0], value: t.value[:0], evidence: t.evidence[:0], version: t.version[:0], withdrawn: t.withdrawn[:0]}
}

func (t *flagColumns) columns() []any {
	return []any{t.number, t.detector, t.start, t.end, t.score, t.value, t.evidence, t.flaggedAt, t.version, t.withdrawn}
}

type groupColumns struct {
	trunk, sw, prefix, detector []string
	start, end                  []time.Time
	score, value                []float64
	evidence                    []string
	numbers                     [][]string
}

// AddGroup buffers the flag of a trunk (flagged_trunks) or of a number
// block (range_flags, when it has a prefix).
func (b *Batch) AddGroup(f *schemas.GroupFlag) {
	t := &b.trunks
	if f.Prefix != "" {
		t = &b.ranges
	}
	t.trunk = append(t.trunk, f.TrunkID)
	t.sw = append(t.sw, f.SwitchID)
	t.prefix = append(t.prefix, f.Prefix)
	t.detector = append(t.detector, f.Detector)
	t.start = append(t.start, f.WindowStart)
	t.end = append(t.end, f.WindowEnd)
	t.score = append(t.score, f.Score)
	t.value = append(t.value, f.Value)
	t.evidence = append(t.evidence, f.Evidence)
	t.numbers = append(t.numbers, f.Numbers)
}

func (t *groupColumns) reset() {
	*t = groupColumns{trunk: t.trunk[:0], sw: t.sw[:0], prefix: t.prefix[:0], detector: t.detector[:0], start: t.start[:0],
		end: t.end[:0], score: t.score[:0], value: t.value[:0], evidence: t.evidence[:0], numbers: t.numbers[:0]}
}

func (t *groupColumns) columns() []any {
	return []any{t.trunk, t.detector, t.start, t.end, t.score, t.value, t.evidence, t.numbers}
}

// rangeColumns are the columns of range_flags: a flagged_trunks row's,
// and the block's prefix and switch.
func (t *groupColumns) rangeColumns() []any {
	return append(t.columns(), t.prefix, t.sw)
}

type dayColumns struct {
	caller, callees               []string
	dayStart, dayEnd, windowStart []time.Time
	calls, answered, short        []uint32
	talk                          []float64
}

// AddDay buffers one row of day_windows.
func (b *Batch) AddDay(d *schemas.DayWindow) {
	t := &b.days
	t.caller = append(t.caller, d.Caller)
	t.dayStart = append(t.dayStart, d.DayStart)
	t.dayEnd = append(t.dayEnd, d.DayEnd)
	t.windowStart = append(t.windowStart, d.WindowStart)
	t.calls = append(t.calls, d.Calls)
	t.answered = append(t.answered, d.Answered)
	t.short = append(t.short, d.Short)
	t.talk = append(t.talk, d.Talk)
	t.callees = append(t.callees, d.Callees)
}

func (t *dayColumns) reset() {
	*t = dayColumns{caller: t.caller[:0], callees: t.callees[:0], dayStart: t.dayStart[:0], dayEnd: t.dayEnd[:0],
		windowStart: t.windowStart[:0], calls: t.calls[:0], answered: t.answered[:0], short: t.short[:0], talk: t.talk[:0]}
}

func (t *dayColumns) columns() []any {
	return []any{t.caller, t.dayStart, t.dayEnd, t.windowStart, t.calls, t.answered, t.short, t.talk, t.callees}
}

const dayInsert = "(caller, day_start, day_end, window_start, calls, answered, short_calls, talk, callees)"

// Days returns the day_windows rows buffered (for tests and tools).
func (b *Batch) Days() []schemas.DayWindow {
	t := &b.days
	out := make([]schemas.DayWindow, len(t.caller))
	for i := range out {
		out[i] = schemas.DayWindow{Caller: t.caller[i], DayStart: t.dayStart[i], DayEnd: t.dayEnd[i], WindowStart: t.windowStart[i],
			Calls: t.calls[i], Answered: t.answered[i], Short: t.short[i], Talk: t.talk[i], Callees: t.callees[i]}
	}
	return out
}

const trunkInsert = "(trunk_id, detector, window_start, window_end, score, value, evidence, numbers)"

const rangeInsert = "(trunk_id, detector, window_start, window_end, score, value, evidence, numbers, prefix, switch_id)"

const flagInsert = "(number, detector, window_start, window_end, score, value, evidence, flagged_at, version, withdrawn)"

type statsColumns struct {
	caller                           []string
	start, end, updated              []time.Time
	calls, answered, distinct, short []uint32
	avgTalk, seqScore                []float64
}

// AddStats buffers one row of window_stats (caller_stats).
func (b *Batch) AddStats(s *schemas.CallerStats) {
	t := &b.stats
	t.caller = append(t.caller, s.Caller)
	t.start = append(t.start, s.WindowStart)
	t.end = append(t.end, s.WindowEnd)
	t.calls = append(t.calls, s.Calls)
	t.answered = append(t.answered, s.Answered)
	t.distinct = append(t.distinct, s.DistinctCallees)
	t.short = append(t.short, s.ShortCalls)
	t.avgTalk = append(t.avgTalk, s.AvgTalk)
	t.seqScore = append(t.seqScore, s.SequentialScore)
	t.updated = append(t.updated, s.UpdatedAt)
}

func (t *statsColumns) reset() {
	*t = statsColumns{caller: t.caller[:0], start: t.start[:0], end: t.end[:0], updated: t.updated[:0],
		calls: t.calls[:0], answered: t.answered[:0], distinct: t.distinct[:0], short: t.short[:0],
		avgTalk: t.avgTalk[:0], seqScore: t.seqScore[:0]}
}

func (t *statsColumns) columns() []any {
	return []any{t.caller, t.start, t.end, t.calls, t.answered, t.distinct, t.short, t.avgTalk, t.seqScore, t.updated}
}

const statsInsert = "(caller, window_start, window_end, calls, answered, distinct_callees, short_calls, avg_talk, sequential_score, updated_at)"

type rejectColumns struct {
	topic, reason, errMsg, raw []string
	partition                  []uint32
	offset                     []uint64
	received                   []time.Time
}

// AddReject buffers one cdr_rejects row, cutting the raw message at
// schemas.MaxRejectBytes.
func (b *Batch) AddReject(r *schemas.Reject) {
	t := &b.rejects
	raw := r.Raw
	if len(raw) > schemas.MaxRejectBytes {
		raw = raw[:schemas.MaxRejectBytes]
	}
	t.topic = append(t.topic, r.Topic)
	t.partition = append(t.partition, uint32(r.Partition))
	t.offset = append(t.offset, uint64(r.Offset))
	t.received = append(t.received, r.Received)
	t.reason = append(t.reason, r.Reason)
	t.errMsg = append(t.errMsg, r.Error)
	t.raw = append(t.raw, raw)
}

func (t *rejectColumns) reset() {
	*t = rejectColumns{topic: t.topic[:0], reason: t.reason[:0], errMsg: t.errMsg[:0], raw: t.raw[:0], partition: t.partition[:0],
		offset: t.offset[:0], received: t.received[:0]}
}

func (t *rejectColumns) columns() []any {
	return []any{t.topic, t.partition, t.offset, t.received, t.reason, t.errMsg, t.raw}
}

const rejectInsert = "(topic, kafka_partition, kafka_offset, received_at, reason, error, raw)"

// Flags returns the flag rows buffered, in order (for tests and tools that
// compare what two runs would write).
func (b *Batch) Flags() []schemas.Flag {
	t := &b.flags
	out := make([]schemas.Flag, len(t.number))
	for i := range out {
		out[i] = schemas.Flag{Number: t.number[i], Detector: t.detector[i], WindowStart: t.start[i], WindowEnd: t.end[i],
			Score: t.score[i], Value: t.value[i], Evidence: t.evidence[i], FlaggedAt: t.flaggedAt[i], Final: t.version[i] == 1,
			Withdrawn: t.withdrawn[i] == 1}
	}
	return out
}

// Groups returns the flagged_trunks rows, then the range_flags rows,
// buffered (for tests and tools).
func (b *Batch) Groups() []schemas.GroupFlag {
	var out []schemas.GroupFlag
	for _, t := range []*groupColumns{&b.trunks, &b.ranges} {
		for i := range t.detector {
			out = append(out, schemas.GroupFlag{TrunkID: t.trunk[i], SwitchID: t.sw[i], Prefix: t.prefix[i], Detector: t.detector[i],
				WindowStart: t.start[i], WindowEnd: t.end[i], Score: t.score[i], Value: t.value[i], Evidence: t.evidence[i], Numbers: t.numbers[i]})
		}
	}
	return out
}

// Stats returns the caller_stats rows buffered, in order (for tests and
// tools).
func (b *Batch) Stats() []schemas.CallerStats {
	t := &b.stats
	out := make([]schemas.CallerStats, len(t.caller))
	for i := range out {
		out[i] = schemas.CallerStats{Caller: t.caller[i], WindowStart: t.start[i], WindowEnd: t.end[i], Calls: t.calls[i],
			Answered: t.answered[i], DistinctCallees: t.distinct[i], ShortCalls: t.short[i], AvgTalk: t.avgTalk[i],
			SequentialScore: t.seqScore[i], UpdatedAt: t.updated[i]}
	}
	return out
}
