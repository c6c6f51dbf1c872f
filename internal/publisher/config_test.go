package publisher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noEnv(string) (string, bool) { return "", false }

// TestPublishUserID: unset stamps the login user (left to the connection),
// "none" stamps nothing, a name is used as it is, and a value the broker
// could never accept as user_id is a config error naming file, line and key.
func TestPublishUserID(t *testing.T) {
	load := func(content string) (Config, error) {
		p := filepath.Join(t.TempDir(), "p.env")
		if err := os.WriteFile(p, []byte("HOST_NAME=web1\n"+content), 0o600); err != nil {
			t.Fatal(err)
		}
		c, _, err := LoadConfig(p, true, noEnv)
		return c, err
	}
	for _, tc := range []struct {
		content string
		userID  string
		none    bool
	}{
		{"", "", false},
		{"PUBLISH_USER_ID=none\n", "", true},
		{"PUBLISH_USER_ID=CN=web1,O=example\n", "CN=web1,O=example", false},
	} {
		c, err := load(tc.content)
		if err != nil || c.UserID != tc.userID || c.NoUserID != tc.none {
			t.Errorf("%q: UserID=%q NoUserID=%v err=%v, want %q %v", tc.content, c.UserID, c.NoUserID, err, tc.userID, tc.none)
		}
	}
	for _, bad := range []string{"PUBLISH_USER_ID=\n", "PUBLISH_USER_ID=" + strings.Repeat("u", 256) + "\n", "PUBLISH_USER_ID=\"a\\tb\"\n"} {
		if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "p.env:2: PUBLISH_USER_ID") {
			t.Errorf("%.40q: err=%v, want one naming p.env:2: PUBLISH_USER_ID", bad, err)
		}
	}
}

func load(t *testing.T, content string, env map[string]string) (Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "publisher.env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := LoadConfig(p, true, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return c, err
}

// TestValuesThatWouldBreakPublishing: each of these used to be accepted and
// then disable the rate limit, or make the broker refuse every publish (a
// routing key over 255 bytes), or make every snapshot invalid (control
// characters in the host name).
func TestValuesThatWouldBreakPublishing(t *testing.T) {
	cases := []struct {
		content string
		env     map[string]string
		want    string
	}{
		{"PUBLISH_RATE_LIMIT=NaN\n", nil, ":1: PUBLISH_RATE_LIMIT: expected a number from 0.01 to 1e+06"},
		{"PUBLISH_RATE_LIMIT=Inf\n", nil, ":1: PUBLISH_RATE_LIMIT: expected a number"},
		{"PUBLISH_RATE_LIMIT=10junk\n", nil, ":1: PUBLISH_RATE_LIMIT: expected a number"},
		{"PUBLISH_INTERVAL=NaN\n", nil, ":1: PUBLISH_INTERVAL: expected a duration"},
		{"HOST_NAME=" + strings.Repeat("h", 256) + "\n", nil, ":1: HOST_NAME: expected a name of 1 to 255 bytes of UTF-8 without control characters, got one that is 256 bytes long"},
		{"HOST_NAME=\"web\\t1\"\n", nil, ":1: HOST_NAME: expected a name of 1 to 255 bytes of UTF-8 without control characters, got one that contains the control character U+0009"},
		{"", map[string]string{"HOST_NAME": "web\x01"}, "environment: HOST_NAME: expected a name"},
		{"", map[string]string{"HOST_NAME": "PLAT\xff\xfe"}, "environment: HOST_NAME: expected a name of 1 to 255 bytes of UTF-8 without control characters, got one that is not valid UTF-8"},
		{"HOST_NAME=  \n", nil, ":1: HOST_NAME: expected a name of 1 to 255 bytes of UTF-8 without control characters, got one that is empty"},
		{"PUBLISH_INTERVAL=1e-12\n", nil, ":1: PUBLISH_INTERVAL: expected a duration"},
		{"PUBLISH_INTERVAL=0.4ns\n", nil, ":1: PUBLISH_INTERVAL: expected a duration"},
		{"PUBLISH_INTERVAL=-2s\n", nil, ":1: PUBLISH_INTERVAL: expected a duration"},
		{"PUBLISH_INTERVAL=99999999h\n", nil, ":1: PUBLISH_INTERVAL: expected a duration"},
		{"OUTBOX_SIZE=99999999999999999999\n", nil, ":1: OUTBOX_SIZE: expected a whole number from 2 to 1000000"},
		{"OUTBOX_SIZE=1e3\n", nil, ":1: OUTBOX_SIZE: expected a whole number"},
		{"PUBLISH_TIMEOUT=NaN\n", nil, ":1: PUBLISH_TIMEOUT: expected a duration"},
		{"EXCHANGE_NAME=amq.sysmon\n", nil, ":1: EXCHANGE_NAME: names starting with amq. are reserved"},
		{"EXCHANGE_NAME=amq.topic\n", nil, ":1: EXCHANGE_NAME: amq.topic is RabbitMQ's predeclared topic exchange: set EXCHANGE_TYPE=topic"},
		{"RABBITMQ_HOST=mq one\n", nil, ":1: RABBITMQ_HOST: expected host names or addresses"},
		{"", map[string]string{"RABBITMQ_VHOST": "prod\n"}, "environment: RABBITMQ_VHOST: expected a virtual host name of 1 to 255 bytes"},
	}
	for _, c := range cases {
		_, err := load(t, c.content, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: got %v", c.content, c.env, err)
		}
	}
	c, err := load(t, "HOST_NAME="+strings.Repeat("é", 127)+"x\nPUBLISH_RATE_LIMIT=0.5\n", nil)
	if err != nil || len(c.HostName) != 255 || c.RateLimit != 0.5 {
		t.Fatalf("255 bytes of UTF-8 and a rate of 0.5: %v %d %v", err, len(c.HostName), c.RateLimit)
	}
}

// TestSystemHostNameFallback: without HOST_NAME the system's name is used,
// and it passes the same rule (Linux keeps it to 64 bytes).
func TestSystemHostNameFallback(t *testing.T) {
	sys, err := os.Hostname()
	if err != nil {
		t.Skip("no system host name:", err)
	}
	c, err := load(t, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HostName != strings.TrimSpace(sys) {
		t.Fatalf("host name %q, want the system's %q", c.HostName, sys)
	}
}
