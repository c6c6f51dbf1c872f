package config

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Broker is how a daemon reaches RabbitMQ. URLs carry credentials: log only
// Redacted().
type Broker struct {
	URLs         []string
	Exchange     string
	ExchangeType string
	Heartbeat    time.Duration
	ReconnectMax time.Duration // cap of the exponential reconnect backoff
	TLS          *tls.Config   // for amqps:// brokers; nil when none uses TLS
	// InsecureTLS is set when certificate checks are off; daemons warn at start.
	InsecureTLS bool
	// ReadableSecrets are the files holding the broker password or the
	// client key that every user of the machine may read; daemons warn at
	// start.
	ReadableSecrets []string
}

// ConsistentHash is the exchange type of RabbitMQ's consistent-hash plugin
// (rabbitmq_consistent_hash_exchange): it spreads hosts over the queues
// bound to it by their routing key (the host name), each queue's share
// weighted by its binding key. Shards of a sharded deployment use it.
const ConsistentHash = "x-consistent-hash"

// Redacted returns the broker URLs with the password masked.
func (b Broker) Redacted() []string {
	out := make([]string, len(b.URLs))
	for i, u := range b.URLs {
		out[i] = RedactURL(u)
	}
	return out
}

var urlKeys = []string{"RABBITMQ_HOST", "RABBITMQ_PORT", "RABBITMQ_USER", "RABBITMQ_PASSWORD", "RABBITMQ_VHOST"}

// LoadBroker reads the prototype's RABBITMQ_HOST/RABBITMQ_PORT (and sysmon's
// credentials and vhost beside them), or RABBITMQ_URL instead of all of those.
// Both may list several brokers separated by commas.
func LoadBroker(l *Loader) Broker {
	b := Broker{
		Exchange:     l.Name("EXCHANGE_NAME", "system_info"),
		ExchangeType: l.Enum("EXCHANGE_TYPE", "fanout", "fanout", "topic", "direct", "headers", ConsistentHash),
		Heartbeat:    l.Duration("RABBITMQ_HEARTBEAT", 10*time.Second, time.Second, 10*time.Minute),
		ReconnectMax: l.Duration("RECONNECT_MAX_DELAY", 15*time.Second, 100*time.Millisecond, 10*time.Minute),
	}
	checkExchange(l, b.Exchange, b.ExchangeType)
	password, passwordSet, passwordFile := loadPassword(l)
	b.ReadableSecrets = readableByOthers(passwordFile)

	if raw, ok := l.raw("RABBITMQ_URL"); ok {
		for _, k := range urlKeys {
			if l.IsSet(k) {
				l.Fail("RABBITMQ_URL", "conflicts with %s: give either RABBITMQ_URL or the RABBITMQ_HOST/PORT/USER/PASSWORD/VHOST keys, not both", k)
				return b
			}
		}
		list := splitList(raw)
		for i, s := range list {
			u, err := parseBrokerURL(s)
			if err != nil {
				which := ""
				if len(list) > 1 {
					which = fmt.Sprintf("URL %d of %d: ", i+1, len(list))
				}
				l.Fail("RABBITMQ_URL", "%s%v", which, err)
				return b
			}
			if _, inURL := u.User.Password(); inURL && !passwordSet && l.fromFile("RABBITMQ_URL") && len(b.ReadableSecrets) == 0 {
				b.ReadableSecrets = readableByOthers(l.file)
			}
			if passwordSet {
				name := "guest"
				if u.User != nil {
					name = u.User.Username()
				}
				u.User = url.UserPassword(name, password)
			}
			b.URLs = append(b.URLs, u.String())
		}
		if len(b.URLs) == 0 {
			l.Fail("RABBITMQ_URL", "expected at least one amqp:// or amqps:// URL, got an empty value")
		}
		l.IsSet("RABBITMQ_TLS") // known, but the URLs' scheme decides
		b.TLS, b.InsecureTLS = loadTLS(l, b.URLs)
		b.ReadableSecrets = append(b.ReadableSecrets, readableByOthers(l.String("RABBITMQ_KEY_FILE", ""))...)
		return b
	}

	useTLS := l.Bool("RABBITMQ_TLS", false)
	scheme, defPort := "amqp", 5672
	if useTLS {
		scheme, defPort = "amqps", 5671
	}
	port := l.Int("RABBITMQ_PORT", defPort, 1, 65535)
	user := l.String("RABBITMQ_USER", "guest")
	if !passwordSet {
		password = "guest"
	}
	vhost := l.String("RABBITMQ_VHOST", "/")
	if err := CheckName(vhost); err != nil {
		l.Fail("RABBITMQ_VHOST", "expected a virtual host name of 1 to %d bytes of UTF-8 without control characters, got one that %v", MaxName, err)
	}
	hosts := splitList(l.String("RABBITMQ_HOST", "localhost"))
	if len(hosts) == 0 {
		l.Fail("RABBITMQ_HOST", "expected a host name or address, got an empty value")
	}
	for _, h := range hosts {
		if strings.ContainsAny(h, "@/?#") {
			l.Fail("RABBITMQ_HOST", "expected host names or addresses (host or host:port), comma-separated; the user and password go in RABBITMQ_USER and RABBITMQ_PASSWORD")
			return b
		}
		hostPort := h
		if _, _, err := net.SplitHostPort(h); err != nil {
			hostPort = net.JoinHostPort(strings.Trim(h, "[]"), strconv.Itoa(port))
		}
		u := url.URL{Scheme: scheme, User: url.UserPassword(user, password), Host: hostPort, Path: "/" + vhost}
		// The path is the vhost, escaped whole: "/" becomes "%2F".
		u.RawPath = "/" + url.PathEscape(vhost)
		if _, err := parseBrokerURL(u.String()); err != nil {
			l.Fail("RABBITMQ_HOST", "expected host names or addresses (host or host:port), comma-separated, got %q", clip(h, 64))
			return b
		}
		b.URLs = append(b.URLs, u.String())
	}
	b.TLS, b.InsecureTLS = loadTLS(l, b.URLs)
	b.ReadableSecrets = append(b.ReadableSecrets, readableByOthers(l.String("RABBITMQ_KEY_FILE", ""))...)
	return b
}

// loadPassword reads RABBITMQ_PASSWORD or RABBITMQ_PASSWORD_FILE (a path,
// relative ones resolved in systemd's $CREDENTIALS_DIRECTORY). file is the
// file the password was read from, "" when it came from the environment.
func loadPassword(l *Loader) (password string, set bool, file string) {
	file, fileSet := l.raw("RABBITMQ_PASSWORD_FILE")
	pw, pwSet := l.raw("RABBITMQ_PASSWORD")
	if fileSet && pwSet {
		l.Fail("RABBITMQ_PASSWORD_FILE", "conflicts with RABBITMQ_PASSWORD: give one of them")
		return "", false, ""
	}
	if !fileSet {
		if strings.ContainsRune(pw, 0) {
			l.Fail("RABBITMQ_PASSWORD", "contains a NUL byte, which an AMQP login cannot carry")
			return "", false, ""
		}
		if pwSet && pw != "" && l.fromFile("RABBITMQ_PASSWORD") {
			return pw, true, l.file
		}
		return pw, pwSet, ""
	}
	if !filepath.IsAbs(file) {
		if dir, ok := l.lookupEnv("CREDENTIALS_DIRECTORY"); ok {
			file = filepath.Join(dir, file)
		}
	}
	pw, ok := l.readSecretFile("RABBITMQ_PASSWORD_FILE", file, "password")
	if !ok {
		return "", false, ""
	}
	return pw, true, file
}

// readableByOthers returns path when every user of the machine may read it
// (mode o+r), for a warning: it holds a credential.
func readableByOthers(path string) []string {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o004 == 0 {
		return nil
	}
	return []string{path}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// HTTP is where a daemon listens and who may talk to it.
type HTTP struct {
	Host     string
	Port     int
	CertFile string // with KeyFile: serve HTTPS
	KeyFile  string
	Auth     Credentials
	// AllowedHosts are the Host names (APP_ALLOWED_HOSTS) the server
	// answers to besides loopback names, IP addresses and the system's host
	// name: lower case, no port; "*.example.com" stands for its subdomains.
	// AnyHost ("*") turns the check off.
	AllowedHosts []string
	AnyHost      bool
}

// TLS tells whether the listener serves HTTPS.
func (h HTTP) TLS() bool { return h.CertFile != "" }

// Addr is host:port for net.Listen.
func (h HTTP) Addr() string { return net.JoinHostPort(h.Host, strconv.Itoa(h.Port)) }

// LoadHTTP reads APP_HOST (default loopback: opening a port to the network is
// the operator's decision) and the prototype's APP_PORT.
func LoadHTTP(l *Loader, defPort int) HTTP {
	h := HTTP{Host: l.String("APP_HOST", "127.0.0.1"), Port: l.Int("APP_PORT", defPort, 1, 65535)}
	if h.Host != "" && h.Host != "localhost" && net.ParseIP(strings.Trim(h.Host, "[]")) == nil {
		l.Fail("APP_HOST", "expected an IP address to listen on (0.0.0.0 for every IPv4 address, :: for every address), got %q", h.Host)
	}
	h.Host = strings.Trim(h.Host, "[]")
	h.CertFile, h.KeyFile = l.String("TLS_CERT_FILE", ""), l.String("TLS_KEY_FILE", "")
	if (h.CertFile == "") != (h.KeyFile == "") {
		l.Fail("TLS_CERT_FILE", "HTTPS needs both TLS_CERT_FILE and TLS_KEY_FILE")
	} else if h.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(h.CertFile, h.KeyFile); err != nil {
			l.Fail("TLS_CERT_FILE", "cannot load the certificate and key: %v", err)
		}
	}
	h.AllowedHosts, h.AnyHost = loadAllowedHosts(l)
	if v := l.String("AUTH_BASIC", ""); v != "" {
		user, hash, err := parseBasic(v)
		if err != nil {
			l.Fail("AUTH_BASIC", "%v", err)
		}
		h.Auth.User, h.Auth.PasswordHash = user, hash
	}
	if v := l.String("AUTH_BEARER_SHA256", ""); v != "" {
		sum, err := parseTokenSHA256(v)
		if err != nil {
			l.Fail("AUTH_BEARER_SHA256", "%v", err)
		}
		h.Auth.TokenSHA256 = sum
	}
	return h
}

// Describe summarises the listener for -check-config.
func (h HTTP) Describe() string {
	scheme := "http"
	if h.TLS() {
		scheme = "https"
	}
	a := "none"
	switch {
	case h.Auth.PasswordHash != nil && h.Auth.TokenSHA256 != nil:
		a = "basic (" + h.Auth.User + ") and bearer token"
	case h.Auth.PasswordHash != nil:
		a = "basic (" + h.Auth.User + ")"
	case h.Auth.TokenSHA256 != nil:
		a = "bearer token"
	}
	hosts := "loopback names, IP addresses, this host's name"
	switch {
	case h.AnyHost:
		hosts = "any (no DNS rebinding protection)"
	case len(h.AllowedHosts) > 0:
		hosts += ", " + strings.Join(h.AllowedHosts, ", ")
	}
	return fmt.Sprintf("%s://%s, authentication: %s, host names: %s", scheme, h.Addr(), a, hosts)
}

// loadAllowedHosts reads APP_ALLOWED_HOSTS: comma-separated host names
// (any port), "*.example.com" for every subdomain, or "*" for any name.
func loadAllowedHosts(l *Loader) (names []string, any bool) {
	raw := l.String("APP_ALLOWED_HOSTS", "")
	for _, e := range splitList(raw) {
		if e == "*" {
			any = true
			continue
		}
		name, err := allowedHostName(e)
		if err != nil {
			l.Fail("APP_ALLOWED_HOSTS", "%v in %q; expected host names separated by commas (such as dash.example.com,*.example.org), or * for any", err, raw)
			return nil, false
		}
		names = append(names, name)
	}
	return names, any
}

// allowedHostName checks one APP_ALLOWED_HOSTS entry and returns it in the
// form Host headers are compared with: lower case, without a final dot or
// IPv6 brackets.
func allowedHostName(e string) (string, error) {
	if _, port, err := net.SplitHostPort(e); err == nil {
		return "", fmt.Errorf("%q has a port (:%s): give the name alone, every port is accepted", e, port)
	}
	name := strings.TrimSuffix(strings.ToLower(e), ".")
	if ip := net.ParseIP(strings.Trim(name, "[]")); ip != nil {
		return ip.String(), nil
	}
	labels := strings.Split(strings.TrimPrefix(name, "*."), ".")
	if len(name) > 253 {
		return "", fmt.Errorf("%q is longer than 253 characters", e)
	}
	for _, lb := range labels {
		if len(lb) == 0 || len(lb) > 63 || lb[0] == '-' || lb[len(lb)-1] == '-' {
			return "", fmt.Errorf("%q is not a host name", e)
		}
		for _, c := range lb {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("%q is not a host name (%q is not allowed)", e, c)
			}
		}
	}
	return name, nil
}

// LoadLogLevel reads LOG_LEVEL.
func LoadLogLevel(l *Loader) slog.Level {
	switch l.Enum("LOG_LEVEL", "info", "debug", "info", "warning", "error") {
	case "debug":
		return slog.LevelDebug
	case "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Describe formats settings for -check-config, one "KEY = value" per line,
// in the order given.
func Describe(pairs ...[2]string) string {
	var b strings.Builder
	for _, p := range pairs {
		fmt.Fprintf(&b, "%-22s = %s\n", p[0], p[1])
	}
	return b.String()
}
