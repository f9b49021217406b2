package traffic

import (
	"fmt"
	"time"
	// The fleet's zones must load on hosts without a zoneinfo database.
	_ "time/tzdata"

	"github.com/cdrpipe/cdrpipe/config"
)

// A carrier's CDRs come from a fleet of switches of different vendors and
// ages, each with its own habits: how it numbers calls, how it writes
// times and numbers, how precise and how right its clock is, which fields
// it fills in and how it marks a withheld caller ID. The fleet below is
// fixed, so traffic is deterministic and the pipeline can be configured
// for it (SwitchZones). Every caller is homed on one switch (HomeSwitch),
// as subscribers are on a real network; calls from abroad come in through
// the international gateway.

// NumSwitches is the size of the fleet.
const NumSwitches = 20

// TargetCallIDRepeats is the share of records whose call_id also occurs
// on another switch for another call.
const TargetCallIDRepeats = 0.01

// Kind is what sort of network element a switch is.
type Kind uint8

// Kinds of switch.
const (
	KindMSC       Kind = iota // mobile switching centre (circuit core)
	KindIMS                   // IMS core (VoLTE, SIP)
	KindSBC                   // session border controller (SIP trunks)
	KindPBX                   // Asterisk or FreeSWITCH platform
	KindGateway               // international gateway
	KindMediation             // a mediation feed that re-writes CDRs
)

var kindNames = [...]string{"MSC", "IMS", "SBC", "PBX", "gateway", "mediation"}

// String names the kind.
func (k Kind) String() string { return kindNames[k] }

// CallIDScheme is how a switch numbers its calls in call_id.
type CallIDScheme uint8

// Call-id schemes. Counter and Asterisk ids are unique only on their
// switch: the same string turns up on other switches for other calls.
const (
	// IDCounter is a per-switch decimal counter ("20482913").
	IDCounter CallIDScheme = iota
	// IDAsterisk is Asterisk's uniqueid: the switch clock's epoch second
	// of the call and a per-server sequence ("1795935603.4521").
	IDAsterisk
	// IDHex is 16 hex digits, unique network-wide.
	IDHex
	// IDUUID is a random (version 4) UUID, as FreeSWITCH writes.
	IDUUID
	// IDSIP is a SIP Call-ID: hex and the host ("9f3c…@hz-sbc-01").
	IDSIP
	// IDPrefixed is the switch's own prefix and a counter ("SZ01-000482913").
	IDPrefixed
	// IDNone writes no call_id at all.
	IDNone
)

var idSchemeNames = [...]string{"counter", "asterisk", "hex", "uuid", "sip", "prefixed", "none"}

// String names the scheme.
func (s CallIDScheme) String() string { return idSchemeNames[s] }

// unique reports whether the scheme's ids never occur on another switch.
func (s CallIDScheme) unique() bool { return s != IDCounter && s != IDAsterisk }

// TimeForm is how a switch writes a time on the wire.
type TimeForm uint8

// Time forms. The local ones are wall-clock time in the switch's zone
// without any offset, as Asterisk, FreeSWITCH and many mediation systems
// write them: only the switch's configured zone says which instant they
// name.
const (
	TimeRFC3339Z        TimeForm = iota // "2026-11-29T07:00:03Z"
	TimeRFC3339ZMilli                   // "2026-11-29T07:00:03.250Z"
	TimeRFC3339CST                      // "2026-11-29T15:00:03+08:00"
	TimeRFC3339CSTMilli                 // "2026-11-29T15:00:03.250+08:00"
	TimeEpochSec                        // 1795935603
	TimeEpochMilli                      // 1795935603250
	TimeEpochFrac                       // 1795935603.250
	TimeLocal                           // "2026-11-29 15:00:03" in the switch's zone
	TimeLocalMilli                      // "2026-11-29 15:00:03.250" in the switch's zone
)

var timeFormNames = [...]string{"RFC 3339 Z", "RFC 3339 Z ms", "RFC 3339 +08:00", "RFC 3339 +08:00 ms",
	"epoch s", "epoch ms", "epoch s.ms", "local", "local ms"}

// String names the form.
func (f TimeForm) String() string { return timeFormNames[f] }

// Local reports whether the form is wall-clock time without an offset.
func (f TimeForm) Local() bool { return f == TimeLocal || f == TimeLocalMilli }

// Milli reports whether the form keeps milliseconds.
func (f TimeForm) Milli() bool {
	switch f {
	case TimeRFC3339ZMilli, TimeRFC3339CSTMilli, TimeEpochMilli, TimeEpochFrac, TimeLocalMilli:
		return true
	}
	return false
}

// seconds is the whole-second form a mixed-precision switch writes its
// answer and end times in.
func (f TimeForm) seconds() TimeForm {
	switch f {
	case TimeRFC3339ZMilli:
		return TimeRFC3339Z
	case TimeRFC3339CSTMilli:
		return TimeRFC3339CST
	case TimeEpochMilli, TimeEpochFrac:
		return TimeEpochSec
	case TimeLocalMilli:
		return TimeLocal
	}
	return f
}

// NumberHabit is how a switch writes numbers.
type NumberHabit uint8

// Number habits. Every form normalises back to the same E.164 number.
const (
	// NumbersE164 writes "+8613912345678".
	NumbersE164 NumberHabit = iota
	// NumbersBare writes the country code without '+': "8613912345678".
	NumbersBare
	// NumbersIntl writes the international prefix: "008613912345678".
	NumbersIntl
	// NumbersNational writes home numbers nationally ("13912345678",
	// "075512345678") and others with "00".
	NumbersNational
	// NumbersDialled writes each number in whichever form it was dialled
	// or presented: any of the above, mostly E.164.
	NumbersDialled
	// NumbersNOA writes plain digits and a nature of address (ISUP):
	// home numbers national without the trunk prefix, foreign ones with
	// their country code and "international".
	NumbersNOA
	// NumbersGateway is NumbersNOA as an international gateway writes it:
	// the caller of a call from abroad always in international format,
	// even when it claims to be a home number.
	NumbersGateway
)

var numberHabitNames = [...]string{"E.164", "bare CC", "00 CC", "national", "as dialled", "digits + NOA", "gateway NOA"}

// String names the habit.
func (h NumberHabit) String() string { return numberHabitNames[h] }

// Fields is the set of optional fields a switch writes.
type Fields uint8

// Optional fields.
const (
	// FieldTimes writes answer_time (answered calls) and end_time.
	FieldTimes Fields = 1 << iota
	// FieldDuration writes duration, the true talk time.
	FieldDuration
	// FieldRing writes ring_duration.
	FieldRing
	// FieldDisposition writes disposition.
	FieldDisposition
	// FieldCause writes the Q.850 cause.
	FieldCause
)

// String lists the fields, as "times+duration+cause".
func (f Fields) String() string {
	var s string
	for i, name := range [...]string{"times", "duration", "ring", "disposition", "cause"} {
		if f&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += name
		}
	}
	return s
}

// WithheldStyle is how a switch writes a call whose caller withheld its ID.
type WithheldStyle uint8

// Withheld styles.
const (
	// WithheldPresentation keeps the number and adds
	// "caller_presentation":"restricted".
	WithheldPresentation WithheldStyle = iota
	// WithheldAnonymous writes "anonymous" as the caller (SIP).
	WithheldAnonymous
	// WithheldRestricted writes "restricted" as the caller.
	WithheldRestricted
	// WithheldUnavailable writes "unavailable" as the caller.
	WithheldUnavailable
)

var withheldNames = [...]string{"presentation", "anonymous", "restricted", "unavailable"}

// String names the style.
func (w WithheldStyle) String() string { return withheldNames[w] }

// noNumber reports whether the style writes a word instead of the number.
func (w WithheldStyle) noNumber() bool { return w != WithheldPresentation }

// Switch is one switch of the fleet and its dialect.
type Switch struct {
	// ID is the switch's name; it is written as switch_id unless
	// WritesID is false.
	ID       string
	Kind     Kind
	WritesID bool
	// CallIDs is how it numbers calls.
	CallIDs CallIDScheme
	// Times is how it writes start_time; answer_time and end_time too,
	// unless MixedPrecision, when they are cut to whole seconds.
	Times          TimeForm
	MixedPrecision bool
	// Zone is the IANA zone of its local times ("" unless Times is local).
	Zone string
	// Skew is how far its clock is off: every time it writes is this much
	// later than the truth.
	Skew time.Duration
	// Numbers is how it writes numbers.
	Numbers NumberHabit
	// Fields are the optional fields it writes.
	Fields Fields
	// Withheld is how it writes a withheld caller ID.
	Withheld WithheldStyle
	// Weight is its share of domestic callers, per mille. The gateway has
	// none: it carries the calls from abroad.
	Weight int

	// counterBase is where its counter stood when the traffic starts, for
	// IDCounter and IDAsterisk; partner, if not zero, is the index+1 of a
	// busier switch whose counter runs through the same numbers; reaches,
	// if not zero, the index+1 of a switch whose first numbers this one's
	// counter ends on.
	counterBase uint64
	partner     int
	reaches     int
	// prefix starts IDPrefixed ids; host ends IDSIP ones.
	prefix string
}

const (
	dispFields = FieldDuration | FieldRing | FieldDisposition | FieldCause
	bothFields = FieldTimes | FieldDuration | FieldDisposition | FieldCause
	timeFields = FieldTimes | FieldCause
)

// fleet is the table of switches. Weights add up to 1000. Counters of
// one vendor's MSCs, restarted in the same maintenance window, run through
// the same numbers: two tiny MSCs (ZJK-MSC-01, ST-MSC-02) count through the
// middle of a busy one's range, and TJ-MSC-01's counter ends on the numbers
// SH-MSC-01's started from. About 1% of all calls (TargetCallIDRepeats)
// share their call_id with another switch's call, some minutes apart, some
// hours.
var fleet = [NumSwitches]Switch{
	{ID: "BJ-MSC-01", Kind: KindMSC, WritesID: true, CallIDs: IDCounter, counterBase: 10_000_000,
		Times: TimeRFC3339Z, Numbers: NumbersE164, Fields: dispFields, Withheld: WithheldPresentation, Weight: 120},
	{ID: "BJ-MSC-02", Kind: KindMSC, WritesID: true, CallIDs: IDHex,
		Times: TimeRFC3339CSTMilli, Numbers: NumbersDialled, Fields: bothFields, Withheld: WithheldPresentation, Weight: 80},
	{ID: "ZJK-MSC-01", Kind: KindMSC, WritesID: true, CallIDs: IDCounter, partner: 1,
		Times: TimeRFC3339Z, Numbers: NumbersE164, Fields: dispFields, Withheld: WithheldPresentation, Weight: 3},
	{ID: "SH-MSC-01", Kind: KindMSC, WritesID: true, CallIDs: IDCounter, counterBase: 20_000_000, Skew: 3 * time.Minute,
		Times: TimeEpochSec, Numbers: NumbersBare, Fields: dispFields, Withheld: WithheldRestricted, Weight: 70},
	{ID: "SH-IMS-01", Kind: KindIMS, WritesID: true, CallIDs: IDSIP,
		Times: TimeRFC3339ZMilli, Numbers: NumbersE164, Fields: timeFields, Withheld: WithheldAnonymous, Weight: 80},
	{ID: "GZ-MSC-03", Kind: KindMSC, WritesID: true, CallIDs: IDCounter, counterBase: 30_000_000,
		Times: TimeRFC3339ZMilli, MixedPrecision: true, Numbers: NumbersNational, Fields: bothFields, Withheld: WithheldPresentation, Weight: 100},
	{ID: "ST-MSC-02", Kind: KindMSC, WritesID: true, CallIDs: IDCounter, partner: 6,
		Times: TimeEpochMilli, Numbers: NumbersNational, Fields: dispFields, Withheld: WithheldPresentation, Weight: 2},
	{ID: "SZ-MSC-01", Kind: KindMSC, WritesID: true, CallIDs: IDPrefixed, prefix: "SZ01-",
		Times: TimeEpochMilli, MixedPrecision: true, Numbers: NumbersIntl, Fields: bothFields, Withheld: WithheldPresentation, Weight: 60},
	{ID: "CD-MSC-02", Kind: KindMSC, WritesID: true, CallIDs: IDNone,
		Times: TimeRFC3339CST, Numbers: NumbersE164, Fields: FieldDuration | FieldRing | FieldDisposition, Withheld: WithheldPresentation, Weight: 50},
	{ID: "WH-MSC-02", Kind: KindMSC, WritesID: true, CallIDs: IDHex, Skew: -90 * time.Second,
		Times: TimeEpochSec, Numbers: NumbersNOA, Fields: dispFields, Withheld: WithheldUnavailable, Weight: 50},
	{ID: "XA-IMS-01", Kind: KindIMS, WritesID: true, CallIDs: IDUUID,
		Times: TimeEpochMilli, Numbers: NumbersE164, Fields: timeFields, Withheld: WithheldAnonymous, Weight: 50},
	{ID: "HZ-SBC-01", Kind: KindSBC, WritesID: true, CallIDs: IDSIP,
		Times: TimeRFC3339ZMilli, Numbers: NumbersE164, Fields: timeFields, Withheld: WithheldAnonymous, Weight: 40},
	{ID: "SH-AST-01", Kind: KindPBX, WritesID: true, CallIDs: IDAsterisk, counterBase: 4_000,
		Times: TimeLocal, Zone: "Asia/Shanghai", Numbers: NumbersNational, Fields: FieldTimes | FieldDuration | FieldDisposition,
		Withheld: WithheldAnonymous, Weight: 30},
	{ID: "SH-FS-01", Kind: KindPBX, WritesID: true, CallIDs: IDUUID,
		Times: TimeLocalMilli, Zone: "Asia/Shanghai", Numbers: NumbersE164, Fields: FieldTimes | FieldDuration | FieldCause,
		Withheld: WithheldAnonymous, Weight: 30},
	{ID: "NB-MSC-03", Kind: KindMSC, WritesID: true, CallIDs: IDCounter, counterBase: 40_000_000,
		Times: TimeLocalMilli, MixedPrecision: true, Zone: "Asia/Shanghai", Numbers: NumbersNational, Fields: bothFields,
		Withheld: WithheldRestricted, Weight: 40},
	{ID: "SYD-IGW-01", Kind: KindGateway, WritesID: true, CallIDs: IDPrefixed, prefix: "IGW1-",
		Times: TimeLocalMilli, Zone: "Australia/Sydney", Numbers: NumbersGateway, Fields: bothFields,
		Withheld: WithheldPresentation, Weight: 0},
	{ID: "CS-MED-01", Kind: KindMediation, WritesID: false, CallIDs: IDNone,
		Times: TimeRFC3339Z, Numbers: NumbersDialled, Fields: dispFields, Withheld: WithheldPresentation, Weight: 40},
	{ID: "TJ-MSC-01", Kind: KindMSC, WritesID: true, CallIDs: IDCounter, reaches: 4,
		Times: TimeRFC3339CSTMilli, Numbers: NumbersIntl, Fields: dispFields, Withheld: WithheldPresentation, Weight: 70},
	{ID: "CQ-IMS-02", Kind: KindIMS, WritesID: false, CallIDs: IDHex,
		Times: TimeEpochFrac, Numbers: NumbersE164, Fields: FieldTimes | FieldDuration | FieldCause, Withheld: WithheldAnonymous, Weight: 45},
	{ID: "KM-MSC-01", Kind: KindMSC, WritesID: true, CallIDs: IDPrefixed, prefix: "KM01-",
		Times: TimeRFC3339CST, Numbers: NumbersNational, Fields: dispFields, Withheld: WithheldPresentation, Weight: 40},
}

// gatewayIndex is the international gateway's place in fleet.
const gatewayIndex = 15

// locations are the fleet's zones, loaded once; homeBuckets maps a
// caller's hash bucket to its home switch.
var (
	locations   [NumSwitches]*time.Location
	homeBuckets [1000]uint8
)

func init() {
	total := 0
	for i := range fleet {
		sw := &fleet[i]
		if sw.Zone != "" {
			loc, err := time.LoadLocation(sw.Zone)
			if err != nil {
				panic(fmt.Sprintf("BUG: switch %s: zone %q: %v", sw.ID, sw.Zone, err))
			}
			locations[i] = loc
		}
		for range sw.Weight {
			homeBuckets[total] = uint8(i)
			total++
		}
	}
	if total != len(homeBuckets) || fleet[gatewayIndex].Kind != KindGateway {
		panic("BUG: fleet weights do not add up to 1000 or the gateway moved")
	}
}

// Fleet returns the switches, in table order; indexes into it name a
// switch in the Encoder's API.
func Fleet() []Switch { return append([]Switch(nil), fleet[:]...) }

// Gateway returns the index of the international gateway, which writes
// every call that comes in from abroad.
func Gateway() int { return gatewayIndex }

// SwitchZones returns "SWITCH=Zone" for every switch that writes local
// times without an offset: what the pipeline's input.switch_zones must
// hold to read the fleet's times right.
func SwitchZones() []string {
	var out []string
	for _, sw := range fleet {
		if sw.Times.Local() {
			out = append(out, sw.ID+"="+sw.Zone)
		}
	}
	return out
}

// Configure sets what c needs to read the fleet's records right: the
// zones of the switches that write local times. Everything that runs the
// pipeline over generated traffic calls it; deploy/local/traffic-model.yaml
// says the same for the command line.
func Configure(c *config.Config) {
	c.Input.SwitchZones = SwitchZones()
}

// HomeSwitch returns the index of the switch that serves the home number
// n: a hash of the number picks a switch with probability proportional to
// its Weight, so every call of one caller goes through the same switch and
// carries that switch's habits (and its clock's skew).
func HomeSwitch(n Number) int {
	return int(homeBuckets[splitmix64(uint64(n)^homeSalt)%uint64(len(homeBuckets))])
}

// homeSalt keeps the home hash apart from the other uses of splitmix64.
const homeSalt = 0x5bd1e9955bd1e995
