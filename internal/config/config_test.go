package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestPrototypeEnvFileWorksUnchanged(t *testing.T) {
	// The prototype's README shows .env files like this one.
	p := write(t, "RABBITMQ_HOST=mq.example.org\nRABBITMQ_PORT=5673\nEXCHANGE_NAME=system_info\nEXCHANGE_TYPE=fanout\nAPP_PORT=8000\n")
	l, err := Open(p, true, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	b := LoadBroker(l)
	h := LoadHTTP(l, 8000)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "amqp://guest:guest@mq.example.org:5673/%2F"; len(b.URLs) != 1 || b.URLs[0] != want {
		t.Fatalf("URLs = %v, want [%s]", b.URLs, want)
	}
	if b.Exchange != "system_info" || b.ExchangeType != "fanout" || h.Port != 8000 {
		t.Fatalf("got %+v %+v", b, h)
	}
	if ws := l.Unknown(); len(ws) != 0 {
		t.Fatalf("unexpected warnings %v", ws)
	}
}

func TestDefaults(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "missing.env"), false, noEnv)
	if err != nil {
		t.Fatalf("a missing default file must mean defaults, got %v", err)
	}
	b := LoadBroker(l)
	if b.URLs[0] != "amqp://guest:guest@localhost:5672/%2F" || b.Exchange != "system_info" || b.ExchangeType != "fanout" {
		t.Fatalf("defaults: %+v", b)
	}
	if h := LoadHTTP(l, 8003); h.Addr() != "127.0.0.1:8003" || h.Host != "127.0.0.1" {
		t.Fatalf("listen default %v", h.Addr())
	}
}

func TestMissingExplicitFile(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing.env"), true, noEnv)
	if err == nil || !strings.Contains(err.Error(), "missing.env") {
		t.Fatalf("want an error naming the file, got %v", err)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	p := write(t, "EXCHANGE_NAME=from_file\nAPP_PORT=1234\n")
	l, err := Open(p, true, envOf(map[string]string{"EXCHANGE_NAME": "from_env"}))
	if err != nil {
		t.Fatal(err)
	}
	if b := LoadBroker(l); b.Exchange != "from_env" {
		t.Fatalf("exchange %q, want the environment's", b.Exchange)
	}
	if h := LoadHTTP(l, 1); h.Port != 1234 {
		t.Fatalf("port %d, want the file's", h.Port)
	}
}

func TestErrorsNameFileLineKeyAndExpectation(t *testing.T) {
	cases := []struct {
		name, content string
		want          []string
	}{
		{"bad number", "# comment\n\nRABBITMQ_PORT=abc\n", []string{"x.env:3:", "RABBITMQ_PORT", "whole number", `"abc"`}},
		{"port range", "APP_PORT=70000\n", []string{"x.env:1:", "APP_PORT", "1 to 65535"}},
		{"bad duration", "A=1\nRABBITMQ_HEARTBEAT=soon\n", []string{"x.env:2:", "RABBITMQ_HEARTBEAT", "duration"}},
		{"bad enum", "EXCHANGE_TYPE=broadcast\n", []string{"x.env:1:", "EXCHANGE_TYPE", "fanout, topic, direct, headers"}},
		{"unparsable line", "GOOD=1\nthis is not a setting\n", []string{"x.env:2:", "expected KEY=value"}},
		{"bad quote", "RABBITMQ_PASSWORD=\"unterminated\n", []string{"x.env:1:", "RABBITMQ_PASSWORD"}},
		{"conflicting pair", "RABBITMQ_HOST=a\nRABBITMQ_URL=amqp://b/\n", []string{"x.env:2:", "RABBITMQ_URL", "conflicts with RABBITMQ_HOST"}},
		{"bad url", "RABBITMQ_URL=http://b/\n", []string{"x.env:1:", "RABBITMQ_URL", "amqp://"}},
		{"password twice", "RABBITMQ_PASSWORD=a\nRABBITMQ_PASSWORD_FILE=/x\n", []string{"RABBITMQ_PASSWORD_FILE", "conflicts"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, c.content)
			l, err := Open(p, true, noEnv)
			if err == nil {
				LoadBroker(l)
				LoadHTTP(l, 8000)
				err = l.Err()
			}
			if err == nil {
				t.Fatal("no error")
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error type %T", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestErrorFromEnvironmentSaysSo(t *testing.T) {
	l, _ := Open(write(t, ""), true, envOf(map[string]string{"APP_PORT": "x"}))
	LoadHTTP(l, 1)
	if err := l.Err(); err == nil || !strings.HasPrefix(err.Error(), "environment: APP_PORT:") {
		t.Fatalf("got %v", err)
	}
}

func TestUnknownKeySuggestsClosest(t *testing.T) {
	p := write(t, "RABBITMQ_HOST=x\nRABBITMQ_PASWORD=secret\nTOTALLY_UNRELATED_THING=1\n")
	l, _ := Open(p, true, noEnv)
	LoadBroker(l)
	ws := l.Unknown()
	if len(ws) != 2 {
		t.Fatalf("warnings %v", ws)
	}
	if ws[0].Line != 2 || ws[0].Suggestion != "RABBITMQ_PASSWORD" || !strings.Contains(ws[0].String(), "did you mean RABBITMQ_PASSWORD?") {
		t.Errorf("first warning %+v", ws[0])
	}
	if ws[1].Suggestion != "" {
		t.Errorf("no suggestion expected for an unrelated key, got %q", ws[1].Suggestion)
	}
}

func TestSeveralBrokersAndVhost(t *testing.T) {
	p := write(t, "RABBITMQ_HOST=mq1, mq2:5673 ,[::1]\nRABBITMQ_USER=sysmon\nRABBITMQ_PASSWORD=p@ss/word\nRABBITMQ_VHOST=prod\n")
	l, _ := Open(p, true, noEnv)
	b := LoadBroker(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"amqp://sysmon:p%40ss%2Fword@mq1:5672/prod", "amqp://sysmon:p%40ss%2Fword@mq2:5673/prod", "amqp://sysmon:p%40ss%2Fword@[::1]:5672/prod"}
	if strings.Join(b.URLs, " ") != strings.Join(want, " ") {
		t.Fatalf("URLs\n got %v\nwant %v", b.URLs, want)
	}
	for _, r := range b.Redacted() {
		if strings.Contains(r, "ss") {
			t.Fatalf("password visible in %s", r)
		}
	}
}

func TestPasswordFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := write(t, "RABBITMQ_PASSWORD_FILE=pw\n")
	l, _ := Open(p, true, envOf(map[string]string{"CREDENTIALS_DIRECTORY": dir}))
	b := LoadBroker(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.URLs[0], ":s3cret@") {
		t.Fatalf("password not taken from the credentials directory: %v", b.Redacted())
	}
}

func TestDurationForms(t *testing.T) {
	for in, want := range map[string]time.Duration{"5": 5 * time.Second, "0.5": 500 * time.Millisecond, "1m": time.Minute, " 250ms ": 250 * time.Millisecond} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseDuration("-1"); err == nil {
		t.Error("negative seconds accepted")
	}
}

func TestBoolForms(t *testing.T) {
	p := write(t, "A=True\nB=no\nC=1\nD=maybe\n")
	l, _ := Open(p, true, noEnv)
	if !l.Bool("A", false) || l.Bool("B", true) || !l.Bool("C", false) {
		t.Fatal("bool forms")
	}
	l.Bool("D", false)
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), "x.env:4: D: expected true or false") {
		t.Fatalf("got %v", err)
	}
}

// FuzzEnvFile: whatever the file holds, loading never panics and every
// error names the file.
func FuzzEnvFile(f *testing.F) {
	f.Add("RABBITMQ_HOST=localhost\nAPP_PORT=8000\n")
	f.Add("export A=\"b\\nc\"\n# c\nB='x'\n")
	f.Add("=\n\"\nA==\n")
	f.Add("RABBITMQ_URL=amqp://u:p@h:1/v,amqps://h2\nRABBITMQ_HEARTBEAT=1e309\n")
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "f.env")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(p, true, noEnv)
		if err == nil {
			LoadBroker(l)
			LoadHTTP(l, 8000)
			LoadLogLevel(l)
			l.Unknown()
			err = l.Err()
		}
		if err != nil && !strings.Contains(err.Error(), "f.env") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
