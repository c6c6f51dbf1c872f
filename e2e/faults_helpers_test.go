package e2e

// Helpers of the fault-injection suite (`make test-faults`): the summary
// table, the loss accounting, a TCP proxy the test can freeze or cut, and
// leak probes on the daemon processes.
//
// Every fault that breaks a broker (stop_app, close_all_connections, memory
// alarm, users and vhosts) runs on a private node from brokertest.Start,
// never on the shared broker on 127.0.0.1:5672, which other tests on the
// machine use at the same time. Faults that break only our own side (a
// proxy, a daemon, a message, a client) may use the shared broker with names
// unique to the test.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// ---- the summary table ----

// faultRow is one line of the table printed at the end of the suite.
type faultRow struct {
	Fault     string
	Recovery  string // measured, e.g. "1.2s"
	Confirmed int    // snapshots the publisher had confirmed (or -1: not applicable)
	Delivered int    // of those, how many reached the WebSocket client
	Lost      int    // confirmed, never delivered, not explained by a documented bound
	Dups      int    // duplicates the consumer dropped
	Note      string
	test      string
	failed    bool
}

var table struct {
	sync.Mutex
	running int
	rows    []faultRow
}

// faultTest marks t as part of the suite: it runs in parallel, and the last
// fault test to finish prints the whole table (lines starting with "|").
// Every fault test registers before it pauses for t.Parallel, so by the time
// any of them finishes all are counted.
func faultTest(t *testing.T) {
	t.Helper()
	table.Lock()
	table.running++
	table.Unlock()
	t.Cleanup(func() {
		table.Lock()
		defer table.Unlock()
		for i := range table.rows {
			if table.rows[i].test == t.Name() {
				table.rows[i].failed = t.Failed()
			}
		}
		if t.Failed() && !hasRow(t.Name()) {
			table.rows = append(table.rows, faultRow{Fault: t.Name(), Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1, Note: "test failed before recording", test: t.Name(), failed: true})
		}
		table.running--
		if table.running == 0 {
			printTable()
		}
	})
	t.Parallel()
}

func hasRow(test string) bool {
	for _, r := range table.rows {
		if r.test == test {
			return true
		}
	}
	return false
}

// record adds a row for t.
func record(t *testing.T, r faultRow) {
	t.Helper()
	r.test = t.Name()
	table.Lock()
	table.rows = append(table.rows, r)
	table.Unlock()
	t.Logf("fault %q: recovery %s, confirmed %d, delivered %d, lost %d, duplicates dropped %d; %s",
		r.Fault, r.Recovery, r.Confirmed, r.Delivered, r.Lost, r.Dups, r.Note)
}

func printTable() {
	// In the order: rows start with the fault's number.
	num := func(f string) int {
		n, _ := strconv.Atoi(strings.SplitN(f, ".", 2)[0])
		return n
	}
	sort.SliceStable(table.rows, func(i, j int) bool { return num(table.rows[i].Fault) < num(table.rows[j].Fault) })
	var b strings.Builder
	b.WriteString("| fault | recovery | confirmed | delivered | lost | duplicates dropped | notes |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---|\n")
	cell := func(n int) string {
		if n < 0 {
			return "–"
		}
		return strconv.Itoa(n)
	}
	for _, r := range table.rows {
		name := r.Fault
		if r.failed {
			name = "**FAILED** " + name
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", name, orDash(r.Recovery),
			cell(r.Confirmed), cell(r.Delivered), cell(r.Lost), cell(r.Dups), r.Note)
	}
	fmt.Print(b.String())
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// ---- a publisher/consumer pair with a WebSocket client ----

// rig is a consumer, a WebSocket client on it (connected before anything is
// published, so that every update is seen) and a publisher.
type rig struct {
	pub, cons    *Daemon
	ws           *WSClient
	pubN, consN  *tNotify
	exchange     string
	queue        string
	host         string
	consEnv      Env
	instance     string
	extraWS      []*WSClient // clients of earlier consumer processes
	consumerDups int         // duplicates dropped by earlier consumer processes
}

// startRig starts both daemons; pubURL and consURL may differ (a proxy).
func startRig(t *testing.T, pubURL, consURL string, pubEnv, consEnv Env, pubProc ...string) *rig {
	t.Helper()
	r := &rig{exchange: brokertest.Name(t, "ex"), queue: brokertest.Name(t, "q"), host: brokertest.Name(t, "host")}
	r.consEnv = Env{"RABBITMQ_URL": consURL, "EXCHANGE_NAME": r.exchange, "QUEUE_NAME": r.queue,
		"RECONNECT_MAX_DELAY": "1s", "RABBITMQ_HEARTBEAT": "2s"}
	for k, v := range consEnv {
		r.consEnv[k] = v
	}
	r.consN = listenNotify(t)
	r.cons = Start(t, "sysmon-consumer", copyEnv(r.consEnv), r.consN.Env)
	r.cons.WaitReady(t, 30*time.Second)
	r.ws = DialWS(t, r.cons)
	env := Env{"RABBITMQ_URL": pubURL, "EXCHANGE_NAME": r.exchange, "HOST_NAME": r.host, "PUBLISH_INTERVAL": "100ms",
		"RECONNECT_MAX_DELAY": "1s", "RABBITMQ_HEARTBEAT": "2s", "PUBLISH_RATE_LIMIT": "1000"}
	for k, v := range pubEnv {
		env[k] = v
	}
	r.pubN = listenNotify(t)
	r.pub = Start(t, "sysmon-publisher", env, append([]string{r.pubN.Env}, pubProc...)...)
	r.pub.WaitReady(t, 30*time.Second)
	r.instance = pubInfo(t, r.pub).Instance
	return r
}

func copyEnv(e Env) Env {
	out := Env{}
	for k, v := range e {
		out[k] = v
	}
	return out
}

// restartConsumer starts a new consumer process with the same settings
// (url replaces RABBITMQ_URL when not empty) and a new WebSocket client; the
// old client's updates still count as delivered.
func (r *rig) restartConsumer(t *testing.T, url string) {
	t.Helper()
	r.extraWS = append(r.extraWS, r.ws)
	env := copyEnv(r.consEnv)
	if url != "" {
		env["RABBITMQ_URL"] = url
	}
	r.consN = listenNotify(t)
	r.cons = Start(t, "sysmon-consumer", env, r.consN.Env)
	waitFor(t, 30*time.Second, "the new consumer's listener", func() bool {
		code, _ := r.cons.Get(t, "/healthz")
		return code == http.StatusOK
	})
	r.ws = DialWS(t, r.cons)
}

// pubCounters is the publisher's GET / view.
type pubCounters struct {
	Instance  string `json:"instance_id"`
	Snapshots struct {
		Published uint64 `json:"published_total"`
		Outbox    struct {
			Pushed    uint64 `json:"queued_total"`
			Confirmed uint64 `json:"confirmed_total"`
			Dropped   uint64 `json:"dropped_total"`
			Waiting   int    `json:"outbox"`
			// The outbox on disk (OUTBOX_DIR).
			Restored  uint64 `json:"restored_total"`
			Stored    int    `json:"stored"`
			Disk      string `json:"disk"`
			DiskError string `json:"disk_error"`
			DiskBytes uint64 `json:"disk_bytes_total"`
			DiskSyncs uint64 `json:"disk_fsyncs_total"`
		} `json:"outbox"`
		RateLimited uint64 `json:"rate_limited_total"`
	} `json:"snapshots"`
}

func pubInfo(t *testing.T, pub *Daemon) pubCounters {
	t.Helper()
	var c pubCounters
	if code := pub.GetJSON(t, "/", &c); code != http.StatusOK {
		t.Fatalf("publisher GET / answered %d", code)
	}
	return c
}

// consStatus is the consumer's /api/status.
type consStatus struct {
	Messages struct {
		Received   uint64 `json:"received_total"`
		Invalid    uint64 `json:"invalid_total"`
		TooLarge   uint64 `json:"too_large_total"`
		Duplicates uint64 `json:"duplicates_total"`
	} `json:"messages"`
	WebSocket struct {
		Clients     int64  `json:"clients"`
		Connected   uint64 `json:"connected_total"`
		DroppedSlow uint64 `json:"dropped_slow_total"`
	} `json:"websocket"`
}

func consInfo(t *testing.T, cons *Daemon) consStatus {
	t.Helper()
	var s consStatus
	if code := cons.GetJSON(t, "/api/status", &s); code != http.StatusOK {
		t.Fatalf("consumer /api/status answered %d", code)
	}
	return s
}

// account is the loss accounting of one publisher instance.
type account struct {
	Published, Confirmed, Dropped, Left int
	Delivered                           int // distinct seqs of 1..Published seen by the WebSocket clients
	Missing                             []uint64
	Lost                                int // missing beyond what drops and leftovers explain
	DashDups                            int // seqs shown twice by one consumer process
}

// settle waits for the publisher's outbox to empty (everything confirmed or
// dropped) and for every confirmed snapshot to reach the WebSocket clients,
// then accounts for 1..published. explained is a count of snapshots the test
// knows were dropped on purpose beyond the outbox (e.g. by the queue's
// length limit); they may be missing too.
func (r *rig) settle(t *testing.T, explained int) account {
	return r.settleWith(t, func([]uint64) int { return explained })
}

// settleWith is settle where explain says how many of the missing sequence
// numbers a documented bound accounts for.
func (r *rig) settleWith(t *testing.T, explain func(missing []uint64) int) account {
	t.Helper()
	var c pubCounters
	waitFor(t, 60*time.Second, "the publisher's outbox to drain", func() bool {
		c = pubInfo(t, r.pub)
		return c.Snapshots.Outbox.Waiting == 0
	})
	a := account{Published: int(c.Snapshots.Outbox.Pushed), Confirmed: int(c.Snapshots.Outbox.Confirmed),
		Dropped: int(c.Snapshots.Outbox.Dropped)}
	// Wait (bounded) for the confirmed ones to show up.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.count(&a)
		if len(a.Missing) <= a.Dropped+explain(a.Missing) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A moment more lets late duplicates show, if there were any.
	time.Sleep(300 * time.Millisecond)
	r.count(&a)
	explained := explain(a.Missing)
	a.Lost = max(0, len(a.Missing)-a.Dropped-explained)
	if a.Lost > 0 {
		t.Errorf("LOST %d confirmed snapshots (missing %v; dropped by the outbox %d, explained %d)",
			a.Lost, clip(a.Missing), a.Dropped, explained)
	}
	if a.DashDups > 0 {
		t.Errorf("%d snapshots reached one dashboard twice", a.DashDups)
	}
	return a
}

func (r *rig) count(a *account) {
	seen := map[uint64]bool{}
	a.DashDups = 0
	for _, ws := range append(append([]*WSClient(nil), r.extraWS...), r.ws) {
		for s, n := range ws.Seqs(r.instance) {
			seen[s] = true
			if n > 1 {
				a.DashDups += n - 1
			}
		}
	}
	a.Delivered, a.Missing = 0, nil
	for s := uint64(1); s <= uint64(a.Published); s++ {
		if seen[s] {
			a.Delivered++
		} else {
			a.Missing = append(a.Missing, s)
		}
	}
}

func clip(s []uint64) []uint64 {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

// dups is the consumer's duplicate count, over every consumer process of the rig.
func (r *rig) dups(t *testing.T) int {
	return r.consumerDups + int(consInfo(t, r.cons).Messages.Duplicates)
}

// ---- sd_notify with timestamps ----

type notifyMsg struct {
	At   time.Time
	Text string
}

// tNotify is a fake systemd notification socket that remembers when each
// message came.
type tNotify struct {
	mu   sync.Mutex
	msgs []notifyMsg
	Env  string
}

func listenNotify(t *testing.T) *tNotify {
	t.Helper()
	dir, err := os.MkdirTemp("", "sysmon-notify-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "n.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &tNotify{Env: "NOTIFY_SOCKET=" + p}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			now := time.Now()
			sc := bufio.NewScanner(bytes.NewReader(buf[:k]))
			n.mu.Lock()
			for sc.Scan() {
				n.msgs = append(n.msgs, notifyMsg{At: now, Text: sc.Text()})
			}
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); os.RemoveAll(dir) })
	return n
}

// Since returns the messages with prefix received at or after from.
func (n *tNotify) Since(from time.Time, prefix string) []notifyMsg {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []notifyMsg
	for _, m := range n.msgs {
		if !m.At.Before(from) && strings.HasPrefix(m.Text, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// WaitSince waits for a message with prefix received at or after from.
func (n *tNotify) WaitSince(t *testing.T, from time.Time, prefix string, timeout time.Duration) notifyMsg {
	t.Helper()
	var m notifyMsg
	waitFor(t, timeout, "sd_notify "+prefix, func() bool {
		if l := n.Since(from, prefix); len(l) > 0 {
			m = l[0]
			return true
		}
		return false
	})
	return m
}

// ---- waiting on readiness ----

func readyz(t *testing.T, d *Daemon) int {
	code, _ := d.Get(t, "/readyz")
	return code
}

// waitReadyFrom waits for /readyz 200 and returns the time since from.
func waitReadyFrom(t *testing.T, d *Daemon, from time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	d.WaitReady(t, timeout)
	return time.Since(from)
}

// waitNotReady waits for /readyz 503.
func waitNotReady(t *testing.T, d *Daemon, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, timeout, d.Name+" to report not ready", func() bool { return readyz(t, d) == http.StatusServiceUnavailable })
	return time.Since(start)
}

// ---- a TCP proxy the test controls ----

// tcpProxy forwards connections to a broker. Frozen, it swallows every byte
// in both directions and keeps the connections open (a silent network);
// down, it closes every connection and refuses new ones.
type tcpProxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	down   atomic.Bool
	mu     sync.Mutex
	conns  map[*proxyConn]struct{}
	wg     sync.WaitGroup
}

type proxyConn struct {
	client, server net.Conn
	tainted        atomic.Bool // lost bytes while frozen: unusable
	once           sync.Once
}

func (c *proxyConn) close() {
	c.once.Do(func() { c.client.Close(); c.server.Close() })
}

// startProxy listens on a free port and forwards to target (host:port).
func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[*proxyConn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// URL is an AMQP URL through the proxy.
func (p *tcpProxy) URL() string { return "amqp://guest:guest@" + p.ln.Addr().String() + "/" }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxyConn{client: c, server: s}
		if p.frozen.Load() {
			pc.tainted.Store(true)
		}
		p.mu.Lock()
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(pc, s, c)
		go p.pump(pc, c, s)
	}
}

func (p *tcpProxy) pump(pc *proxyConn, dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if p.frozen.Load() || pc.tainted.Load() {
				pc.tainted.Store(true) // swallowed: this connection is broken for good
			} else if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if !p.frozen.Load() {
				pc.close()
				p.forget(pc)
			}
			// Frozen: the other side keeps waiting in silence.
			return
		}
	}
}

func (p *tcpProxy) forget(pc *proxyConn) {
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

// Freeze swallows all traffic from now on, keeping connections open.
func (p *tcpProxy) Freeze() {
	p.frozen.Store(true)
	p.mu.Lock()
	for c := range p.conns {
		c.tainted.Store(true)
	}
	p.mu.Unlock()
}

// Thaw forwards again: connections that lost bytes are closed (as a real
// TCP stack would eventually reset them), new ones work.
func (p *tcpProxy) Thaw() {
	p.mu.Lock()
	p.frozen.Store(false)
	for c := range p.conns {
		if c.tainted.Load() {
			c.close()
			delete(p.conns, c)
		}
	}
	p.mu.Unlock()
}

// SetDown closes every connection and refuses new ones (down=true), or
// accepts again.
func (p *tcpProxy) SetDown(down bool) {
	p.down.Store(down)
	if down {
		p.mu.Lock()
		for c := range p.conns {
			c.close()
			delete(p.conns, c)
		}
		p.mu.Unlock()
	}
}

// ---- leak probes ----

// procStats reads open files, resident memory and threads of a process.
type procStats struct {
	FDs     int
	RSSKiB  int
	Threads int
}

func readProc(t *testing.T, d *Daemon) procStats {
	t.Helper()
	pid := d.cmd.Process.Pid
	var s procStats
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("%s: %v", d.Name, err)
	}
	s.FDs = len(ents)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			s.RSSKiB, _ = strconv.Atoi(f[1])
		case "Threads:":
			s.Threads, _ = strconv.Atoi(f[1])
		}
	}
	return s
}

func (s procStats) String() string {
	return fmt.Sprintf("%d fds, %d MiB RSS, %d threads", s.FDs, s.RSSKiB/1024, s.Threads)
}

var goroutineHeader = regexp.MustCompile(`(?m)^goroutine [1-9]\d* .*\[`)

// goroutines ends the daemon with SIGQUIT, which makes the Go runtime print
// every goroutine's stack, and returns how many there were. The daemons have
// no debug endpoint; this is the exact count at the end of a test.
func goroutines(t *testing.T, d *Daemon) (int, string) {
	t.Helper()
	before := len(d.Output())
	_ = d.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-d.Exited():
	case <-time.After(20 * time.Second):
		d.Kill()
		t.Fatalf("%s did not exit on SIGQUIT", d.Name)
	}
	dump := d.Output()[before:]
	return len(goroutineHeader.FindAllString(dump, -1)), dump
}

// ---- messages of the test's own ----

// testSnapshot is a valid snapshot of a fictitious host, padded to about
// size bytes.
func testSnapshot(host, instance string, seq uint64, size int) []byte {
	m := map[string]any{
		"timestamp": time.Now().Format("2006-01-02T15:04:05.000000"), "cpu_percent": 12.5,
		"memory":   map[string]any{"total": 8 << 30, "available": 4 << 30, "percent": 50.0},
		"disk":     map[string]any{"total": 100 << 30, "used": 50 << 30, "free": 50 << 30},
		"platform": "Linux", "platform_release": "6.1.0", "processor": "",
		"schema": 1, "host": host, "instance_id": instance, "seq": seq, "interval_seconds": 1,
	}
	// Padding goes into interface names: they travel with the latest
	// snapshot but not into the per-point history. Names and their number
	// stay within snapshot.MaxNameLen and MaxInterfaces (about 250 kB).
	var ifs []map[string]any
	for n := 0; n < size/300 && n < snapshot.MaxInterfaces; n++ {
		ifs = append(ifs, map[string]any{"name": fmt.Sprintf("if%d-%s", n, strings.Repeat("x", 240)),
			"rx_bytes_per_sec": 1, "tx_bytes_per_sec": 1})
	}
	if ifs != nil {
		m["network"] = map[string]any{"rx_bytes_per_sec": 1, "tx_bytes_per_sec": 1, "interfaces": ifs}
	}
	b, _ := json.Marshal(m)
	return b
}

// amqpPublisher publishes the test's own messages to an exchange.
type amqpPublisher struct {
	conn *amqp.Connection
	ch   *amqp.Channel
}

func dialPublisher(t testing.TB, url, exchange string) *amqpPublisher {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "fanout", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	return &amqpPublisher{conn: conn, ch: ch}
}

func (p *amqpPublisher) publish(t *testing.T, exchange, key string, body []byte) {
	t.Helper()
	dc, err := p.ch.PublishWithDeferredConfirm(exchange, key, false, false, amqp.Publishing{Body: body, DeliveryMode: amqp.Persistent})
	if err != nil {
		t.Fatal(err)
	}
	if !dc.Wait() {
		t.Fatal("the broker nacked a test message")
	}
}

// logCount counts lines of out containing every one of parts.
func logCount(out string, parts ...string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}
