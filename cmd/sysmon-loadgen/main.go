// Command sysmon-loadgen sizes a sysmon deployment: it simulates a fleet of
// hosts publishing snapshots straight to RabbitMQ (the same schema and size
// as sysmon-publisher's), watches a consumer's WebSocket like dashboards do
// and measures how late updates arrive, drains a queue with a bare
// consumer to show what the broker alone can do on the same machine, and
// serves the consumer's dashboard of a simulated fleet without a broker.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/config"
)

const usage = `Usage: sysmon-loadgen COMMAND [flags]

Commands:
  publish   simulate N hosts, each publishing a snapshot at its own interval
  watch     connect dashboard clients to a consumer's /ws; measure the initial
            state time and the publish-to-receipt latency of updates
  consume   drain a queue with a bare amqp091-go consumer (the broker's own
            ceiling on this machine, for comparison with sysmon-consumer)
  serve     serve sysmon-consumer's dashboard of N simulated hosts, fed in
            the same process without a broker (what a browser costs with a
            big fleet)

Run "sysmon-loadgen COMMAND -h" for the flags of a command.

Examples:
  # 5,000 hosts every 2 s for 10 minutes against the default exchange
  sysmon-loadgen publish -hosts 5000 -interval 2s -duration 10m
  # 20 dashboards on a consumer for a minute, latency of one of them
  sysmon-loadgen watch -url ws://127.0.0.1:8003/ws -clients 20 -measure 1 -duration 1m
  # how long a new dashboard waits for the fleet's state
  sysmon-loadgen watch -url ws://127.0.0.1:8003/ws -duration 0
  # the dashboard of 10,000 hosts at 1 Hz on http://127.0.0.1:8004/
  sysmon-loadgen serve -hosts 10000 -interval 1s
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd func(context.Context, []string, io.Writer, io.Writer) (any, error)
	switch args[0] {
	case "publish":
		cmd = runPublish
	case "watch":
		cmd = runWatch
	case "consume":
		cmd = runConsume
	case "serve":
		cmd = runServe
	default:
		fmt.Fprintf(stderr, "sysmon-loadgen: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	summary, err := cmd(ctx, args[1:], stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if errors.Is(err, errUsage) {
		return 2
	}
	if summary != nil {
		if jsonOut(args[1:]) {
			enc := json.NewEncoder(stdout)
			_ = enc.Encode(summary)
		} else {
			printSummary(stdout, summary)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sysmon-loadgen %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// errUsage is a bad command line, already explained.
var errUsage = errors.New("usage")

// jsonOut reports whether -json was given (the flag sets own it; this only
// picks the output format for the summary).
func jsonOut(args []string) bool {
	for _, a := range args {
		if a == "-json" || a == "--json" || a == "-json=true" || a == "--json=true" {
			return true
		}
	}
	return false
}

// printSummary writes the summary as indented "key: value" lines.
func printSummary(w io.Writer, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintln(w, string(b))
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sysmon-loadgen "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sysmon-loadgen %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// dialBroker connects to url without ever showing its password: the AMQP
// client's parse errors may quote the URL, so config checks it first.
func dialBroker(url, name string) (*amqp.Connection, error) {
	if err := config.CheckBrokerURL(url); err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	conn, err := amqp.DialConfig(url, amqp.Config{Properties: amqp.Table{"connection_name": name}})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", config.RedactURL(url), err)
	}
	return conn, nil
}
