// Command sysmon-bench runs sysmon's performance scenarios against the real
// local broker and prints one table: each figure, its target, and the
// baseline measured in the same run (the broker or a bare client doing the
// same work), because the machine is shared and figures are only comparable
// with what was measured next to them. It also writes the figures as JSON.
//
// A missed target is reported, never an error: the exit code is non-zero
// only when the harness itself is broken (broker down, daemon not starting).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Figure is one row of the table.
type Figure struct {
	ID       string             `json:"id"`
	Figure   string             `json:"figure"`
	Measured string             `json:"measured"`
	Target   string             `json:"target"`
	Baseline string             `json:"baseline"`
	Met      *bool              `json:"met,omitempty"` // nil: no target, reported only
	Values   map[string]float64 `json:"values,omitempty"`
	Note     string             `json:"note,omitempty"`
}

type options struct {
	url, bin, root, out, only string
	quick                     bool
	latencyN                  int
	footprint                 time.Duration
	benchtime                 string
	ingestN                   int
	ingestClients             int
	warmup, window, big       time.Duration
	big100k, dashWindow       time.Duration
	manyDashboards            int
	forwardHosts              int
	bigHosts                  int
	dashboards                int
	fleetDashboards           int
}

type bench struct {
	opts   options
	bin    string
	logDir string
	tmp    string
	run    string // unique suffix for broker names
	mu     sync.Mutex
	n      int
	procs  map[*proc]bool
	amqp   *amqp.Connection
	ctx    context.Context

	growthRuns []*fleetRun
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("sysmon-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "amqp://guest:guest@127.0.0.1:5672/", "AMQP `URL` of the local broker")
	fs.StringVar(&o.bin, "bin", "bin", "folder with sysmon-publisher, sysmon-consumer and sysmon-loadgen")
	fs.StringVar(&o.root, "root", ".", "the module's root (for go test -bench)")
	fs.StringVar(&o.out, "out", "bench-results/latest.json", "where to write the figures as JSON")
	fs.StringVar(&o.only, "only", "", "comma-separated scenarios to run (latency,footprint,gobench,ingest,history,growth,fleet,hosts100k,dashboards1000,forward,browser); empty: all")
	fs.BoolVar(&o.quick, "quick", false, "short durations: a smoke run (figures are noisier)")
	fs.IntVar(&o.latencyN, "latency-requests", 1000, "sequential /publish requests")
	fs.DurationVar(&o.footprint, "footprint", 60*time.Second, "publisher footprint window (1 s interval)")
	fs.StringVar(&o.benchtime, "benchtime", "1s", "go test -benchtime for the Go benchmarks")
	fs.IntVar(&o.ingestN, "ingest-messages", 150000, "backlog drained in the ingest scenario")
	fs.IntVar(&o.ingestClients, "ingest-clients", 100, "dashboard clients connected during ingest")
	fs.DurationVar(&o.warmup, "warmup", 10*time.Second, "load before the measuring window of the fleet scenarios")
	fs.DurationVar(&o.window, "window", 45*time.Second, "measuring window of the growth scenarios")
	fs.DurationVar(&o.big, "fleet-duration", 5*time.Minute, "duration of the 10,000-host scenario")
	fs.IntVar(&o.bigHosts, "fleet-hosts", 10000, "hosts of the big fleet scenario")
	fs.DurationVar(&o.big100k, "hosts100k-duration", 3*time.Minute, "duration of the 100,000-host scenario (10 s interval)")
	fs.IntVar(&o.manyDashboards, "many-dashboards", 1000, "dashboard clients of the dashboards1000 scenario (1,000 hosts at 1 Hz)")
	fs.DurationVar(&o.dashWindow, "dashboards-window", 30*time.Second, "measuring window of the dashboards1000 scenario, with and without the dashboards")
	fs.IntVar(&o.forwardHosts, "forward-hosts", 1000, "hosts at 1 Hz of one shard in the forward scenario")
	fs.IntVar(&o.dashboards, "dashboards", 20, "dashboard clients in the 1,000-host latency scenario (issue #4)")
	fs.IntVar(&o.fleetDashboards, "fleet-dashboards", 2, "dashboard clients in the growth and 10,000-host scenarios")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		def := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		def("latency-requests", func() { o.latencyN = 300 })
		def("footprint", func() { o.footprint = 15 * time.Second })
		def("benchtime", func() { o.benchtime = "200ms" })
		def("ingest-messages", func() { o.ingestN = 40000 })
		def("warmup", func() { o.warmup = 5 * time.Second })
		def("window", func() { o.window = 10 * time.Second })
		def("fleet-duration", func() { o.big = 30 * time.Second })
		def("hosts100k-duration", func() { o.big100k = 40 * time.Second })
		def("dashboards-window", func() { o.dashWindow = 10 * time.Second })
	}
	b, err := newBench(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "sysmon-bench: %v\n", err)
		return 1
	}
	defer b.close()
	started := time.Now()
	type scenario struct {
		name string
		fn   func() ([]Figure, error)
	}
	scenarios := []scenario{
		{"latency", b.publishLatency},
		{"footprint", b.publisherFootprint},
		{"gobench", b.goBenchmarks},
		{"ingest", b.ingest},
		{"history", b.historyCost},
		{"growth", b.growth},
		{"fleet", b.bigFleet},
		{"hosts100k", b.hosts100k},
		{"dashboards1000", b.manyDashboards},
		{"forward", b.forward},
		{"browser", b.browserViews},
	}
	var figures []Figure
	broken := false
	for _, s := range scenarios {
		if o.only != "" && !contains(strings.Split(o.only, ","), s.name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		fmt.Fprintf(stderr, "== %s\n", s.name)
		f, err := s.fn()
		figures = append(figures, f...)
		if err != nil {
			broken = true
			fmt.Fprintf(stderr, "   %s: harness error: %v\n", s.name, err)
			figures = append(figures, Figure{ID: s.name + ".error", Figure: s.name + " scenario", Measured: "ERROR: " + err.Error()})
		}
		b.stopAll()
		fmt.Fprintf(stderr, "   %s took %s\n", s.name, time.Since(t0).Round(time.Second))
	}
	elapsed := time.Since(started)
	printTable(stdout, figures)
	host, _ := os.Hostname()
	fmt.Fprintf(stdout, "\n%d cores (%s), %s, %s; run took %s; logs in %s\n", runtime.NumCPU(), cpuModel(), host,
		runtime.Version(), elapsed.Round(time.Second), b.logDir)
	if err := writeJSON(o.out, figures, o, elapsed); err != nil {
		fmt.Fprintf(stderr, "sysmon-bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "figures written to %s\n", o.out)
	if broken || ctx.Err() != nil {
		return 1
	}
	return 0
}

func newBench(ctx context.Context, o options) (*bench, error) {
	for _, name := range []string{"sysmon-publisher", "sysmon-consumer", "sysmon-loadgen", "sysmon-floor"} {
		if _, err := os.Stat(filepath.Join(o.bin, name)); err != nil {
			return nil, fmt.Errorf("%s missing in %s (make bench builds it): %w", name, o.bin, err)
		}
	}
	conn, err := amqp.Dial(o.url)
	if err != nil {
		return nil, fmt.Errorf("the broker is not answering (make ensure-broker): %w", err)
	}
	rb := make([]byte, 3)
	_, _ = rand.Read(rb)
	logDir := filepath.Join(filepath.Dir(o.out), "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	olds, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	for _, f := range olds {
		os.Remove(f)
	}
	tmp, err := os.MkdirTemp("", "sysmon-bench-")
	if err != nil {
		return nil, err
	}
	bin, _ := filepath.Abs(o.bin)
	return &bench{opts: o, bin: bin, logDir: logDir, tmp: tmp, run: hex.EncodeToString(rb), procs: map[*proc]bool{},
		amqp: conn, ctx: ctx}, nil
}

func (b *bench) close() {
	b.stopAll()
	b.amqp.Close()
	os.RemoveAll(b.tmp)
}

func (b *bench) seq() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	return b.n
}

func (b *bench) track(p *proc) {
	b.mu.Lock()
	b.procs[p] = true
	b.mu.Unlock()
}

func (b *bench) untrack(p *proc) {
	b.mu.Lock()
	delete(b.procs, p)
	b.mu.Unlock()
}

// stopAll stops whatever a scenario left running.
func (b *bench) stopAll() {
	b.mu.Lock()
	ps := make([]*proc, 0, len(b.procs))
	for p := range b.procs {
		ps = append(ps, p)
	}
	b.mu.Unlock()
	for _, p := range ps {
		p.stop()
	}
}

// name is a broker name unique to this run and scenario.
func (b *bench) name(what string) string { return "sysmon-bench." + what + "." + b.run }

// withChannel runs fn on a fresh channel (a failed passive declare closes it).
func (b *bench) withChannel(fn func(ch *amqp.Channel) error) error {
	if b.amqp.IsClosed() {
		c, err := amqp.Dial(b.opts.url)
		if err != nil {
			return err
		}
		b.amqp = c
	}
	ch, err := b.amqp.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	return fn(ch)
}

// declareQueue declares a durable queue bound to a fanout exchange.
func (b *bench) declareQueue(exchange, queue string, args amqp.Table) error {
	return b.withChannel(func(ch *amqp.Channel) error {
		if err := ch.ExchangeDeclare(exchange, "fanout", true, false, false, false, nil); err != nil {
			return err
		}
		if _, err := ch.QueueDeclare(queue, true, false, false, false, args); err != nil {
			return err
		}
		return ch.QueueBind(queue, "#", exchange, false, nil)
	})
}

func (b *bench) depth(queue string) (int, error) {
	n := 0
	err := b.withChannel(func(ch *amqp.Channel) error {
		q, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil)
		n = q.Messages
		return err
	})
	return n, err
}

// cleanup deletes what a scenario declared on the shared broker.
func (b *bench) cleanup(exchange string, queues ...string) {
	_ = b.withChannel(func(ch *amqp.Channel) error {
		for _, q := range queues {
			_, _ = ch.QueueDelete(q, false, false, false)
		}
		if exchange != "" {
			_ = ch.ExchangeDelete(exchange, false, false)
		}
		return nil
	})
}

// waitDepth waits until queue holds n messages.
func (b *bench) waitDepth(queue string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		d, err := b.depth(queue)
		if err != nil {
			return err
		}
		if d >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queue %s holds %d messages after %v, want %d", queue, d, timeout, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (b *bench) sleep(d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == v {
			return true
		}
	}
	return false
}

func printTable(w io.Writer, figs []Figure) {
	rows := [][]string{{"figure", "measured", "target", "baseline (same run)", "met"}}
	for _, f := range figs {
		met := "—"
		if f.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*f.Met]
		}
		rows = append(rows, []string{f.Figure, f.Measured, f.Target, f.Baseline, met})
	}
	fmt.Fprintln(w)
	for i, r := range rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		if i == 0 {
			fmt.Fprintln(w, "|---|---|---|---|---|")
		}
	}
	var notes []string
	for _, f := range figs {
		if f.Note != "" {
			notes = append(notes, fmt.Sprintf("- %s: %s", f.Figure, f.Note))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
}

func writeJSON(path string, figs []Figure, o options, elapsed time.Duration) error {
	host, _ := os.Hostname()
	doc := map[string]any{
		"time":    time.Now().UTC().Format(time.RFC3339),
		"commit":  gitCommit(o.root),
		"quick":   o.quick,
		"seconds": elapsed.Seconds(),
		"machine": map[string]any{"cores": runtime.NumCPU(), "cpu": cpuModel(), "host": host, "go": runtime.Version()},
		"figures": figs,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty", "--abbrev=12").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

func ptr(v bool) *bool { return &v }
