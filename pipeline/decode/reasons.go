package decode

import (
	"errors"
	"fmt"
)

// Reasons a record is rejected: stable codes, stored in
// cdr_rejects.reason and used as the reason label of the rejects
// counter, so that rejects can be counted by kind. The error text says
// the same in words, with the values at fault.
const (
	ReasonBrokenJSON      = "broken_json"      // not valid JSON
	ReasonNotObject       = "not_object"       // valid JSON, but not an object
	ReasonMissingField    = "missing_field"    // caller, callee or start_time absent
	ReasonWrongType       = "wrong_type"       // a field of the wrong JSON type
	ReasonBadNumber       = "bad_number"       // a number that does not normalise
	ReasonBadTime         = "bad_time"         // a time that does not parse
	ReasonTooOld          = "too_old"          // start_time before 2000
	ReasonInFuture        = "in_future"        // start_time too far ahead of the clock
	ReasonBadDuration     = "bad_duration"     // a duration negative, not a number or over two days
	ReasonTimeOrder       = "time_order"       // answer or end a second or more before start
	ReasonBadDisposition  = "bad_disposition"  // a disposition outside the contract
	ReasonBadCause        = "bad_cause"        // a cause that is not a Q.850 cause
	ReasonBadNOA          = "bad_noa"          // a nature of address outside the contract
	ReasonBadPresentation = "bad_presentation" // a caller_presentation outside the contract
	ReasonBadRecord       = "bad_record"       // a record its format cannot read (columns, quoting, BER)
)

// Reasons lists every reason code, for metrics that show each from the
// start.
var Reasons = []string{
	ReasonBrokenJSON, ReasonNotObject, ReasonMissingField, ReasonWrongType, ReasonBadNumber,
	ReasonBadTime, ReasonTooOld, ReasonInFuture, ReasonBadDuration, ReasonTimeOrder,
	ReasonBadDisposition, ReasonBadCause, ReasonBadNOA, ReasonBadPresentation, ReasonBadRecord,
}

// Error is why a record was rejected: a Reason code and the details.
type Error struct {
	Reason string
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the reason code of a decode error, or "" for an error
// that is not one.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// reject wraps err with its reason; a nil err stays nil.
func reject(reason string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Reason: reason, Err: err}
}

// rejectf builds an error with its reason.
func rejectf(reason, format string, args ...any) error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}
