package schemas

import "time"

// Flag is one row of flagged_numbers: a detector's threshold crossed by
// one number in one window. (Number, Detector, WindowStart) is its key.
type Flag struct {
	Number      string
	Detector    string
	WindowStart time.Time
	WindowEnd   time.Time
	Score       float64
	Value       float64
	Evidence    string
	// FlaggedAt is the time the flag counts from: its window's start, a
	// time of the input, the same on every replay.
	FlaggedAt time.Time
	// Final says the window was closed when the flag was written (or the
	// detector judges only then): the row is the table's version, so it
	// replaces the row written when the threshold was first crossed, even
	// if a replay writes that one again later.
	Final bool
	// Withdrawn says the closed window no longer shows the trait its
	// crossing row flagged (a share that fell back under its threshold
	// as the window filled): the flag does not stand.
	Withdrawn bool
}

// CallerStats is one row of caller_stats: a caller's aggregates over one
// window. Calls doubles as the row version, so a fuller view of a window
// replaces a partial one.
type CallerStats struct {
	Caller          string
	WindowStart     time.Time
	WindowEnd       time.Time
	Calls           uint32
	Answered        uint32
	DistinctCallees uint32
	ShortCalls      uint32
	AvgTalk         float64
	SequentialScore float64
	UpdatedAt       time.Time
}

// GroupFlag is a trait shown by a group of calling numbers in one window:
// a trunk (a row of flagged_trunks) or a number block (a row of
// range_flags). Rows are written once, when the window closes, so a replay
// writes the same ones.
type GroupFlag struct {
	// TrunkID is the trunk the calls came in on; empty for a block seen
	// on a switch whose CDRs name no trunk.
	TrunkID string
	// SwitchID is the switch, for a block seen without a trunk.
	SwitchID string
	// Prefix is the block's prefix in E.164 with '+' (blocks only): the
	// numbers sharing it are the block.
	Prefix      string
	Detector    string
	WindowStart time.Time
	WindowEnd   time.Time
	Score       float64
	Value       float64
	Evidence    string
	// Numbers are the calling numbers of the group that made the
	// window's calls, ascending (at most MaxGroupNumbers).
	Numbers []string
}

// MaxGroupNumbers bounds the numbers listed in one group flag's evidence.
const MaxGroupNumbers = 1000

// Reject is one row of cdr_rejects: a message that could not be decoded
// or validated, kept for inspection. (Topic, Partition, Offset) is its key.
type Reject struct {
	Origin
	Raw string
	// Reason is a stable code for the kind of fault (bad_time,
	// broken_json, ...), so rejects can be counted by kind; Error says
	// the same in words, with the values at fault.
	Reason string
	Error  string
}

// MaxRejectBytes is how much of a rejected message is kept.
const MaxRejectBytes = 64 << 10

// DayWindow is one row of day_windows: what one of a caller's windows
// added to its day (the day-long window of the low-and-slow traits). The
// engine keeps days in memory; the rows let a restarted run rebuild them
// without reading a day of input again. (Caller, DayStart, WindowStart)
// is its key.
type DayWindow struct {
	Caller      string
	DayStart    time.Time
	DayEnd      time.Time
	WindowStart time.Time
	Calls       uint32
	Answered    uint32
	Short       uint32
	Talk        float64
	// Callees is a HyperLogLog sketch of the window's callees: its
	// registers, one byte each.
	Callees string
}
