package config

import (
	"os"
	"strings"
)

// StateDirectory is the first directory systemd made for the unit's
// StateDirectory= ($STATE_DIRECTORY), or "" when the daemon does not run
// under it.
func StateDirectory() string {
	dir, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
	return dir
}
