package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
)

// loadTLS reads the TLS keys of the broker connection. They only make sense
// with amqps:// brokers: giving them for plain amqp:// is an error, never a
// silent downgrade. The returned config is nil when no broker uses TLS.
func loadTLS(l *Loader, urls []string) (*tls.Config, bool) {
	anyTLS := false
	for _, s := range urls {
		if u, err := url.Parse(s); err == nil && u.Scheme == "amqps" {
			anyTLS = true
		}
	}
	ca := l.String("RABBITMQ_CA_FILE", "")
	cert := l.String("RABBITMQ_CERT_FILE", "")
	key := l.String("RABBITMQ_KEY_FILE", "")
	serverName := l.String("RABBITMQ_TLS_SERVER_NAME", "")
	insecure := l.Bool("RABBITMQ_TLS_INSECURE_SKIP_VERIFY", false)
	if !anyTLS {
		for _, k := range []string{"RABBITMQ_CA_FILE", "RABBITMQ_CERT_FILE", "RABBITMQ_KEY_FILE", "RABBITMQ_TLS_SERVER_NAME", "RABBITMQ_TLS_INSECURE_SKIP_VERIFY"} {
			if l.IsSet(k) {
				l.Fail(k, "is a TLS setting but no broker uses TLS: set RABBITMQ_TLS=true or use amqps:// URLs")
			}
		}
		return nil, false
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName, InsecureSkipVerify: insecure}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			l.Fail("RABBITMQ_CA_FILE", "cannot read the CA file: %v", err)
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				l.Fail("RABBITMQ_CA_FILE", "expected PEM certificates in %s, found none", ca)
			}
			cfg.RootCAs = pool
		}
	}
	switch {
	case (cert == "") != (key == ""):
		k := "RABBITMQ_CERT_FILE"
		if cert != "" {
			k = "RABBITMQ_KEY_FILE"
		}
		l.Fail(k, "a client certificate needs both RABBITMQ_CERT_FILE and RABBITMQ_KEY_FILE")
	case cert != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			l.Fail("RABBITMQ_CERT_FILE", "cannot load the client certificate and key: %v", err)
		} else {
			cfg.Certificates = []tls.Certificate{pair}
		}
	}
	return cfg, insecure
}

// TLSSummary describes the TLS settings for -check-config.
func (b Broker) TLSSummary() string {
	if b.TLS == nil {
		return "off"
	}
	s := "on, system CAs"
	if b.TLS.RootCAs != nil {
		s = "on, CA file"
	}
	if len(b.TLS.Certificates) > 0 {
		s += ", client certificate"
	}
	if b.TLS.ServerName != "" {
		s += fmt.Sprintf(", server name %q", b.TLS.ServerName)
	}
	if b.TLS.InsecureSkipVerify {
		s += ", CERTIFICATE NOT VERIFIED"
	}
	return s
}
