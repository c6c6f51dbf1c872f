package config

import (
	"os"
	"regexp"
	"sort"
	"strings"
)

var documentedKey = regexp.MustCompile(`(?m)^#([A-Z][A-Z0-9_]*)=`)

// DocumentedKeys lists the keys a shipped env file documents as "#KEY=…"
// lines (for the daemons' tests that the file and the code agree).
func DocumentedKeys(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, m := range documentedKey.FindAllStringSubmatch(string(b), -1) {
		seen[m[1]] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// Diff returns the keys of a not in b, joined.
func Diff(a, b []string) string {
	in := map[string]bool{}
	for _, k := range b {
		in[k] = true
	}
	var out []string
	for _, k := range a {
		if !in[k] {
			out = append(out, k)
		}
	}
	return strings.Join(out, " ")
}
