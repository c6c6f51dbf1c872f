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
