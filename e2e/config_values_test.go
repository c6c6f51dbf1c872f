package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// checkConfig runs name -check-config on an env file holding lines and
// returns the exit code, the output and the file's path.
func checkConfig(t *testing.T, name string, lines ...string) (int, string, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sysmon.env")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runBinary(name, "-config", p, "-check-config")
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out, p
}

// TestFaultConfigValues: issue 10, item 7. Each value below used to pass
// and then break the product (a state frame that does not encode, no rate
// limit, a routing key the broker refuses, snapshots that are all invalid).
// The real binaries must refuse them with exit 78 and the file, the line,
// the key and what was expected.
func TestFaultConfigValues(t *testing.T) {
	faultTest(t)
	cases := []struct{ daemon, line, want string }{
		{"sysmon-consumer", "THRESHOLD_CPU=NaN,NaN", "THRESHOLD_CPU: expected two numbers A,B with 0 ≤ A ≤ B ≤ 100 (e.g. 80,95), got \"NaN,NaN\""},
		{"sysmon-consumer", "THRESHOLD_CPU=1,2junk", "THRESHOLD_CPU: expected two numbers A,B"},
		{"sysmon-consumer", "THRESHOLD_LOAD=Inf,Inf", "THRESHOLD_LOAD: expected two numbers A,B"},
		{"sysmon-consumer", "QUEUE_EXPIRES=0.0001", "QUEUE_EXPIRES: expected 0 (never) or at least 1s"},
		{"sysmon-consumer", "MAX_HOSTS=-1", "MAX_HOSTS: expected a whole number from 1"},
		{"sysmon-publisher", "PUBLISH_RATE_LIMIT=NaN", "PUBLISH_RATE_LIMIT: expected a number from 0.01 to 1e+06, got \"NaN\""},
		{"sysmon-publisher", "PUBLISH_INTERVAL=1e-12", "PUBLISH_INTERVAL: expected a duration"},
		{"sysmon-publisher", "HOST_NAME=" + strings.Repeat("h", 256), "HOST_NAME: expected a name of 1 to 255 bytes of UTF-8 without control characters, got one that is 256 bytes long"},
		{"sysmon-publisher", "HOST_NAME=\"web\\t1\"", "HOST_NAME: expected a name of 1 to 255 bytes of UTF-8 without control characters, got one that contains the control character U+0009"},
		{"sysmon-publisher", "EXCHANGE_NAME=amq.sysmon", "EXCHANGE_NAME: names starting with amq. are reserved"},
	}
	var slowest time.Duration
	refused := 0
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			start := time.Now()
			code, out, p := checkConfig(t, c.daemon, "# line 1 is a comment", c.line)
			slowest = max(slowest, time.Since(start))
			if code != 78 {
				t.Fatalf("%s with %.60s: exit %d, want 78\n%s", c.daemon, c.line, code, out)
			}
			if want := p + ":2: " + c.want; !strings.Contains(out, want) {
				t.Fatalf("%s with %.60s: output does not contain %q:\n%s", c.daemon, c.line, want, out)
			}
			refused++
		})
	}
	record(t, faultRow{Fault: "6. config values that passed, then broke the product (NaN,NaN, 1,2junk, 256-byte HOST_NAME…)",
		Recovery: "exit 78 in ≤ " + secs(slowest), Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("%d of %d values refused with exit 78 naming file:line: KEY and what was expected", refused, len(cases))})
}

// TestFaultMisencodedPassword: issue 10, item 8. A password with an
// unencoded "/" made the URL parser read "2024" as a port and print the
// rest as a path, in -check-config and in every "cannot connect" warning.
func TestFaultMisencodedPassword(t *testing.T) {
	faultTest(t)
	start := time.Now()
	for _, name := range []string{"sysmon-publisher", "sysmon-consumer"} {
		code, out, p := checkConfig(t, name, "RABBITMQ_URL=amqp://sysmon:2024/Winter@mq/")
		if code != 78 || !strings.Contains(out, p+":1: RABBITMQ_URL: ") || !strings.Contains(out, "/ as %2F") {
			t.Fatalf("%s: exit %d, output:\n%s", name, code, out)
		}
		if strings.Contains(out, "Winter") || strings.Contains(out, "2024") {
			t.Fatalf("%s printed the password:\n%s", name, out)
		}
	}
	refusedIn := time.Since(start) / 2

	// Encoded, it is accepted and masked; the connection warnings mask it.
	pub := Start(t, "sysmon-publisher", Env{
		"RABBITMQ_URL":     fmt.Sprintf("amqp://sysmon:2024%%2FWinter@127.0.0.1:%d/", brokertest.FreePort(t)),
		"PUBLISH_INTERVAL": "0",
	})
	pub.WaitLog(t, "cannot connect to broker", 1, 10*time.Second)
	out := pub.Output()
	if strings.Contains(out, "Winter") || !strings.Contains(out, "sysmon:xxxxx@127.0.0.1") {
		t.Fatalf("the log shows the password or no broker:\n%s", out)
	}
	record(t, faultRow{Fault: "6. broker password with an unencoded / in RABBITMQ_URL", Recovery: "exit 78 in " + secs(refusedIn),
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("error says %%2F, shows no part of the password; encoded: %d log lines, the password in none (sysmon:xxxxx@)", strings.Count(out, "\n"))})
}

// TestReadableEnvFileWarns: an env file holding the broker password that
// every user can read is named, with the fix.
func TestReadableEnvFileWarns(t *testing.T) {
	p := writeEnv(t, Env{"RABBITMQ_USER": "sysmon", "RABBITMQ_PASSWORD": "a#b"})
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runBinary("sysmon-consumer", "-config", p, "-check-config")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "warning: "+p+": ") || !strings.Contains(out, "chmod o-rwx "+p) || strings.Contains(out, "a#b") {
		t.Fatalf("-check-config output:\n%s", out)
	}
}

// TestFaultPrototypePasswords: a prototype .env with an unquoted password
// holding '/', '#' and '@' logs in with that password (python-dotenv keeps
// a '#' that follows no space), and so does the same password
// percent-encoded in RABBITMQ_URL; neither daemon log shows it.
func TestFaultPrototypePasswords(t *testing.T) {
	faultTest(t)
	brokertest.Shared(t)
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		brokertest.Unavailable(t, "rabbitmqctl")
	}
	ctl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("rabbitmqctl", args...).CombinedOutput(); err != nil {
			t.Fatalf("rabbitmqctl %s: %v\n%s", args[0], err, out)
		}
	}
	const password = "2024/Winter#x@y"
	exchange := brokertest.Name(t, "ex")
	user := strings.ReplaceAll(brokertest.Name(t, "sysmon-cfg"), "/", ".")
	ctl("add_user", user, password)
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "delete_user", user).Run() })
	ex := "^" + regexp.QuoteMeta(exchange) + "$"
	ctl("set_permissions", "-p", "/", user, ex, ex, "^$")
	t.Cleanup(func() {
		if c, err := amqp.Dial(brokertest.SharedURL); err == nil {
			if ch, err := c.Channel(); err == nil {
				_ = ch.ExchangeDelete(exchange, false, false)
			}
			c.Close()
		}
	})

	prototype := Start(t, "sysmon-publisher", Env{"RABBITMQ_HOST": "127.0.0.1", "RABBITMQ_PORT": "5672",
		"RABBITMQ_USER": user, "RABBITMQ_PASSWORD": password, "EXCHANGE_NAME": exchange, "PUBLISH_INTERVAL": "0"})
	encoded := Start(t, "sysmon-publisher", Env{"EXCHANGE_NAME": exchange, "PUBLISH_INTERVAL": "0",
		"RABBITMQ_URL": "amqp://" + user + ":2024%2FWinter%23x%40y@127.0.0.1:5672/"})
	start := time.Now()
	for _, d := range []*Daemon{prototype, encoded} {
		d.WaitReady(t, 20*time.Second)
		if out := d.Output(); strings.Contains(out, "Winter") {
			t.Fatalf("the log shows the password:\n%s", out)
		}
	}
	record(t, faultRow{Fault: "6. prototype .env password 2024/Winter#x@y (unquoted; and %-encoded in a URL)",
		Recovery: "both ready in " + secs(time.Since(start)), Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: "logged in with the password python-dotenv reads (# kept: no space before it); no log shows it"})
}
