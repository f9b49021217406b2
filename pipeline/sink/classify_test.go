package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

func exc(code int32, msg string) error {
	return &clickhouse.Exception{Code: code, Name: "DB::Exception", Message: msg}
}

// TestDataReason pins which insert errors split the rows (data) and which
// retry them unchanged (transient), and the quarantine reason of the
// former.
func TestDataReason(t *testing.T) {
	f := func(name string, err error, want string) {
		t.Helper()
		got, ok := dataReason(err)
		if ok != (want != "") || got != want {
			t.Errorf("%s: dataReason(%v) = %q, %v; want %q", name, err, got, ok, want)
		}
	}
	// The rows' content.
	f("throwIf", exc(395, "Value passed to 'throwIf' function is non zero"), "clickhouse_395")
	f("wrapped throwIf", fmt.Errorf("insert cdrs: %w", exc(395, "")), "clickhouse_395")
	f("cannot parse datetime", exc(41, "Cannot parse datetime"), "clickhouse_41")
	f("type mismatch", exc(53, "Type mismatch"), "clickhouse_53")
	f("out of range", exc(321, "Value is out of range"), "clickhouse_321")
	f("constraint", exc(469, "Constraint `c` is violated"), "clickhouse_469")
	f("null in ordinary column", exc(349, "Cannot insert NULL value into a column of type 'String'"), "clickhouse_349")
	f("too many partitions", exc(252, "Too many partitions for single INSERT block (more than 100). The limit is controlled by 'max_partitions_per_insert_block' setting."), "clickhouse_252")
	f("append value", &appendError{column: "disposition", err: &column.Error{ColumnType: "Enum8", Err: errors.New("unknown element 42")}}, "client_append")

	// The server's state, the network, or the schema: wait.
	f("nil", nil, "")
	f("too many parts, merges", exc(252, "Too many parts (300). Merges are processing significantly slower than inserts."), "")
	f("memory", exc(241, "Memory limit (for query) exceeded"), "")
	f("timeout", exc(159, "Timeout exceeded"), "")
	f("simultaneous queries", exc(202, "Too many simultaneous queries"), "")
	f("disk full", exc(243, "Cannot reserve 1.00 MiB, not enough space"), "")
	f("read-only table", exc(242, "Table is in readonly mode"), "")
	f("readonly user", exc(164, "Cannot execute query in readonly mode"), "")
	f("unknown table", exc(60, "Table db.cdrs doesn't exist"), "")
	f("unknown database", exc(81, "Database db doesn't exist"), "")
	f("no such column", exc(16, "There is no column guard in table"), "")
	f("auth", exc(516, "default: Authentication failed"), "")
	f("zookeeper", exc(225, "Cannot use ZooKeeper"), "")
	f("keeper", exc(999, "Coordination error: Connection loss"), "")
	f("unknown code", exc(1002, "std::exception"), "")
	f("eof", io.EOF, "")
	f("unexpected eof", io.ErrUnexpectedEOF, "")
	f("refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "")
	f("reset", fmt.Errorf("read: %w", syscall.ECONNRESET), "")
	f("canceled", context.Canceled, "")
	f("deadline", errors.Join(context.DeadlineExceeded, exc(395, "")), "")
	f("append type", &appendError{column: "caller", err: &column.ColumnConverterError{Op: "Append", To: "UInt32", From: "[]string"}}, "")
}

// TestDataCodes checks the whitelist's names against ch-go's copy of
// ClickHouse's error codes, so a wrong number shows.
func TestDataCodes(t *testing.T) {
	for code, name := range dataCodes {
		if got := chproto.Error(code).String(); got != name {
			t.Errorf("code %d is %s in ch-go, %s in dataCodes", code, got, name)
		}
	}
	if got := chproto.Error(codeTooManyParts).String(); got != "TOO_MANY_PARTS" {
		t.Errorf("code %d is %s, want TOO_MANY_PARTS", codeTooManyParts, got)
	}
	if _, ok := dataCodes[codeTooManyParts]; ok {
		t.Error("TOO_MANY_PARTS is data only for too many partitions; it must not be in dataCodes")
	}
}
