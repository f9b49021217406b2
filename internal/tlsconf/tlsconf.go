// Package tlsconf builds the TLS client configuration cdrpipe uses for
// Kafka and ClickHouse from the files an operator names: a CA to trust
// instead of the system's, and a client certificate for services that
// ask for one.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Files names what a TLS client needs. All are optional: no CA file means
// the system's roots; a client certificate needs both CertFile and
// KeyFile.
type Files struct {
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string // overrides the host name checked in the server's certificate
}

// Client returns a TLS client configuration (TLS 1.2 at least) from f.
func Client(f Files) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", f.CAFile)
		}
		c.RootCAs = pool
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		return nil, errors.New("a client certificate needs both its certificate and its key file")
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
