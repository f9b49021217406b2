package sink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/cdrpipe/cdrpipe/config"
)

// dataCodes are the ClickHouse exception codes known to be about the
// content of the rows sent, so that inserting fewer rows can succeed
// (src/Common/ErrorCodes.cpp). It is a whitelist: an error not known to
// be about the rows is transient, because quarantining good rows is worse
// than waiting for an operator.
var dataCodes = map[int32]string{
	6:   "CANNOT_PARSE_TEXT",
	12:  "PARAMETER_OUT_OF_BOUND",
	19:  "SIZE_OF_FIXED_STRING_DOESNT_MATCH",
	25:  "CANNOT_PARSE_ESCAPE_SEQUENCE",
	26:  "CANNOT_PARSE_QUOTED_STRING",
	27:  "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
	36:  "BAD_ARGUMENTS",
	38:  "CANNOT_PARSE_DATE",
	41:  "CANNOT_PARSE_DATETIME",
	43:  "ILLEGAL_TYPE_OF_ARGUMENT",
	53:  "TYPE_MISMATCH",
	69:  "ARGUMENT_OUT_OF_BOUND",
	70:  "CANNOT_CONVERT_TYPE",
	72:  "CANNOT_PARSE_NUMBER",
	117: "INCORRECT_DATA",
	128: "TOO_LARGE_ARRAY_SIZE",
	131: "TOO_LARGE_STRING_SIZE",
	153: "ILLEGAL_DIVISION",
	190: "SIZES_OF_ARRAYS_DONT_MATCH",
	321: "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
	346: "CANNOT_CONVERT_CHARSET",
	349: "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN",
	376: "CANNOT_PARSE_UUID",
	395: "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO",
	407: "DECIMAL_OVERFLOW",
	441: "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
	467: "CANNOT_PARSE_BOOL",
	469: "VIOLATED_CONSTRAINT",
}

// codeTooManyParts is TOO_MANY_PARTS: about the rows only when they span
// more partitions than max_partitions_per_insert_block, not when merges
// lag behind inserts.
const codeTooManyParts = 252

// reasonAppend is the quarantine reason of a row the driver refused to
// append to its column, before anything was sent.
const reasonAppend = "client_append"

// dataReason reports whether err is about the rows that were inserted,
// so that inserting them in smaller pieces can succeed, and the stable
// reason code a row still failing with it is quarantined under.
// Every other error is transient: the same rows are retried unchanged.
func dataReason(err error) (reason string, ok bool) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", false
	}
	var exc *clickhouse.Exception
	if errors.As(err, &exc) {
		return exceptionReason(exc)
	}
	var app *appendError
	if errors.As(err, &app) {
		return appendReason(app)
	}
	return "", false
}

func exceptionReason(exc *clickhouse.Exception) (string, bool) {
	data := dataCodes[exc.Code] != ""
	if exc.Code == codeTooManyParts {
		data = strings.Contains(strings.ToLower(exc.Message), "partitions for single insert block")
	}
	if !data {
		return "", false
	}
	return "clickhouse_" + strconv.Itoa(int(exc.Code)), true
}

// appendReason classifies an append error. A value the column cannot
// hold fails for its rows only; but a Go type the column's type does not
// take (ColumnConverterError) means the table's schema changed under the
// pipeline: every row would fail, so it waits for an operator instead of
// quarantining the whole stream.
func appendReason(err *appendError) (string, bool) {
	var conv *column.ColumnConverterError
	var unsupported *column.UnsupportedColumnTypeError
	if errors.As(err.err, &conv) || errors.As(err.err, &unsupported) {
		return "", false
	}
	return reasonAppend, true
}

// appendError is an error of the driver while appending a column to an
// insert, before anything is sent.
type appendError struct {
	column string
	err    error
}

func (e *appendError) Error() string { return fmt.Sprintf("append column %s: %v", e.column, e.err) }

func (e *appendError) Unwrap() error { return e.err }

// credentialCodes are the exceptions of a server refusing who we say we
// are: AUTHENTICATION_FAILED on current releases; UNKNOWN_USER,
// WRONG_PASSWORD and REQUIRED_PASSWORD on older ones.
var credentialCodes = map[int32]bool{516: true, 192: true, 193: true, 194: true}

// setupError marks errors that say the configuration is wrong rather than
// the server unwell: refused credentials (config.ErrCredentials) and a
// server certificate that cannot be trusted (a config.Error naming the
// CA setting). Others pass unchanged.
func setupError(err error) error {
	var exc *clickhouse.Exception
	if errors.As(err, &exc) && credentialCodes[exc.Code] {
		return fmt.Errorf("%w: %v (check clickhouse.username and clickhouse.password)", config.ErrCredentials, err)
	}
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	var hostname x509.HostnameError
	if errors.As(err, &unknown) || errors.As(err, &verify) || errors.As(err, &hostname) {
		return &config.Error{Key: "clickhouse.tls.ca_file", Msg: fmt.Sprintf("the server's certificate is not trusted: %v", err)}
	}
	return err
}

// isSetupError reports whether err is one of setupError's.
func isSetupError(err error) bool {
	return config.IsConfigError(err)
}
