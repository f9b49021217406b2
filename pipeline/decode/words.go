package decode

import (
	"strings"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// The words switches write for how a call ended, shared by the formats'
// parsers, so that ANSWERED, "NO ANSWER" and NORMAL_CLEARING mean the same
// from every switch.

// dispositionWords maps switch words (upper case, '_' for space) to the
// contract: Asterisk's (ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION) and
// the contract's own names.
var dispositionWords = map[string]struct {
	d     schemas.Disposition
	cause uint16
}{
	"ANSWERED":   {schemas.Answered, 0},
	"ANSWER":     {schemas.Answered, 0},
	"NO_ANSWER":  {schemas.NoAnswer, 0},
	"NOANSWER":   {schemas.NoAnswer, 0},
	"BUSY":       {schemas.Busy, 17},
	"FAILED":     {schemas.Failed, 0},
	"CONGESTION": {schemas.Failed, 34},
	"REJECTED":   {schemas.Rejected, 21},
	"CANCELLED":  {schemas.Cancelled, 0},
	"CANCEL":     {schemas.Cancelled, 0}, // Asterisk, when cdr.conf enables it
	"CANCELED":   {schemas.Cancelled, 0},
}

// word upper-cases s and writes spaces and dashes as '_'.
func word(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-':
			return '_'
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, strings.TrimSpace(s))
}

// DispositionWord reads a switch's disposition word, ignoring case, with
// the Q.850 cause it implies (CONGESTION: 34) or 0.
func DispositionWord(s string) (d schemas.Disposition, cause uint16, ok bool) {
	w, ok := dispositionWords[word(s)]
	return w.d, w.cause, ok
}

// causeNames are the Q.850 causes by the names FreeSWITCH, Kamailio and
// most soft switches write (switch_channel.c's table, ITU-T Q.850).
var causeNames = map[string]uint16{
	"UNALLOCATED_NUMBER": 1, "NO_ROUTE_TRANSIT_NET": 2, "NO_ROUTE_DESTINATION": 3, "CHANNEL_UNACCEPTABLE": 6,
	"CALL_AWARDED_DELIVERED": 7, "NORMAL_CLEARING": 16, "USER_BUSY": 17, "NO_USER_RESPONSE": 18, "NO_ANSWER": 19,
	"SUBSCRIBER_ABSENT": 20, "CALL_REJECTED": 21, "NUMBER_CHANGED": 22, "REDIRECTION_TO_NEW_DESTINATION": 23,
	"EXCHANGE_ROUTING_ERROR": 25, "DESTINATION_OUT_OF_ORDER": 27, "INVALID_NUMBER_FORMAT": 28, "FACILITY_REJECTED": 29,
	"RESPONSE_TO_STATUS_ENQUIRY": 30, "NORMAL_UNSPECIFIED": 31, "NORMAL_CIRCUIT_CONGESTION": 34, "NETWORK_OUT_OF_ORDER": 38,
	"NORMAL_TEMPORARY_FAILURE": 41, "SWITCH_CONGESTION": 42, "ACCESS_INFO_DISCARDED": 43, "REQUESTED_CHAN_UNAVAIL": 44,
	"PRE_EMPTED": 45, "FACILITY_NOT_SUBSCRIBED": 50, "OUTGOING_CALL_BARRED": 52, "INCOMING_CALL_BARRED": 54,
	"BEARERCAPABILITY_NOTAUTH": 57, "BEARERCAPABILITY_NOTAVAIL": 58, "SERVICE_UNAVAILABLE": 63, "BEARERCAPABILITY_NOTIMPL": 65,
	"CHAN_NOT_IMPLEMENTED": 66, "FACILITY_NOT_IMPLEMENTED": 69, "SERVICE_NOT_IMPLEMENTED": 79, "INVALID_CALL_REFERENCE": 81,
	"INCOMPATIBLE_DESTINATION": 88, "INVALID_MSG_UNSPECIFIED": 95, "MANDATORY_IE_MISSING": 96, "MESSAGE_TYPE_NONEXIST": 97,
	"WRONG_MESSAGE": 98, "IE_NONEXIST": 99, "INVALID_IE_CONTENTS": 100, "WRONG_CALL_STATE": 101,
	"RECOVERY_ON_TIMER_EXPIRE": 102, "MANDATORY_IE_LENGTH_ERROR": 103, "PROTOCOL_ERROR": 111, "INTERWORKING": 127,
}

// switchCauses are FreeSWITCH's causes outside Q.850 (numbered over 127):
// what they say about the call, and the Q.850 cause closest to them.
var switchCauses = map[string]struct {
	d     schemas.Disposition
	cause uint16
}{
	"ORIGINATOR_CANCEL":   {schemas.Cancelled, 0}, // the caller hung up before an answer
	"LOSE_RACE":           {schemas.Cancelled, 0}, // another leg of a parallel dial answered
	"PICKED_OFF":          {schemas.Cancelled, 0},
	"NO_PICKUP":           {schemas.NoAnswer, 19},
	"USER_NOT_REGISTERED": {schemas.Failed, 20},
	"BLIND_TRANSFER":      {schemas.Answered, 16},
	"ATTENDED_TRANSFER":   {schemas.Answered, 16},
	"ALLOTTED_TIMEOUT":    {schemas.DispositionUnknown, 16},
	"MEDIA_TIMEOUT":       {schemas.DispositionUnknown, 41},
	"PROGRESS_TIMEOUT":    {schemas.NoAnswer, 19},
	"GATEWAY_DOWN":        {schemas.Failed, 38},
	"SYSTEM_SHUTDOWN":     {schemas.Failed, 41},
	"MANAGER_REQUEST":     {schemas.DispositionUnknown, 16},
	"CRASH":               {schemas.Failed, 41},
	"DECLINE":             {schemas.Rejected, 21}, // SIP 603
	"BUSY_EVERYWHERE":     {schemas.Busy, 17},     // SIP 600
	"UNWANTED":            {schemas.Rejected, 21}, // SIP 607
	"INVALID_GATEWAY":     {schemas.Failed, 38},
	"NONE":                {schemas.DispositionUnknown, 0},
	"SUCCESS":             {schemas.DispositionUnknown, 16},
}

// CauseName reads a hangup cause written by name (NORMAL_CLEARING) or as a
// number: the Q.850 cause, and for the switch-specific causes the
// disposition they imply (DispositionUnknown: derive it from the call).
func CauseName(s string) (cause uint16, d schemas.Disposition, ok bool) {
	w := word(s)
	if c, ok := causeNames[w]; ok {
		return c, schemas.DispositionUnknown, true
	}
	if sc, ok := switchCauses[w]; ok {
		return sc.cause, sc.d, true
	}
	n := 0
	for _, r := range w {
		if r < '0' || r > '9' || n > 127 {
			return 0, schemas.DispositionUnknown, false
		}
		n = n*10 + int(r-'0')
	}
	if w == "" || n > 127 {
		return 0, schemas.DispositionUnknown, false
	}
	return uint16(n), schemas.DispositionUnknown, true
}
