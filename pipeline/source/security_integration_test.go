package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/e2e"
	"github.com/cdrpipe/cdrpipe/pipeline/source"
	"github.com/cdrpipe/cdrpipe/traffic"
)

// secured is a Kafka configuration for the local broker's secured
// listeners: SASL_SSL with mechanism (TLS trusting the test CA), or, with
// mechanism "none", SSL with the test client certificate.
func secured(sec e2e.Secure, mechanism, topic string) config.Kafka {
	k := config.Default().Kafka
	k.Topic, k.Group = topic, e2e.Name("secured")
	k.TLS = config.TLS{Enabled: true, CAFile: sec.File("ca.crt")}
	k.SASL = config.SASL{Mechanism: mechanism, Username: sec.KafkaUser, Password: sec.KafkaPassword}
	k.Brokers = []string{sec.KafkaSASL}
	if mechanism == "none" {
		k.Brokers = []string{sec.KafkaMTLS}
		k.TLS.CertFile, k.TLS.KeyFile = sec.File("client.crt"), sec.File("client.key")
	}
	return k
}

// TestSecuredKafka produces and consumes through each way a secured
// cluster lets clients in: SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
// over TLS, and TLS with a client certificate.
func TestSecuredKafka(t *testing.T) {
	sec := e2e.RequireSecure(t)
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512", "none"} {
		t.Run(mech, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			k := secured(sec, mech, e2e.Name("cdrs_secured"))
			conn, err := source.Connect(k)
			if err != nil {
				t.Fatal(err)
			}
			if err := conn.Check(ctx); err != nil {
				t.Fatalf("check: %v", err)
			}
			if err := source.EnsureTopicOn(ctx, conn, k.Topic, 2); err != nil {
				t.Fatal(err)
			}
			var lines strings.Builder
			for i := range 50 {
				fmt.Fprintf(&lines, `{"caller":"+86139%08d","callee":"+8613800000001","start_time":1795935603}`+"\n", i)
			}
			sent, err := traffic.Produce(ctx, traffic.ProduceConfig{Brokers: conn.Brokers, Topic: k.Topic, Transport: conn.Transport()},
				strings.NewReader(lines.String()), nil)
			if err != nil || sent != 50 {
				t.Fatalf("produced %d: %v", sent, err)
			}
			g, err := source.NewGroup(ctx, k, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			a, err := g.Next(ctx)
			if err != nil {
				t.Fatalf("join: %v", err)
			}
			defer a.Close()
			a.Read(nil, nil)
			next := map[int]source.Commit{}
			for range 50 {
				m, err := a.Fetch(ctx)
				if err != nil {
					t.Fatalf("fetch: %v", err)
				}
				next[m.Partition] = source.Commit{Offset: m.Offset + 1}
			}
			if err := a.Commit(ctx, next); err != nil {
				t.Fatalf("commit: %v", err)
			}
		})
	}
}

// TestKafkaRefusalsEndAtOnce: a wrong password, a certificate nobody
// vouches for and a missing client certificate are reported at once, the
// first two as configuration errors.
func TestKafkaRefusalsEndAtOnce(t *testing.T) {
	sec := e2e.RequireSecure(t)
	check := func(name string, k config.Kafka, want func(error) bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		conn, err := source.Connect(k)
		if err == nil {
			err = conn.Check(ctx)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s: took %v to give up", name, took)
		}
		if err == nil || !want(err) {
			t.Errorf("%s: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	wrong := secured(sec, "scram-sha-256", "t")
	wrong.SASL.Password = "not-the-password"
	check("wrong password", wrong, func(err error) bool { return errors.Is(err, config.ErrCredentials) })
	plainWrong := secured(sec, "plain", "t")
	plainWrong.SASL.Password = "not-the-password"
	check("wrong PLAIN password", plainWrong, func(err error) bool { return errors.Is(err, config.ErrCredentials) })
	untrusted := secured(sec, "plain", "t")
	untrusted.TLS.CAFile = ""
	check("untrusted certificate", untrusted, func(err error) bool {
		var ce *config.Error
		return errors.As(err, &ce) && ce.Key == "kafka.tls.ca_file"
	})
	noCert := secured(sec, "none", "t")
	noCert.TLS.CertFile, noCert.TLS.KeyFile = "", ""
	check("no client certificate", noCert, func(err error) bool {
		var ce *config.Error
		return errors.As(err, &ce) && ce.Key == "kafka.tls.cert_file"
	})
}
