package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// TestHostTags: HOST_TAGS is parsed at start into the tags each snapshot
// carries; anything a consumer would refuse is a config error naming file,
// line and key, not a stream of refused messages.
func TestHostTags(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    map[string]string
	}{
		{"", nil},
		{"HOST_TAGS=\n", nil},
		{"HOST_TAGS=env=prod,role=db\n", map[string]string{"env": "prod", "role": "db"}},
		{"HOST_TAGS=\" env=prod , k8s.zone=eu-west-1a \"\n", map[string]string{"env": "prod", "k8s.zone": "eu-west-1a"}},
		{"HOST_TAGS=owner=ops@example.com,url=http://x/y\n", map[string]string{"owner": "ops@example.com", "url": "http://x/y"}},
	} {
		c, err := load(t, "HOST_NAME=web1\n"+tc.content, nil)
		if err != nil || !maps.Equal(c.Tags, tc.want) {
			t.Errorf("%q: tags %v err %v, want %v", tc.content, c.Tags, err, tc.want)
		}
	}
	many := make([]string, 17)
	for i := range many {
		many[i] = fmt.Sprintf("t%d=x", i)
	}
	for _, tc := range []struct{ value, want string }{
		{"env", `"env" has no '='`},
		{"env=prod,", `"" has no '='`},
		{"Env=prod", `tag key "Env": expected lower-case letters`},
		{"env=", `tag env: value "": expected 1 to 64 characters`},
		{"env=pr od", `tag env: value "pr od": expected letters, digits`},
		{"env=a,env=b", `tag key "env" given twice`},
		{"env=a=b", `value "a=b"`},
		{"env=<script>", `value "<script>"`},
		{strings.Repeat("k", 33) + "=v", "expected 1 to 32 characters"},
		{"env=" + strings.Repeat("v", 65), "expected 1 to 64 characters"},
		{strings.Join(many, ","), "17 tags, limit 16"},
	} {
		_, err := load(t, "HOST_NAME=web1\nHOST_TAGS="+tc.value+"\n", nil)
		if err == nil || !strings.Contains(err.Error(), "publisher.env:2: HOST_TAGS: expected up to 16 key=value pairs") ||
			!strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want publisher.env:2: HOST_TAGS … %s", tc.value, err, tc.want)
		}
	}
	if _, err := load(t, "", map[string]string{"HOST_TAGS": "env=\x1b"}); err == nil || !strings.Contains(err.Error(), "environment: HOST_TAGS") {
		t.Errorf("from the environment: %v", err)
	}
}

// TestSnapshotsCarryTags: the tags reach the message body.
func TestSnapshotsCarryTags(t *testing.T) {
	tags := map[string]string{"env": "prod", "role": "db"}
	svc, _, _, _ := newService(t, Config{Tags: tags})
	_, it, err := svc.Publish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot.Snapshot
	if err := json.Unmarshal(it.Msg.Body, &s); err != nil || !maps.Equal(s.Tags, tags) {
		t.Fatalf("tags %v err %v in %s", s.Tags, err, it.Msg.Body)
	}
}

func TestTagsText(t *testing.T) {
	if got := tagsText(map[string]string{"role": "db", "env": "prod"}); got != "env=prod,role=db" {
		t.Errorf("tagsText = %q", got)
	}
	if got := tagsText(nil); got != "(none)" {
		t.Errorf("tagsText(nil) = %q", got)
	}
}

// FuzzParseTags: whatever HOST_TAGS holds, what ParseTags accepts is what a
// consumer accepts, and reads back the same from its Describe form.
func FuzzParseTags(f *testing.F) {
	for _, s := range []string{"env=prod,role=db", " a=b , c=d ", "env", "env=a=b", "=x", "a=b,a=c", "x=\xff", "k=v,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tags, err := ParseTags(v)
		if err != nil {
			return
		}
		if len(tags) == 0 || len(tags) > snapshot.MaxTags {
			t.Fatalf("%q: %d tags", v, len(tags))
		}
		s := &snapshot.Snapshot{Timestamp: "t", Memory: snapshot.Memory{Total: 1}, Tags: tags}
		if err := s.Validate(); err != nil {
			t.Fatalf("%q accepted, but a consumer refuses it: %v", v, err)
		}
		again, err := ParseTags(tagsText(tags))
		if err != nil || !maps.Equal(again, tags) {
			t.Fatalf("%q: %v read back as %v (%v)", v, tags, again, err)
		}
	})
}
