package sink

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/schemas"
)

// TestRowKeyAndJSON pins the quarantine's row_key of each table (its
// ORDER BY, so a replay replaces the row) and the JSON of a row: every
// column by name, NULL as null, times in UTC, non-finite floats as
// strings.
func TestRowKeyAndJSON(t *testing.T) {
	at := time.Date(2026, 11, 29, 7, 0, 3, 250e6, time.FixedZone("CST", 8*3600))
	var b Batch
	b.AddCDR(&schemas.CDR{Key: "h:01", CallID: "c1", Caller: "+8613900000001", Callee: "+8613800000001",
		StartTime: at, Duration: math.NaN(), Disposition: schemas.Busy, Withheld: true}, "cdrs", 3, 77)
	b.AddFlag(&schemas.Flag{Number: "+8613900000001", Detector: "fan_out", WindowStart: at.Truncate(time.Hour)})
	b.AddStats(&schemas.CallerStats{Caller: "+8613900000001", WindowStart: at.Truncate(time.Hour)})
	b.AddReject(&schemas.Reject{Origin: schemas.Origin{Topic: "cdrs", Partition: 4, Offset: 99, Received: at}})
	b.AddGroup(&schemas.GroupFlag{TrunkID: "SIPT-7", Detector: "number_rotation", WindowStart: at.Truncate(time.Hour), Numbers: []string{"+862160001000"}})
	b.AddGroup(&schemas.GroupFlag{TrunkID: "SIPT-7", Prefix: "+86216000100", Detector: "short_calls", WindowStart: at.Truncate(time.Hour)})
	b.AddDay(&schemas.DayWindow{Caller: "+8613900000001", DayStart: at.Truncate(24 * time.Hour), WindowStart: at.Truncate(time.Hour)})
	want := map[string]string{
		"day_windows":    "+8613900000001|2026-11-28T00:00:00Z|2026-11-28T23:00:00Z",
		"flagged_trunks": "SIPT-7|number_rotation|2026-11-28T23:00:00Z",
		"range_flags":    "+86216000100|SIPT-7||short_calls|2026-11-28T23:00:00Z",
		"flags":          "+8613900000001|fan_out|2026-11-28T23:00:00Z",
		"window_stats":   "+8613900000001|2026-11-28T23:00:00Z",
		"cdr_rejects":    "cdrs|4|99",
		"cdrs":           "+8613900000001|2026-11-28T23:00:03Z|h:01",
	}
	for _, tb := range tables {
		if got := tb.rowKey(tb.values(&b), 0); got != want[tb.name] {
			t.Errorf("%s row key %q, want %q", tb.name, got, want[tb.name])
		}
	}
	cdrs := cdrsTable()
	var row map[string]any
	if err := json.Unmarshal([]byte(cdrs.rowJSON(cdrs.values(&b), 0)), &row); err != nil {
		t.Fatal(err)
	}
	if len(row) != len(cdrs.names) || row["call_key"] != "h:01" || row["start_time"] != "2026-11-28T23:00:03.25Z" ||
		row["answer_time"] != nil || row["duration"] != "NaN" || row["disposition"] != 3.0 || row["withheld"] != 1.0 ||
		row["kafka_partition"] != 3.0 || row["kafka_offset"] != 77.0 {
		t.Errorf("cdrs row JSON: %v", row)
	}
}

// cdrsTable is the insert of the cdrs table.
func cdrsTable() *table {
	return tables[slices.IndexFunc(tables, func(t *table) bool { return t.name == "cdrs" })]
}
