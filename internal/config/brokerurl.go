package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// encodingHint is how to write what a URL reserves, for every error about a
// broker URL. Its example is not anyone's password.
const encodingHint = "percent-encode these characters in the user name and password: " +
	"/ as %2F, # as %23, ? as %3F, @ as %40, : as %3A, % as %25, a comma as %2C, a space as %20 " +
	"(a password a/b#c is written a%2Fb%23c); or leave the password out of the URL and put it, " +
	"as it is, in RABBITMQ_PASSWORD_FILE"

// parseBrokerURL checks one amqp:// or amqps:// URL. Its errors never
// contain the URL or any part of it: a malformed URL is most often a
// password with a reserved character in it, and net/url's own errors quote
// the input. A URL whose user information looks cut by an unescaped '/',
// '?' or '#' (amqp://user:2024/Winter@mq/ reads as host "user", port 2024)
// is refused as well: it would connect somewhere else and print the rest of
// the password as a host and a path.
func parseBrokerURL(s string) (*url.URL, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (!strings.EqualFold(scheme, "amqp") && !strings.EqualFold(scheme, "amqps")) {
		return nil, errors.New("expected amqp://user:password@host:port/vhost or amqps://…")
	}
	end := strings.IndexAny(rest, "/?#")
	authority, after := rest, ""
	if end >= 0 {
		authority, after = rest[:end], rest[end:]
	}
	if strings.Contains(after, "@") {
		return nil, fmt.Errorf("the user name or password seems to contain %q, which ends the host part of a URL; %s",
			after[0], encodingHint)
	}
	if strings.Count(authority, "@") > 1 {
		return nil, fmt.Errorf("the user name or password seems to contain \"@\"; %s", encodingHint)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a valid URL (a reserved character in the password?); %s", encodingHint)
	}
	if u.Hostname() == "" {
		return nil, errors.New("expected amqp://user:password@host:port/vhost or amqps://…: the host is missing")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("the port must be from 1 to 65535 (a password with an unencoded character?); %s", encodingHint)
		}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	// What the dialer will do with it: query parameters such as
	// ?heartbeat=abc pass net/url and would fail every connection attempt.
	if _, err := amqp.ParseURI(u.String()); err != nil {
		text := err.Error()
		for _, secret := range credentials(u) {
			if strings.Contains(text, secret) {
				text = "its text is not shown: it would reveal a credential"
			}
		}
		return nil, fmt.Errorf("the AMQP client refuses this URL (%s)", text)
	}
	return u, nil
}

// CheckBrokerURL tells why s is not a usable broker URL, in words that
// never quote it (for tools that take a URL on the command line).
func CheckBrokerURL(s string) error {
	_, err := parseBrokerURL(s)
	return err
}

// credentials are the URL's user name and password, as far as they are set.
func credentials(u *url.URL) []string {
	var out []string
	if name := u.User.Username(); name != "" {
		out = append(out, name)
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		out = append(out, pw)
	}
	return out
}

// RedactURL masks the password of an AMQP URL; a URL that does not pass
// parseBrokerURL is hidden whole, since its password may sit anywhere.
func RedactURL(s string) string {
	u, err := parseBrokerURL(s)
	if err != nil {
		return "<unusable URL, not shown>"
	}
	return u.Redacted()
}
