package brokertest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"
)

// CA is a certificate authority made for one test.
type CA struct {
	PEM  []byte // the CA certificate, for a client's or server's trust store
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// NewCA makes a self-signed CA named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := rsaKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"sysmon tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert: cert, key: key}
}

// Server issues a server certificate for the given host names and IP
// addresses; it returns the certificate and its key in PEM.
func (ca *CA) Server(t testing.TB, hosts ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	tmpl := ca.template(t, hosts[0], x509.ExtKeyUsageServerAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return ca.issue(t, tmpl)
}

// Client issues a client certificate (for mutual TLS) named name.
func (ca *CA) Client(t testing.TB, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	return ca.issue(t, ca.template(t, name, x509.ExtKeyUsageClientAuth))
}

func (ca *CA) template(t testing.TB, cn string, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"sysmon tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
}

func (ca *CA) issue(t testing.TB, tmpl *x509.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	key := rsaKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	// PKCS #1 ("RSA PRIVATE KEY"): what every Erlang/OTP release reads.
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TLSNode is a private node with a TLS listener.
type TLSNode struct {
	*Node
	TLSPort int
}

// TLSURL is the node's amqps:// URL for host (an address or a name).
func (n *TLSNode) TLSURL(host string) string {
	return fmt.Sprintf("amqps://guest:guest@%s/", net.JoinHostPort(host, fmt.Sprint(n.TLSPort)))
}

// StartTLS boots a private node that also listens for TLS on 127.0.0.1,
// presenting certPEM/keyPEM and trusting caPEM for client certificates.
// With requireClientCert the broker refuses clients without a certificate
// signed by that CA (mutual TLS).
func StartTLS(t testing.TB, caPEM, certPEM, keyPEM []byte, requireClientCert bool) *TLSNode {
	t.Helper()
	port := nodePort(t)
	conf := []string{
		fmt.Sprintf("listeners.ssl.default = 127.0.0.1:%d", port),
		"ssl_options.cacertfile = $DIR/ca.pem",
		"ssl_options.certfile = $DIR/server.pem",
		"ssl_options.keyfile = $DIR/server.key",
	}
	if requireClientCert {
		conf = append(conf, "ssl_options.verify = verify_peer", "ssl_options.fail_if_no_peer_cert = true")
	} else {
		conf = append(conf, "ssl_options.verify = verify_none", "ssl_options.fail_if_no_peer_cert = false")
	}
	n := StartWith(t, Options{Config: conf,
		Files: map[string][]byte{"ca.pem": caPEM, "server.pem": certPEM, "server.key": keyPEM}})
	return &TLSNode{Node: n, TLSPort: port}
}
