package main

// Helpers of the dashboard's browser test: the consumer run in-process, the
// simulated publishers, and a headless Chromium driven through chromedp.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

const (
	chromiumPath = "/usr/bin/chromium"
	brokerURL    = "amqp://guest:guest@127.0.0.1:5672/"
)

// requireChromium skips (or fails, under CI) when Debian's chromium is missing.
func requireChromium(t *testing.T) {
	t.Helper()
	if testing.Short() {
		brokertest.Unavailable(t, "Chromium")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		brokertest.Unavailable(t, "%s is missing (make ensure-browser installs Debian's chromium)", chromiumPath)
	}
}

// dialBroker connects to the local RabbitMQ, or skips (fails under CI).
func dialBroker(t *testing.T) *amqp.Connection {
	t.Helper()
	brokertest.Shared(t)
	conn, err := amqp.Dial(brokerURL)
	if err != nil {
		t.Fatalf("RabbitMQ on 127.0.0.1:5672: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects the consumer's log from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// consumerRun is one run() of the consumer in this process.
type consumerRun struct {
	cancel context.CancelFunc
	done   chan int
}

// startConsumer runs the consumer with the env file and waits until it is
// ready (listening and connected to the broker).
func startConsumer(t *testing.T, configPath, base string, logs *syncBuffer) *consumerRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumerRun{cancel: cancel, done: make(chan int, 1)}
	go func() { c.done <- run(ctx, []string{"-config", configPath}, logs, logs) }()
	t.Cleanup(func() { c.stop(t) })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-c.done:
			c.done <- code
			t.Fatalf("the consumer exited with code %d before it was ready:\n%s", code, logs.String())
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the consumer was not ready within 20 s:\n%s", logs.String())
	return nil
}

// stop cancels the run and waits for it to return (idempotent).
func (c *consumerRun) stop(t *testing.T) {
	c.cancel()
	select {
	case code := <-c.done:
		c.done <- code
		if code != 0 {
			t.Errorf("the consumer exited with code %d after its context was cancelled", code)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("the consumer did not stop within 15 s of its context being cancelled")
	}
}

// apiHosts returns the host names the consumer lists in /api/hosts.
func apiHosts(base string) ([]string, error) {
	resp, err := http.Get(base + "/api/hosts")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Hosts []struct {
			Host string `json:"host"`
		} `json:"hosts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	var names []string
	for _, h := range body.Hosts {
		names = append(names, h.Host)
	}
	sort.Strings(names)
	return names, nil
}

// simHost is one simulated publisher. Figures follow its sequence number so
// that the test can recompute what any snapshot said.
type simHost struct {
	name       string
	instanceID string
	seq        uint64
	cpuBase    float64
	memBase    float64
	disks      map[string]float64 // mount → percent
	rxBase     float64
	active     bool
	processor  string
	platform   string
	ifName     string
	phase      float64       // of the CPU's wave, so that hosts overtake each other
	lag        time.Duration // "time" says the snapshot was sampled this long before it was sent
	missing    []string      // sources the publisher could not read
	// A big host: ncores cores (0: two), coreLoad(core, seq) their use,
	// and its file systems' devices named devPrefix and a number ("/dev/sda1").
	ncores    int
	coreLoad  func(core int, seq uint64) float64
	devPrefix string
	tags      map[string]string
	temps     []any // the "temperatures" key, when set
}

// sim publishes the snapshots of its hosts to the exchange every period and
// remembers every body by host and sequence number.
type sim struct {
	t        *testing.T
	exchange string
	period   time.Duration

	mu        sync.Mutex
	ch        *amqp.Channel
	hosts     []*simHost
	published map[string]map[uint64][]byte
	lastSeq   map[string]uint64
	err       error
}

func newSim(t *testing.T, conn *amqp.Connection, exchange string, period time.Duration) *sim {
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return &sim{t: t, exchange: exchange, period: period, ch: ch,
		published: map[string]map[uint64][]byte{}, lastSeq: map[string]uint64{}}
}

func (s *sim) add(h *simHost) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.active = true
	h.instanceID = fmt.Sprintf("inst-%s-%d", strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, h.name), time.Now().UnixNano())
	s.hosts = append(s.hosts, h)
	s.publishLocked(h, false)
}

// burst publishes n snapshots of a host, gap apart: faster than the
// consumer's tick, so that its dashboards get them merged into one entry.
func (s *sim) burst(name string, n int, gap time.Duration) {
	for range n {
		s.mu.Lock()
		for _, h := range s.hosts {
			if h.name == name {
				s.publishLocked(h, false)
			}
		}
		s.mu.Unlock()
		time.Sleep(gap)
	}
}

// silence stops a host's publisher without a goodbye.
func (s *sim) silence(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hosts {
		if h.name == name {
			h.active = false
		}
	}
}

// goodbye publishes a host's last message, as a publisher shutting down does.
func (s *sim) goodbye(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hosts {
		if h.name == name && h.active {
			h.active = false
			s.publishLocked(h, true)
		}
	}
}

// setLag makes every host's snapshots look sampled d before they are sent,
// as they do when the consumer works through a backlog.
func (s *sim) setLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hosts {
		h.lag = d
	}
}

// change changes a host's figures from its next snapshot on.
func (s *sim) change(name string, fn func(*simHost)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.hosts {
		if h.name == name {
			fn(h)
		}
	}
}

// raw publishes a body as it is (a prototype publisher).
func (s *sim) raw(body []byte, routingKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ch.Publish(s.exchange, routingKey, false, false, amqp.Publishing{Body: body}); err != nil && s.err == nil {
		s.err = err
	}
}

// body returns the body published for host at seq.
func (s *sim) body(host string, seq uint64) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.published[host][seq]
	return b, ok
}

func (s *sim) last(host string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeq[host]
}

func (s *sim) run(ctx context.Context) {
	tick := time.NewTicker(s.period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.mu.Lock()
			for _, h := range s.hosts {
				if h.active {
					s.publishLocked(h, false)
				}
			}
			s.mu.Unlock()
		}
	}
}

// start runs the sim until the test ends.
func (s *sim) start(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// snapshotOf builds the message for seq in the documented wire format.
func snapshotOf(h *simHost, seq uint64, now time.Time, goodbye bool) map[string]any {
	w := math.Sin(float64(seq)/4 + h.phase)
	cpu := round1(math.Min(100, math.Max(0, h.cpuBase+6*w)))
	mem := round1(math.Min(100, h.memBase+0.8*math.Sin(float64(seq)/9)))
	const memTotal = 25276510208
	cores := []float64{round1(math.Min(100, math.Max(0, cpu+4*math.Cos(float64(seq)/3)))), round1(math.Min(100, math.Max(0, cpu-4*math.Cos(float64(seq)/3))))}
	if h.ncores > 0 {
		cores = make([]float64, h.ncores)
		for i := range cores {
			cores[i] = round1(math.Min(100, math.Max(0, h.coreLoad(i, seq))))
		}
	}
	// Rates end in 337 bytes so that no rounding of the page lands on a tie.
	rx := float64(int64(h.rxBase*(1.5+w))/1000*1000 + 337)
	tx := float64(int64(rx/4)/1000*1000 + 337)
	load1 := round2(cpu / 40)
	var mounts []string
	for m := range h.disks {
		mounts = append(mounts, m)
	}
	sort.Strings(mounts)
	var fss []any
	for _, m := range mounts {
		const total = 270553174016
		pct := h.disks[m]
		used := uint64(total * pct / 100)
		dev := "/dev/vd" + string(rune('a'+len(fss)))
		if h.devPrefix != "" {
			dev = fmt.Sprintf("%s%d", h.devPrefix, len(fss)+1)
		}
		fss = append(fss, map[string]any{"mountpoint": m, "device": dev, "fstype": "ext4",
			"total": total, "used": used, "free": total - used, "percent": pct})
	}
	m := map[string]any{
		"timestamp":        now.Format("2006-01-02T15:04:05.000000"),
		"cpu_percent":      cpu,
		"memory":           map[string]any{"total": memTotal, "available": uint64(memTotal * (100 - mem) / 100), "percent": mem, "used": uint64(memTotal * mem / 100)},
		"disk":             map[string]any{"total": 270553174016, "used": 12690640896, "free": 257862533120},
		"platform":         h.platform,
		"platform_release": "6.1.0-27-amd64",
		"processor":        h.processor,
		"schema":           1,
		"host":             h.name,
		"host_id":          "hid-" + h.instanceID,
		"instance_id":      h.instanceID,
		"seq":              seq,
		"time":             now.Add(-h.lag).UTC().Format(time.RFC3339Nano),
		"interval_seconds": 1,
		"agent_version":    "0.1.0",
		"uptime_seconds":   123456 + seq,
		"cpu_count":        len(cores),
		"cpu_per_core":     cores,
		"load":             map[string]any{"load1": load1, "load5": round2(load1 * 0.9), "load15": round2(load1 * 0.8)},
		"swap":             map[string]any{"total": 2147483648, "used": 21474836, "free": 2126008812, "percent": 1.0},
		"filesystems":      fss,
		"disk_io":          map[string]any{"read_bytes_per_sec": rx / 8, "write_bytes_per_sec": 40960 + 4096*float64(seq%5), "read_ops_per_sec": 1, "write_ops_per_sec": 3},
		"network": map[string]any{"rx_bytes_per_sec": rx, "tx_bytes_per_sec": tx,
			"interfaces": []any{map[string]any{"name": h.ifName, "rx_bytes_per_sec": rx, "tx_bytes_per_sec": tx}}},
		"missing": missingOf(h),
		"goodbye": goodbye,
	}
	if h.tags != nil {
		m["tags"] = h.tags
	}
	if h.temps != nil {
		m["temperatures"] = h.temps
	}
	return m
}

func missingOf(h *simHost) []any {
	out := []any{}
	for _, m := range h.missing {
		out = append(out, m)
	}
	return out
}

func (s *sim) publishLocked(h *simHost, goodbye bool) {
	h.seq++
	body, err := json.Marshal(snapshotOf(h, h.seq, time.Now(), goodbye))
	if err != nil {
		s.t.Error(err)
		return
	}
	if s.published[h.name] == nil {
		s.published[h.name] = map[uint64][]byte{}
	}
	s.published[h.name][h.seq] = body
	s.lastSeq[h.name] = h.seq
	pub := amqp.Publishing{ContentType: "application/json", Timestamp: time.Now(), Body: body}
	if err := s.ch.Publish(s.exchange, "", false, false, pub); err != nil && s.err == nil {
		s.err = err
	}
}

// browser is a headless Chromium with one tab, and what its console said.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
	down     [][2]time.Time // when a test had stopped the consumer (expectDown)
}

// expectDown tells problems that the test stops the consumer from now until
// it calls the returned func: the page's requests meanwhile (its alerts'
// and status polls) are refused, and Chromium logs each as an error of the
// network. Refused requests outside those windows still count.
func (b *browser) expectDown() (up func()) {
	from := time.Now()
	return func() {
		b.mu.Lock()
		b.down = append(b.down, [2]time.Time{from, time.Now()})
		b.mu.Unlock()
	}
}

// pageProbe runs before the page's own scripts: it records CSP violations.
// (DevTools injects it, so the page's CSP does not apply to it.)
const pageProbe = `
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});`

func startBrowser(t *testing.T) *browser {
	t.Helper()
	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// Registered after TempDir, so the browser is gone before its profile is removed.
	t.Cleanup(func() { cancelTab(); cancelAlloc() })

	b := &browser{ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: pageProbe}); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return b
}

// problems returns the console errors, exceptions and CSP violations, less
// the browser's own note of each failed WebSocket attempt while the consumer
// is down (expected in the restart test), and of each request refused while
// a test had stopped the consumer (expectDown).
func (b *browser) problems(t *testing.T) []string {
	t.Helper()
	var out []string
	b.mu.Lock()
	for _, m := range b.messages {
		if m.Type != "error" && !m.IsException() && m.Source != "security" {
			continue
		}
		if strings.Contains(m.Text, "WebSocket connection to ") {
			continue
		}
		if m.Source == "network" && strings.Contains(m.Text, "net::ERR_CONNECTION_REFUSED") && b.wasDown(m.Time) {
			continue
		}
		out = append(out, fmt.Sprintf("console %s (%s): %s %s:%d", m.Type, m.Source, m.Text, m.URL, m.Line))
	}
	b.mu.Unlock()
	csp, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`window.__csp || []`))
	if err != nil {
		out = append(out, "read CSP violations: "+err.Error())
	}
	for _, v := range csp {
		out = append(out, "CSP violation: "+v)
	}
	return out
}

// wasDown tells whether at was in a window of expectDown (b.mu held). The
// browser stamps its messages with its own clock, the same machine's.
func (b *browser) wasDown(at time.Time) bool {
	for _, w := range b.down {
		if !at.Before(w[0]) && !at.After(w[1]) {
			return true
		}
	}
	return false
}

// eval evaluates a JavaScript expression in the page (with
// chromedp.EvalAwaitPromise: a promise, and returns what it resolves to).
func eval[T any](t *testing.T, b *browser, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluate %.200s: %v", expr, err)
	}
	return v
}

// axRole is the role Chromium's accessibility tree gives the element that
// selector finds: what a screen reader is told, whatever CSS did to it.
func axRole(t *testing.T, b *browser, selector string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	obj, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](`document.querySelector(`+strconv.Quote(selector)+`)`))
	if err != nil || obj == nil || obj.ObjectID == "" {
		t.Fatalf("find %s: %v", selector, err)
	}
	alone := false
	r, err := chromedp.Call(ctx, accessibility.GetPartialAXTree, accessibility.GetPartialAXTreeParams{ObjectID: obj.ObjectID, FetchRelatives: &alone})
	if err != nil {
		t.Fatalf("Accessibility.getPartialAXTree %s: %v", selector, err)
	}
	if len(r.Nodes) == 0 || r.Nodes[0].Role == nil {
		return ""
	}
	var role string
	if err := json.Unmarshal(r.Nodes[0].Role.Value, &role); err != nil {
		t.Fatalf("the role of %s: %v", selector, err)
	}
	return role
}

// waitFor evaluates expr every 100 ms until ok accepts its value, and fails
// with the last value after timeout.
func waitFor[T any](t *testing.T, b *browser, what string, timeout time.Duration, expr string, ok func(T) bool) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last T
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
		cancel()
		if err == nil && ok(v) {
			return v
		}
		last, lastErr = v, err
		if time.Now().After(deadline) {
			if lastErr != nil && !errors.Is(lastErr, chromedp.ErrJSNull) && !errors.Is(lastErr, chromedp.ErrJSUndefined) {
				t.Fatalf("%s: not within %v (last error: %v)", what, timeout, lastErr)
			}
			got, _ := json.Marshal(last)
			t.Fatalf("%s: not within %v (last value: %s)", what, timeout, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot saves the viewport as name (a PNG) into dir.
func screenshot(t *testing.T, b *browser, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Formats the dashboard uses (app.js), for comparing tiles with snapshots.
func fmtPct(v float64) string  { return fmt.Sprintf("%.1f%%", v) }
func fmtLoad(v float64) string { return fmt.Sprintf("%.2f", v) }
func fmtRate(v float64) string {
	units := []string{"B/s", "kB/s", "MB/s", "GB/s", "TB/s"}
	i := 0
	for math.Abs(v) >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 || v >= 100 {
		return fmt.Sprintf("%d %s", int64(math.Round(v)), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// jsonDiff lists the paths where two decoded JSON values differ.
func jsonDiff(path string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: want an object, got %v", path, got))
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: missing (published %v)", path, k, wv))
				continue
			}
			jsonDiff(path+"."+k, wv, gv, out)
		}
		for k, gv := range g {
			if _, ok := w[k]; !ok {
				*out = append(*out, fmt.Sprintf("%s.%s: not published, shown as %v", path, k, gv))
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, want, got))
			return
		}
		for i := range w {
			jsonDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			*out = append(*out, fmt.Sprintf("%s: want %v, got %v", path, want, got))
		}
	}
}

// testExchange declares a fanout exchange of this test only, named
// sysmon-test-NAME-<time>, whose queue (the consumer's QUEUE_NAME) takes the
// same name; both are deleted when the test ends. The channel declared it
// and stays open for the test to publish on.
func testExchange(t *testing.T, conn *amqp.Connection, name string) (string, *amqp.Channel) {
	t.Helper()
	id := fmt.Sprintf("sysmon-test-%s-%d", name, time.Now().UnixNano())
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(id, "fanout", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := conn.Channel(); err == nil {
			_, _ = c.QueueDelete(id, false, false, false)
			_ = c.ExchangeDelete(id, false, false)
			_ = c.Close()
		}
	})
	return id, ch
}

// consumerEnv writes the env file of a consumer on 127.0.0.1 (a free port)
// reading exchange id through a queue of the same name, with the extra
// lines; it returns the file and the consumer's base URL.
func consumerEnv(t *testing.T, id, extra string) (cfg, base string) {
	t.Helper()
	port := freePort(t)
	cfg = filepath.Join(t.TempDir(), "consumer.env")
	env := fmt.Sprintf("APP_HOST=127.0.0.1\nAPP_PORT=%d\nEXCHANGE_NAME=%s\nQUEUE_NAME=%s\nQUEUE_EXPIRES=10m\n", port, id, id) + extra
	if err := os.WriteFile(cfg, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, fmt.Sprintf("http://127.0.0.1:%d", port)
}

// startLogged runs the consumer like startConsumer, its log shown if the
// test fails.
func startLogged(t *testing.T, cfg, base string) (*consumerRun, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("consumer log:\n%s", logs.String())
		}
	})
	return startConsumer(t, cfg, base, logs), logs
}
