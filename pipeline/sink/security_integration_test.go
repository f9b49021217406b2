package sink_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/sink"
	"github.com/cdrpipe/cdrpipe/schemas"
)

// secureConfig is ClickHouse's secure port with TLS trusting the test CA,
// as user and password.
func secureConfig(sec e2e.Secure, user, password string) config.Config {
	c := config.Default()
	c.ClickHouse.Addr = sec.ClickHouseAddr
	c.ClickHouse.Username, c.ClickHouse.Password = user, password
	c.ClickHouse.TLS = config.TLS{Enabled: true, CAFile: sec.File("ca.crt")}
	c.ClickHouse.Database = e2e.Name("cdrpipe_tls")
	return c
}

// TestClickHouseOverTLSWithUsers: the pipeline's writer migrates and
// writes over TLS as a password user; the analyst reads the blocklist but
// can neither write nor drop.
func TestClickHouseOverTLSWithUsers(t *testing.T) {
	sec := e2e.RequireSecure(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := secureConfig(sec, sec.Writer, sec.WriterPassword)
	w, err := sink.Open(ctx, cfg.ClickHouse, cfg.Sink, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer w.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.ClickHouse.Database)
	if err := w.Ping(ctx); err != nil {
		t.Fatalf("writer over TLS: %v", err)
	}
	if _, err := w.Migrate(ctx, cfg.Verdict()); err != nil {
		t.Fatal(err)
	}
	var b sink.Batch
	b.AddFlag(&schemas.Flag{Number: "+8613900000001", Detector: "sequential_dialing", WindowStart: time.Unix(1795935600, 0),
		WindowEnd: time.Unix(1795939200, 0), Score: 0.9, Evidence: "30 numbers in runs", FlaggedAt: time.Now()})
	if err := w.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}

	ro := secureConfig(sec, sec.Analyst, sec.AnalystPassword)
	ro.ClickHouse.Database = cfg.ClickHouse.Database
	a, err := sink.Open(ctx, ro.ClickHouse, ro.Sink, discard())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if n := e2e.Count(t, a.Conn(), "SELECT count() FROM "+cfg.ClickHouse.Database+".blocklist"); n != 1 {
		t.Errorf("the analyst sees %d numbers on the blocklist, want 1", n)
	}
	for _, stmt := range []string{
		"INSERT INTO " + cfg.ClickHouse.Database + ".allowlist (entry, reason) VALUES ('+86110', 'x')",
		"DROP TABLE " + cfg.ClickHouse.Database + ".cdrs",
		"CREATE DATABASE analyst_made_this",
	} {
		if err := a.Conn().Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "readonly") {
			t.Errorf("the read-only analyst ran %q: %v", stmt, err)
		}
	}
}

// TestClickHouseRefusalsEndAtOnce: a wrong password and a server
// certificate nobody vouches for are configuration errors, reported at
// once instead of retried.
func TestClickHouseRefusalsEndAtOnce(t *testing.T) {
	sec := e2e.RequireSecure(t)
	stack := e2e.Require(t)
	check := func(name string, c config.Config, want func(error) bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := sink.Open(ctx, c.ClickHouse, c.Sink, discard())
		if err == nil {
			start := time.Now()
			err = s.Ping(ctx)
			s.Close()
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("%s: took %v to give up", name, took)
			}
		}
		if err == nil || !want(err) {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	wrong := config.Default()
	wrong.ClickHouse.Addr = stack.ClickHouseAddr
	wrong.ClickHouse.Username, wrong.ClickHouse.Password = sec.Writer, "not-the-password"
	check("wrong password", wrong, func(err error) bool { return errors.Is(err, config.ErrCredentials) })

	untrusted := secureConfig(sec, sec.Writer, sec.WriterPassword)
	untrusted.ClickHouse.TLS.CAFile = "" // the system's roots do not know the test CA
	check("untrusted certificate", untrusted, func(err error) bool {
		var ce *config.Error
		return errors.As(err, &ce) && ce.Key == "clickhouse.tls.ca_file"
	})
}

// discard is a logger that writes nothing.
func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
