package formats_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline"
	"github.com/cdrpipe/cdrpipe/pipeline/formats"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
)

// sample is a format's sample file and the settings that read it.
type sample struct {
	format, file string
	set          func(c *config.Config)
}

func samples() []sample {
	return []sample{
		{"csv", "delimited/testdata/mediation.csv", func(c *config.Config) {
			c.Input.CSV = config.CSV{Delimiter: ";", Header: true, TimeLayout: "02/01/2006 15:04:05",
				Columns: []string{"Record ID", "A Number", "B Number", "Start Time", "Answer Time", "End Time", "Talk (s)", "Result", "Release Cause", "Route"},
				Fields: []string{"call_id=Record ID", "caller=A Number", "callee=B Number", "start_time=Start Time",
					"answer_time=Answer Time", "end_time=End Time", "duration=Talk (s)", "disposition=Result",
					"cause=Release Cause", "trunk_id=Route"},
				Dispositions: []string{"OK=answered", "NR=no_answer", "BSY=busy"}}
		}},
		{"asterisk-csv", "asterisk/testdata/Master-16.csv", nil},
		{"asterisk-csv", "asterisk/testdata/Master-21.csv", nil},
		{"asterisk-csv", "asterisk/testdata/custom.csv", func(c *config.Config) {
			c.Input.Asterisk.Columns = []string{"${CDR(clid)}", "${CDR(src)}", "${CDR(dst)}", "${CDR(dcontext)}", "${CDR(channel)}",
				"${CDR(dstchannel)}", "${CDR(lastapp)}", "${CDR(lastdata)}", "${CDR(start)}", "${CDR(answer)}", "${CDR(end)}",
				"${CDR(duration)}", "${CDR(billsec)}", "${CDR(disposition)}", "${CDR(amaflags)}", "${CDR(accountcode)}",
				"${CDR(uniqueid)}", "${CDR(userfield)}"}
		}},
		{"freeswitch-csv", "freeswitch/testdata/Master.csv", nil},
		{"freeswitch-csv", "freeswitch/testdata/epoch.csv", func(c *config.Config) {
			c.Input.FreeSWITCH.Columns = []string{"${uuid}", "${switchname}", "${caller_id_number}", "${destination_number}",
				"${start_epoch}", "${answer_epoch}", "${end_epoch}", "${start_uepoch}", "${answer_uepoch}", "${end_uepoch}",
				"${duration}", "${billsec}", "${hangup_cause}", "${hangup_cause_q850}"}
		}},
		{"freeswitch-json", "freeswitch/testdata/cdr.json", nil},
		{"3gpp-ber", "tgpp/testdata/sample.ber", nil},
	}
}

// TestFormatsEndToEnd sends each sample file's records to a topic of its
// own, one record a message as a switch's mediation would, runs the
// pipeline with kafka.format set, and checks that ClickHouse holds what
// the format's decoder reads from the file: every good record once (by
// its call key, numbers, start and disposition), every bad one in
// cdr_rejects.
func TestFormatsEndToEnd(t *testing.T) {
	stack := e2e.Require(t)
	for _, s := range samples() {
		t.Run(filepath.Base(s.file), func(t *testing.T) {
			cfg := config.Default()
			cfg.Kafka.Brokers = stack.Brokers
			cfg.Kafka.Topic = e2e.Name("cdrs-" + s.format)
			cfg.Kafka.Group = e2e.Name("group")
			cfg.Kafka.Format = s.format
			cfg.ClickHouse.Addr = stack.ClickHouseAddr
			cfg.ClickHouse.Database = e2e.Name("cdrpipe_formats")
			cfg.Sink.FlushInterval = 200 * time.Millisecond
			cfg.Numbering.CountryCode = "86"
			cfg.Input.Zone = "Asia/Shanghai"
			cfg.Input.SwitchID = "SW-" + s.format
			// The samples' calls have fixed dates; current ClickHouse drops
			// rows past their retention as it inserts them.
			cfg.Retention.CDRs = 50 * 365 * 24 * time.Hour
			if s.set != nil {
				s.set(&cfg)
			}
			records := split(t, s, cfg)
			want, rejects := expected(t, s, cfg, records)
			if len(want) == 0 || rejects == 0 {
				t.Fatalf("sample %s: %d good records and %d bad; a sample needs both", s.file, len(want), rejects)
			}
			send(t, cfg, records)
			run(t, cfg)
			conn := stack.ClickHouse(t)
			db := cfg.ClickHouse.Database
			defer func() {
				if !t.Failed() {
					conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
				}
			}()
			rows, err := conn.Query(context.Background(), "SELECT call_key, caller, callee, toUnixTimestamp(start_time), toString(disposition) FROM "+db+".cdrs FINAL")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var key, caller, callee, disp string
				var start uint32
				if err := rows.Scan(&key, &caller, &callee, &start, &disp); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s %s %s %d %s", key, caller, callee, start, disp))
			}
			rows.Close()
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("cdrs holds\n%q\nthe decoder reads from %s\n%q", got, s.file, want)
			}
			if n := e2e.Count(t, conn, "SELECT count() FROM "+db+".cdr_rejects"); n != uint64(rejects) {
				t.Errorf("cdr_rejects holds %d rows, want %d", n, rejects)
			}
		})
	}
}

// split reads the sample's records as a file.
func split(t *testing.T, s sample, cfg config.Config) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.FromSlash(s.file))
	if err != nil {
		t.Fatal(err)
	}
	p, err := formats.NewParser(s.format, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	if err := p.Split(bytes.NewReader(raw), func(rec []byte) error {
		out = append(out, bytes.Clone(rec))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// expected decodes the records as a topic's messages: the rows cdrs must
// hold, one per call key, and how many records are rejected.
func expected(t *testing.T, s sample, cfg config.Config, records [][]byte) (rows []string, rejects int) {
	t.Helper()
	d, err := formats.NewDecoder(s.format, cfg)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rec := range records {
		c, err := d.Decode(rec, time.Now())
		if err != nil {
			rejects++
			continue
		}
		if seen[c.Key] {
			continue
		}
		seen[c.Key] = true
		rows = append(rows, fmt.Sprintf("%s %s %s %d %s", c.Key, c.Caller, c.Callee, c.StartTime.Unix(), c.Disposition))
	}
	slices.Sort(rows)
	return rows, rejects
}

// send writes one message per record, in order, to one partition: the
// order a switch wrote them in, which decides which of two rows of one
// call is kept.
func send(t *testing.T, cfg config.Config, records [][]byte) {
	t.Helper()
	ctx := context.Background()
	if err := source.EnsureTopic(ctx, cfg.Kafka.Brokers, cfg.Kafka.Topic, 1); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(cfg.Kafka.Brokers...), Topic: cfg.Kafka.Topic, RequiredAcks: kafka.RequireAll,
		AllowAutoTopicCreation: true}
	defer w.Close()
	msgs := make([]kafka.Message, len(records))
	for i, r := range records {
		msgs[i] = kafka.Message{Value: r}
	}
	// A topic just made may not be known to every broker connection yet.
	for try := 0; ; try++ {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return
		}
		var we kafka.WriteErrors
		if errors.As(err, &we) && len(we) > 0 && we[0] != nil {
			err = we[0] // the same for every message
		}
		if !errors.Is(err, kafka.UnknownTopicOrPartition) || try == 20 {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// run reads the topic into ClickHouse until caught up.
func run(t *testing.T, cfg config.Config) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := sink.Open(ctx, cfg.ClickHouse, cfg.Sink, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	src, err := source.NewGroup(ctx, cfg.Kafka, log)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	r, err := pipeline.New(cfg, pipeline.Options{UntilCaughtUp: true}, src, s, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
}
