// Package daemon owns what both daemons' main functions share before any
// wiring: command-line flags, and reporting a configuration error so that
// systemd and the operator both understand it.
package daemon

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sysmon-dev/sysmon/internal/auth"
	"github.com/sysmon-dev/sysmon/internal/config"
	"github.com/sysmon-dev/sysmon/internal/logging"
)

// Flags are the command line of both daemons.
type Flags struct {
	Config       string
	Explicit     bool // -config was given: a missing file is an error
	CheckConfig  bool
	Version      bool
	HashPassword bool
}

// ParseFlags parses args. It returns an error (already printed with usage)
// for a bad command line.
func ParseFlags(name, defaultConfig string, args []string, stderr io.Writer) (Flags, error) {
	var f Flags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.Config, "config", defaultConfig, "env `file` with the settings (the process environment overrides it)")
	fs.BoolVar(&f.CheckConfig, "check-config", false, "validate the settings, print the effective ones and exit")
	fs.BoolVar(&f.Version, "version", false, "print the version and exit")
	fs.BoolVar(&f.HashPassword, "hash-password", false, "read a password on standard input, print its bcrypt hash for AUTH_BASIC and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [-config FILE] [-check-config] [-version] [-hash-password]\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return f, err
	}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "config" {
			f.Explicit = true
		}
	})
	return f, nil
}

// ConfigError prints a configuration error and returns config.ExitConfig.
// Under journald each line carries the error priority.
func ConfigError(stderr io.Writer, name string, err error) int {
	prefix := ""
	if logging.UnderJournald() {
		prefix = "<3>"
	}
	fmt.Fprintf(stderr, "%s%s: configuration error; not starting (exit %d):\n", prefix, name, config.ExitConfig)
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "%s  %s\n", prefix, line)
	}
	return config.ExitConfig
}

// CheckConfig prints the -check-config report.
func CheckConfig(stdout io.Writer, name string, warnings []config.Warning, describe string) int {
	for _, w := range warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: configuration OK\n%s", name, describe)
	return 0
}

// HashPassword reads one line from stdin and prints "USER:HASH" guidance.
func HashPassword(stdin io.Reader, stdout, stderr io.Writer) int {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		fmt.Fprintln(stderr, "no password on standard input:", err)
		return 2
	}
	h, err := auth.HashPassword(line)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", h)
	return 0
}

// Hostname is the system's host name, or "unknown".
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}
