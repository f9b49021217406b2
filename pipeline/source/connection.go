package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/cdrpipe/cdrpipe/config"
	"github.com/cdrpipe/cdrpipe/internal/tlsconf"
)

// Connection is how cdrpipe reaches the brokers: their addresses, and the
// TLS and SASL of a secured cluster. Every client cdrpipe makes (the
// group reader, replays, the admin client, topic creation, producers)
// connects through one.
type Connection struct {
	Brokers []string
	TLS     *tls.Config    // nil: plaintext
	SASL    sasl.Mechanism // nil: none
}

// Connect builds the connection cfg describes. A file it cannot read or a
// mechanism it does not know is a configuration error naming the key.
func Connect(cfg config.Kafka) (Connection, error) {
	c := Connection{Brokers: cfg.Brokers}
	if cfg.TLS.Enabled {
		tc, err := tlsconf.Client(tlsconf.Files{CAFile: cfg.TLS.CAFile, CertFile: cfg.TLS.CertFile,
			KeyFile: cfg.TLS.KeyFile, ServerName: cfg.TLS.ServerName})
		if err != nil {
			return c, &config.Error{Key: "kafka.tls", Msg: err.Error()}
		}
		c.TLS = tc
	}
	var err error
	switch s := cfg.SASL; s.Mechanism {
	case "", "none":
	case "plain":
		c.SASL = plain.Mechanism{Username: s.Username, Password: s.Password}
	case "scram-sha-256":
		c.SASL, err = scram.Mechanism(scram.SHA256, s.Username, s.Password)
	case "scram-sha-512":
		c.SASL, err = scram.Mechanism(scram.SHA512, s.Username, s.Password)
	default:
		err = fmt.Errorf("unknown mechanism %q", s.Mechanism)
	}
	if err != nil {
		return c, &config.Error{Key: "kafka.sasl.mechanism", Msg: err.Error()}
	}
	return c, nil
}

// Plain is a plaintext connection to brokers, as the local stack's tests
// and benchmarks use.
func Plain(brokers []string) Connection { return Connection{Brokers: brokers} }

// Dialer returns a dialer for readers and single connections.
func (c Connection) Dialer() *kafka.Dialer {
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: c.TLS, SASLMechanism: c.SASL}
}

// Transport returns a transport for the admin client and producers.
func (c Connection) Transport() *kafka.Transport {
	return &kafka.Transport{DialTimeout: 10 * time.Second, TLS: c.TLS, SASL: c.SASL}
}

// Check connects to the brokers in turn, TLS and SASL included, until
// one accepts. Refused credentials and an untrusted certificate are
// configuration errors (config.ErrCredentials, a config.Error naming the
// CA setting), reported at once: a consumer retrying them would only fill
// the broker's log.
func (c Connection) Check(ctx context.Context) error {
	var errs []error
	d := c.Dialer()
	for _, b := range c.Brokers {
		err := ask(ctx, d, b)
		if err == nil {
			return nil
		}
		if err = setupError(err); config.IsConfigError(err) {
			return fmt.Errorf("kafka broker %s: %w", b, err)
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("no kafka broker reachable at %v: %w", c.Brokers, errors.Join(errs...))
}

// ask connects to broker and asks it for the cluster's brokers: a request
// after the handshake, since with TLS 1.3 a broker that wants a client
// certificate says so only then.
func ask(ctx context.Context, d *kafka.Dialer, broker string) error {
	conn, err := d.DialContext(ctx, "tcp", broker)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	_, err = conn.Brokers()
	return err
}

// setupError marks errors that say the configuration is wrong rather
// than the brokers unwell.
func setupError(err error) error {
	if errors.Is(err, kafka.SASLAuthenticationFailed) || errors.Is(err, kafka.IllegalSASLState) ||
		errors.Is(err, kafka.UnsupportedSASLMechanism) {
		return fmt.Errorf("%w: %v (check kafka.sasl.mechanism, username and password)", config.ErrCredentials, err)
	}
	var unknown x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	var hostname x509.HostnameError
	if errors.As(err, &unknown) || errors.As(err, &verify) || errors.As(err, &hostname) {
		return &config.Error{Key: "kafka.tls.ca_file", Msg: fmt.Sprintf("the broker's certificate is not trusted: %v", err)}
	}
	// The alert a TLS server sends when it wants a client certificate and
	// got none (or none it trusts); crypto/tls has no type for it.
	if msg := err.Error(); strings.Contains(msg, "tls: certificate required") || strings.Contains(msg, "tls: bad certificate") ||
		strings.Contains(msg, "tls: unknown certificate authority") {
		return &config.Error{Key: "kafka.tls.cert_file", Msg: fmt.Sprintf("the broker wants a client certificate it trusts: %v", err)}
	}
	return err
}
