package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/internal/e2e"
)

// TestProduceFormatFiles sends a switch's files with `produce --format`
// and reads the topic with `run`: the good records reach ClickHouse once
// each, the bad ones are kept in the rejects file with their reasons.
func TestProduceFormatFiles(t *testing.T) {
	stack := e2e.Require(t)
	bin := buildBinary(t)
	for _, tc := range []struct {
		format string
		files  []string
		env    []string
		sent   int // records sent, and rows in cdrs
		bad    int // records in the rejects file
	}{
		{format: "csv", files: []string{"../../pipeline/formats/delimited/testdata/mediation.csv"}, sent: 8, bad: 6,
			env: []string{"CDRPIPE_INPUT_CSV_DELIMITER=;", "CDRPIPE_INPUT_CSV_TIME_LAYOUT=02/01/2006 15:04:05",
				"CDRPIPE_INPUT_CSV_FIELDS=call_id=Record ID,caller=A Number,callee=B Number,start_time=Start Time,answer_time=Answer Time,end_time=End Time,duration=Talk (s),disposition=Result,cause=Release Cause,trunk_id=Route",
				"CDRPIPE_INPUT_CSV_DISPOSITIONS=OK=answered,NR=no_answer,BSY=busy"}},
		// Two files of two Asterisk versions; the two rows of a parallel
		// dial are sent as one attempt.
		{format: "asterisk-csv", files: []string{"../../pipeline/formats/asterisk/testdata/Master-16.csv",
			"../../pipeline/formats/asterisk/testdata/Master-21.csv"}, sent: 20, bad: 4},
		{format: "freeswitch-json", files: []string{"../../pipeline/formats/freeswitch/testdata/cdr.json"}, sent: 5, bad: 4},
		{format: "3gpp-ber", files: []string{"../../pipeline/formats/tgpp/testdata/sample.ber"}, sent: 8, bad: 2},
	} {
		t.Run(tc.format, func(t *testing.T) {
			dir := t.TempDir()
			var files []string
			for _, f := range tc.files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				dst := filepath.Join(dir, filepath.Base(f))
				if err := os.WriteFile(dst, b, 0o644); err != nil {
					t.Fatal(err)
				}
				files = append(files, dst)
			}
			topic, db := e2e.Name("cdrs_produce"), e2e.Name("cdrpipe_produce")
			env := append(os.Environ(), tc.env...)
			env = append(env, "CDRPIPE_KAFKA_BROKERS="+strings.Join(stack.Brokers, ","), "CDRPIPE_CLICKHOUSE_ADDR="+stack.ClickHouseAddr,
				"CDRPIPE_KAFKA_TOPIC="+topic, "CDRPIPE_KAFKA_GROUP="+e2e.Name("g_produce"), "CDRPIPE_CLICKHOUSE_DATABASE="+db,
				"CDRPIPE_NUMBERING_COUNTRY_CODE=86", "CDRPIPE_INPUT_ZONE=Asia/Shanghai", "CDRPIPE_INPUT_SWITCH_ID=SW-1",
				// The samples' calls have fixed dates; current ClickHouse
				// drops rows past their retention as it inserts them.
				"CDRPIPE_RETENTION_CDRS=18250d")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			run := func(args ...string) string {
				t.Helper()
				c := exec.CommandContext(ctx, bin, args...)
				c.Env = env
				var stderr bytes.Buffer
				c.Stderr = &stderr
				if err := c.Run(); err != nil {
					t.Fatalf("cdrpipe %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
				}
				return stderr.String()
			}
			out := run(append([]string{"produce", "--format", tc.format}, files...)...)
			if !strings.Contains(out, " sent, ") || !strings.Contains(out, strings.Join([]string{strconv.Itoa(tc.sent), "sent,", strconv.Itoa(tc.bad), "rejected"}, " ")) {
				t.Errorf("produce says %q; want %d sent and %d rejected", out, tc.sent, tc.bad)
			}
			rejects, err := os.ReadFile(files[0] + ".rejects")
			if err != nil || strings.Count(string(rejects), "\n") != tc.bad {
				t.Errorf("rejects file: %d lines (%v), want %d", strings.Count(string(rejects), "\n"), err, tc.bad)
			}
			run("run", "--until-caught-up")
			conn := stack.ClickHouse(t)
			defer conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
			if n := e2e.Count(t, conn, "SELECT count() FROM "+db+".cdrs FINAL"); n != uint64(tc.sent) {
				t.Errorf("cdrs holds %d rows, want %d", n, tc.sent)
			}
			if n := e2e.Count(t, conn, "SELECT count() FROM "+db+".cdr_rejects"); n != 0 {
				t.Errorf("cdr_rejects holds %d rows: produce sent records that do not decode", n)
			}
		})
	}
}
