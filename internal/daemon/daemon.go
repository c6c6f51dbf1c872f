// Package daemon owns what both daemons' main functions share before any
// wiring: command-line flags, and reporting a configuration error so that
// systemd and the operator both understand it.
package daemon

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sysmon-dev/sysmon/internal/auth"
	"github.com/sysmon-dev/sysmon/internal/config"
	"github.com/sysmon-dev/sysmon/internal/logging"
	"github.com/sysmon-dev/sysmon/internal/mq"
	"github.com/sysmon-dev/sysmon/internal/sdnotify"
	"github.com/sysmon-dev/sysmon/internal/server"
)

// Flags are the command line of both daemons.
type Flags struct {
	Config       string
	Explicit     bool // -config was given: a missing file is an error
	CheckConfig  bool
	Version      bool
	HashPassword bool
}

// ParseFlags parses args, with a daemon's own flags added by extra. It
// returns an error (already printed with usage) for a bad command line.
func ParseFlags(name, defaultConfig string, args []string, stderr io.Writer, extra ...func(*flag.FlagSet)) (Flags, error) {
	var f Flags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.Config, "config", defaultConfig, "env `file` with the settings (the process environment overrides it)")
	fs.BoolVar(&f.CheckConfig, "check-config", false, "validate the settings, print the effective ones and exit")
	fs.BoolVar(&f.Version, "version", false, "print the version and exit")
	fs.BoolVar(&f.HashPassword, "hash-password", false, "read a password on standard input, print its bcrypt hash for AUTH_BASIC and exit")
	for _, add := range extra {
		add(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s [flags]\n", name)
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

// Settings is what Start needs of a daemon's configuration.
type Settings interface {
	Describe() string
	Level() slog.Level
	BrokerConfig() config.Broker
}

// Loader reads a daemon's configuration (publisher.LoadConfig, consumer.LoadConfig).
type Loader[C Settings] func(path string, explicit bool, lookupEnv func(string) (string, bool)) (C, []config.Warning, error)

// Process is what every daemon has once its configuration is good: a
// logger for its stderr, its line to systemd and its broker status (which
// systemd's STATUS= follows).
type Process struct {
	Log      *slog.Logger
	Notifier *sdnotify.Notifier
	Watchdog *sdnotify.Watchdog
	Status   *mq.Status
}

// Start handles the command line and the configuration, the same way for
// both daemons. When the process is done already (-version, -check-config,
// -hash-password, a bad command line or a configuration error) p is nil and
// exit is the process's exit code. extra adds a daemon's own flags.
func Start[C Settings](name, version, defaultConfig string, args []string, stdout, stderr io.Writer, load Loader[C], extra ...func(*flag.FlagSet)) (cfg C, p *Process, exit int) {
	flags, err := ParseFlags(name, defaultConfig, args, stderr, extra...)
	switch {
	case err != nil:
		return cfg, nil, 2
	case flags.HashPassword:
		return cfg, nil, HashPassword(os.Stdin, stdout, stderr)
	case flags.Version:
		fmt.Fprintf(stdout, "%s %s\n", name, version)
		return cfg, nil, 0
	}
	cfg, warnings, err := load(flags.Config, flags.Explicit, os.LookupEnv)
	if err != nil {
		return cfg, nil, ConfigError(stderr, name, err)
	}
	if flags.CheckConfig {
		for _, f := range cfg.BrokerConfig().ReadableSecrets {
			fmt.Fprintf(stdout, "warning: %s: %s; fix: %s\n", f, readableSecret, chmodFix(f))
		}
		return cfg, nil, CheckConfig(stdout, name, warnings, cfg.Describe())
	}
	p = &Process{}
	p.Log = logging.New(stderr, cfg.Level(), logging.UnderJournald())
	for _, w := range warnings {
		p.Log.Warn(w.String())
	}
	for _, f := range cfg.BrokerConfig().ReadableSecrets {
		p.Log.Warn(readableSecret, "file", f, "fix", chmodFix(f))
	}
	if cfg.BrokerConfig().InsecureTLS {
		p.Log.Warn("RABBITMQ_TLS_INSECURE_SKIP_VERIFY is on: the broker's certificate is NOT verified, anyone on the network path can impersonate the broker and read the credentials")
	}
	p.Notifier = sdnotify.New(p.Log)
	p.Watchdog = sdnotify.NewWatchdog(p.Notifier)
	p.Status = mq.NewStatus()
	p.Status.OnChange = p.Notifier.Status
	return cfg, p, 0
}

// Dial is how the broker section reaches mq: the URLs, and the same URLs
// without their passwords for the log and the status.
func Dial(b config.Broker) mq.DialConfig {
	return mq.DialConfig{URLs: b.URLs, Shown: b.Redacted(), Heartbeat: b.Heartbeat, MaxDelay: b.ReconnectMax, TLS: b.TLS}
}

// Stopping is what a daemon does when its Group starts to stop: log the
// failure that stopped it, if any, and tell systemd.
func (p *Process) Stopping(cause error) {
	var f *Failure
	if errors.As(cause, &f) {
		p.Log.Error(f.Component+" failed", "err", f.Err)
	}
	p.Log.Info("shutting down")
	p.Notifier.Stopping()
}

// Listen is how the HTTP section reaches the server.
func Listen(h config.HTTP) server.Config {
	return server.Config{Host: h.Host, Port: h.Port, CertFile: h.CertFile, KeyFile: h.KeyFile,
		Auth: auth.Config(h.Auth), AllowedHosts: h.AllowedHosts, AnyHost: h.AnyHost}
}

// readableSecret is the warning for a file that holds a credential (the
// broker password, a client key) and that every user of the machine can read.
const readableSecret = "this file holds a broker credential and every user of this machine can read it"

func chmodFix(file string) string { return "chmod o-rwx " + file }

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

// CleanEnv returns environ without what a daemon would take from it as a
// setting or as systemd's: for tools and tests that start the daemons with
// a config file of their own.
func CleanEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "RABBITMQ_"), strings.HasPrefix(k, "NOTIFY_"), strings.HasPrefix(k, "WATCHDOG_"),
			k == "JOURNAL_STREAM", k == "APP_PORT", k == "APP_HOST", k == "LOG_LEVEL", k == "GOMEMLIMIT":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Hostname is the system's host name, or "unknown".
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}
