package web_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sysmon-dev/sysmon/internal/hub"
)

// TestStreamWorkerKnowsEveryField holds the dashboard's Web Worker
// (static/stream.js) to the protocol's entries: each figure is a number of
// its rows (NUMS) or a fact it compares from one update to the next
// (sigOf) and passes on (others), each by its name. A field it did not
// know would change on the page only when another one did; a fact
// (hub.FactKeys) it did not keep would be lost at the host's next update.
func TestStreamWorkerKnowsEveryField(t *testing.T) {
	src, err := os.ReadFile("static/stream.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(src)
	m := regexp.MustCompile(`const NUMS = \[([^\]]*)\]`).FindStringSubmatch(js)
	if m == nil {
		t.Fatal("stream.js has no NUMS list")
	}
	var nums []string
	for _, q := range regexp.MustCompile(`'([a-z0-9_]+)'`).FindAllStringSubmatch(m[1], -1) {
		nums = append(nums, q[1])
	}
	uses := func(obj, name string) bool {
		return regexp.MustCompile(`\b` + obj + `\.` + name + `\b`).MatchString(js)
	}
	// Not compared: what changes with every snapshot, and what lean
	// entries leave out (the watched host's entry goes whole).
	skip := map[string]bool{"sampled_at": true, "fs": true, "net": true, "temps": true,
		"host": true, "last_seen": true, "interval_seconds": true, "figures": true, "point": true, "points": true, "history": true}
	for typ, obj := range map[reflect.Type]string{reflect.TypeFor[hub.Figures](): "f", reflect.TypeFor[hub.HostEntry](): "e"} {
		for i := range typ.NumField() {
			fd := typ.Field(i)
			name, _, _ := strings.Cut(fd.Tag.Get("json"), ",")
			if skip[name] {
				continue
			}
			number := fd.Type.Kind() == reflect.Pointer && fd.Type.Elem().Kind() != reflect.Struct
			switch {
			case obj == "f" && number:
				if !slices.Contains(nums, name) {
					t.Errorf("the figure %q is a number, not in stream.js's NUMS", name)
				}
				if !uses("f", name) {
					t.Errorf("stream.js's take() does not read the figure %q", name)
				}
			case !uses(obj, name):
				t.Errorf("stream.js's sigOf does not compare %s.%s: a change of it alone would not reach the page", obj, name)
			}
		}
	}
	// others passes on every figure that is not a number of the rows: one
	// it left out would never reach the page.
	body := regexp.MustCompile(`(?s)\nfunction others\(f\) \{(.*?)\n\}`).FindStringSubmatch(js)
	if body == nil {
		t.Fatal("stream.js has no others(f)")
	}
	figs := reflect.TypeFor[hub.Figures]()
	for i := range figs.NumField() {
		fd := figs.Field(i)
		name, _, _ := strings.Cut(fd.Tag.Get("json"), ",")
		if slices.Contains(nums, name) {
			continue
		}
		if !regexp.MustCompile(`\bf\.` + name + `\b`).MatchString(body[1]) {
			t.Errorf("stream.js's others() leaves out the figure %q: it would never reach the page", name)
		}
	}
	// keepFacts gives back each fact an update leaves out when unchanged.
	for _, name := range slices.Concat(hub.FactKeys.Entry, hub.FactKeys.Figures) {
		if !uses("k", name) {
			t.Errorf("stream.js's keepFacts does not give back the fact %q: an update that left it out would lose it", name)
		}
	}
}
