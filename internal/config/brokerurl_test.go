package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestBadBrokerURLNeverShowsThePassword: every refused URL is reported with
// the file, the line and the key, says how to write it, and holds no part
// of the password, not even when the URL parser would read part of the
// password as a port, a host or a path.
func TestBadBrokerURLNeverShowsThePassword(t *testing.T) {
	cases := []struct {
		url  string
		want string
	}{
		{"amqp://sysmon:2024/Winter@mq/", "%2F"},
		{"amqp://sysmon:2024/Winter@mq:5672/vh", "%2F"},
		{"amqp://sysmon:2024#Winter@mq/", "%23"},
		{"amqp://sysmon:2024?Winter@mq/", "%3F"},
		{"amqp://sysmon:2024@Winter@mq/", "%40"},
		{"amqp://sysmon:2024%Winter@mq/", "%25"},
		{"amqp://sysmon:2024 Winter@mq/", "%20"},
		{"amqp://sysmon:2024Winter@mq:99999/", "1 to 65535"},
		{"amqp://sysmon:2024Winter@mq/?heartbeat=abc", "heartbeat"},
		{"http://sysmon:2024Winter@mq/", "amqp://"},
		{"amqp://sysmon:2024Winter@/", "host is missing"},
		{"amqp://ok@mq/,amqp://sysmon:2024/Winter@mq/", "URL 2 of 2"},
	}
	for i, c := range cases {
		// Named by number: t.TempDir's path holds the subtest's name.
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			l, err := Open(write(t, "# broker\nRABBITMQ_URL="+c.url+"\n"), true, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			b := LoadBroker(l)
			err = l.Err()
			if err == nil {
				t.Fatalf("%s accepted as %q", c.url, b.Redacted())
			}
			msg := err.Error()
			for _, w := range []string{"x.env:2: RABBITMQ_URL: ", c.want} {
				if !strings.Contains(msg, w) {
					t.Errorf("%s: error %q does not contain %q", c.url, msg, w)
				}
			}
			r := RedactURL(c.url)
			// The file's path is a random temporary directory, whose
			// digits may hold "2024": judge what follows it.
			said := msg[strings.Index(msg, "x.env:2: "):]
			for _, secret := range []string{"Winter", "2024"} {
				if strings.Contains(said, secret) {
					t.Errorf("%s: error shows the password: %q", c.url, msg)
				}
				if strings.Contains(r, secret) {
					t.Errorf("%s: RedactURL gives %q", c.url, r)
				}
			}
		})
	}
}

func TestPercentEncodedPasswordIsKeptAndMasked(t *testing.T) {
	l, _ := Open(write(t, "RABBITMQ_URL=amqp://sysmon:2024%2FWinter%23x@mq:5673/prod\n"), true, noEnv)
	b := LoadBroker(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	u, err := parseBrokerURL(b.URLs[0])
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); pw != "2024/Winter#x" || u.Host != "mq:5673" {
		t.Fatalf("password %q, host %q", pw, u.Host)
	}
	if got := b.Redacted()[0]; got != "amqp://sysmon:xxxxx@mq:5673/prod" {
		t.Fatalf("redacted %q", got)
	}
}

// TestPasswordKeyTakesAnyCharacter: RABBITMQ_PASSWORD needs no encoding,
// the URL is built with it escaped.
func TestPasswordKeyTakesAnyCharacter(t *testing.T) {
	l, _ := Open(write(t, "RABBITMQ_USER=sysmon\nRABBITMQ_PASSWORD=2024/Winter@mq:1#x ?%\n"), true, noEnv)
	b := LoadBroker(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	u, err := parseBrokerURL(b.URLs[0])
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); pw != "2024/Winter@mq:1#x ?%" || u.Host != "localhost:5672" {
		t.Fatalf("password %q, host %q", pw, u.Host)
	}
	if r := b.Redacted()[0]; strings.Contains(r, "Winter") {
		t.Fatalf("redacted %q", r)
	}
}

// TestReadableSecrets: a file that holds the broker password and that
// every user may read is reported (the daemons warn at start); one that
// only its owner and group can read, or one whose password the environment
// overrides, is not.
func TestReadableSecrets(t *testing.T) {
	chmod := func(t *testing.T, p string, mode os.FileMode) string {
		t.Helper()
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pwFile := chmod(t, write(t, "s3cret\n"), 0o644)
	privateFile := chmod(t, write(t, "s3cret\n"), 0o640)
	cases := []struct {
		name    string
		content string
		mode    os.FileMode
		env     map[string]string
		want    string // "env" for the env file itself
	}{
		{"password in a world-readable env file", "RABBITMQ_PASSWORD=a#b\n", 0o644, nil, "env"},
		{"password in a group-readable env file", "RABBITMQ_PASSWORD=a#b\n", 0o640, nil, ""},
		{"URL with password in a world-readable env file", "RABBITMQ_URL=amqp://u:p@mq/\n", 0o604, nil, "env"},
		{"URL without password", "RABBITMQ_URL=amqp://u@mq/\n", 0o644, nil, ""},
		{"no password at all", "RABBITMQ_HOST=mq\n", 0o644, nil, ""},
		{"password from the environment", "RABBITMQ_PASSWORD=a#b\n", 0o644, map[string]string{"RABBITMQ_PASSWORD": "x"}, ""},
		{"world-readable password file", "RABBITMQ_PASSWORD_FILE=" + pwFile + "\n", 0o644, nil, pwFile},
		{"private password file", "RABBITMQ_PASSWORD_FILE=" + privateFile + "\n", 0o644, nil, ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			p := chmod(t, write(t, c.content), c.mode)
			l, err := Open(p, true, envOf(c.env))
			if err != nil {
				t.Fatal(err)
			}
			b := LoadBroker(l)
			if err := l.Err(); err != nil {
				t.Fatal(err)
			}
			want := c.want
			if want == "env" {
				want = p
			}
			got := strings.Join(b.ReadableSecrets, " ")
			if got != want {
				t.Errorf("%s: readable secrets %q, want %q", c.name, got, want)
			}
		})
	}
}

// TestPasswordThatCannotLogIn: a NUL byte or a line break inside the
// password would make every login fail (AMQP's PLAIN login separates the
// user and the password with NUL): refused at start, without showing it.
func TestPasswordThatCannotLogIn(t *testing.T) {
	twoLines := write(t, "s3cret\nother\n")
	for i, c := range []struct {
		content string
		env     map[string]string
		want    string
	}{
		{"RABBITMQ_PASSWORD_FILE=" + twoLines + "\n", nil, "x.env:1: RABBITMQ_PASSWORD_FILE: expected the password on one line"},
		{"", map[string]string{"RABBITMQ_PASSWORD": "s3cret\x00"}, "environment: RABBITMQ_PASSWORD: contains a NUL byte"},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			l, _ := Open(write(t, c.content), true, envOf(c.env))
			LoadBroker(l)
			err := l.Err()
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// FuzzBrokerURLNeverShowsPassword: whatever characters surround it in the
// password of RABBITMQ_URL, neither the error, nor the redacted URL of an
// accepted one, shows the password's marker.
func FuzzBrokerURLNeverShowsPassword(f *testing.F) {
	for _, s := range []string{"", "2024/", "a#", "?x", "@", ":", "%", "%2F", " ", ",", "[::1]", "x@mq:1/", "\x00", "é"} {
		f.Add(s)
	}
	const marker = "Zq9Kx"
	f.Fuzz(func(t *testing.T, s string) {
		raw := "amqp://sysmon:" + s + marker + s + "@mq/"
		if r := RedactURL(raw); strings.Contains(r, marker) {
			t.Fatalf("RedactURL(%q) = %q", raw, r)
		}
		l := &Loader{file: "f.env", entries: map[string]entry{"RABBITMQ_URL": {raw, 1}}, lookupEnv: noEnv, known: map[string]bool{}}
		b := LoadBroker(l)
		if err := l.Err(); err != nil && strings.Contains(err.Error(), marker) {
			t.Fatalf("%q: error %q", raw, err)
		}
		for _, r := range b.Redacted() {
			if strings.Contains(r, marker) {
				t.Fatalf("%q: redacted %q", raw, r)
			}
		}
	})
}
