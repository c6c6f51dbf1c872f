package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
	"github.com/sysmon-dev/sysmon/internal/daemon"
)

// binDir holds the daemons built once for the whole package.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Every test here runs the daemons against a real broker.
		fmt.Println("e2e: skipped in -short mode (unit tests only); `make test` runs it")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "sysmon-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	args := []string{"build", "-race", "-ldflags", "-X main.version=e2e", "-o", dir + "/",
		"github.com/sysmon-dev/sysmon/cmd/sysmon-publisher", "github.com/sysmon-dev/sysmon/cmd/sysmon-consumer"}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the daemons: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Daemon is a running sysmon-publisher or sysmon-consumer.
type Daemon struct {
	Name   string
	Base   string // http://127.0.0.1:PORT
	Config string // the env file it reads
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	exit   int
}

// Env is the content of an env file.
type Env map[string]string

func writeEnv(t testing.TB, env Env) string {
	t.Helper()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	p := filepath.Join(t.TempDir(), "sysmon.env")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Start runs the named binary with env as its config file (APP_PORT is
// chosen when absent) and extra process environment, and stops it with
// SIGTERM when the test ends.
func Start(t testing.TB, name string, env Env, procEnv ...string) *Daemon {
	t.Helper()
	if env["APP_PORT"] == "" {
		env["APP_PORT"] = fmt.Sprint(brokertest.FreePort(t))
	}
	if env["LOG_LEVEL"] == "" {
		env["LOG_LEVEL"] = "debug"
	}
	if _, set := env["WS_TICK"]; !set && name == "sysmon-consumer" {
		// The suite accounts for every snapshot on a dashboard's WebSocket
		// (WSClient.Seqs); with a tick, updates of a host within one tick
		// reach it as one entry (their points only), so it watches each
		// update as it is filed. Tests of the tick set WS_TICK themselves.
		env["WS_TICK"] = "0"
	}
	leaveNothing(t, name, env)
	d := &Daemon{Name: name, Base: "http://127.0.0.1:" + env["APP_PORT"], Config: writeEnv(t, env),
		out: &syncBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(filepath.Join(binDir, name), "-config", d.Config)
	d.cmd.Env = append(daemon.CleanEnv(os.Environ()), procEnv...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = d.cmd.Wait()
		d.exit = d.cmd.ProcessState.ExitCode()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.Stop(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", name, d.Output())
		}
	})
	return d
}

// leaveNothing keeps a test's queue and exchange from outliving it on the
// shared broker: a consumer's durable queue expires 10 minutes after its last
// consumer unless the test says otherwise, and the queue and the test's own
// exchange (named by brokertest.Name, "ex.…") are deleted when the test ends
// (this cleanup runs after the daemon's, which is registered later).
func leaveNothing(t testing.TB, name string, env Env) {
	t.Helper()
	queue, exchange := "", env["EXCHANGE_NAME"]
	if name == "sysmon-consumer" {
		if env["QUEUE_EXPIRES"] == "" {
			env["QUEUE_EXPIRES"] = "10m"
		}
		queue = env["QUEUE_NAME"]
	}
	if !strings.HasPrefix(exchange, "ex.") {
		exchange = "" // not a test's own: shared with others
	}
	if queue == "" && exchange == "" {
		return
	}
	// Deleted on the shared broker whatever URL the daemon was given: a
	// proxy in front of it is just another URL, and the names are unique to
	// the test (a private node's go with the node).
	t.Cleanup(func() {
		conn, err := amqp.Dial(brokertest.SharedURL)
		if err != nil {
			return
		}
		defer conn.Close()
		// Each on its own channel: deleting what another daemon of the
		// test deleted already closes the channel.
		if ch, err := conn.Channel(); err == nil && queue != "" {
			_, _ = ch.QueueDelete(queue, false, false, false)
		}
		if ch, err := conn.Channel(); err == nil && exchange != "" {
			_ = ch.ExchangeDelete(exchange, false, false)
		}
	})
}

// Output is everything the daemon has written so far.
func (d *Daemon) Output() string { return d.out.String() }

// Stop sends SIGTERM and waits up to 15 s; it returns the exit code and how
// long the shutdown took.
func (d *Daemon) Stop(t testing.TB) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-d.done:
		return d.exit, 0
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
		t.Errorf("%s did not exit within 15s of SIGTERM", d.Name)
	}
	return d.exit, time.Since(start)
}

// Kill sends SIGKILL and waits.
func (d *Daemon) Kill() {
	_ = d.cmd.Process.Kill()
	<-d.done
}

// Exited returns a channel closed when the process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.done }

// ExitCode is valid once Exited is closed.
func (d *Daemon) ExitCode() int { return d.exit }

// WaitLog waits until the output contains s n times in all.
func (d *Daemon) WaitLog(t testing.TB, s string, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%s to log %q %d times", d.Name, s, n), func() bool {
		return strings.Count(d.Output(), s) >= n
	})
}

// WaitReady waits until /readyz answers 200 (listener up, broker connected).
func (d *Daemon) WaitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, d.Name+" to be ready", func() bool {
		code, _ := d.Get(t, "/readyz")
		return code == http.StatusOK
	})
}

// Get requests path; code 0 means no answer.
func (d *Daemon) Get(t testing.TB, path string) (int, []byte) {
	return d.Do(t, http.MethodGet, path)
}

// Do sends a request without a body.
func (d *Daemon) Do(t testing.TB, method, path string) (int, []byte) {
	req, _ := http.NewRequest(method, d.Base+path, nil)
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// GetJSON requests path and decodes the answer into v.
func (d *Daemon) GetJSON(t testing.TB, path string, v any) int {
	t.Helper()
	code, b := d.Get(t, path)
	if code != 0 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, b)
		}
	}
	return code
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Entry is a HostEntry of the WebSocket protocol.
type Entry struct {
	Host     string          `json:"host"`
	Legacy   bool            `json:"legacy"`
	Status   string          `json:"status"`
	Goodbye  bool            `json:"goodbye"`
	Snapshot json.RawMessage `json:"snapshot"`
	Point    json.RawMessage `json:"point"`
	Seq      uint64          `json:"-"`
	Instance string          `json:"-"`
	At       time.Time       `json:"-"` // when the client received it
}

// WSClient reads a consumer's /ws and records every host entry.
type WSClient struct {
	conn    *websocket.Conn
	mu      sync.Mutex
	states  int
	entries []Entry
	closed  chan struct{}
	err     error
}

// DialWS connects to the consumer's WebSocket.
func DialWS(t testing.TB, consumer *Daemon) *WSClient {
	t.Helper()
	// Complete entries: the suite reads every snapshot's instance and seq.
	url := "ws" + strings.TrimPrefix(consumer.Base, "http") + "/ws?complete=1"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c := &WSClient{conn: conn, closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { conn.Close(); <-c.closed })
	return c
}

func (c *WSClient) read() {
	defer close(c.closed)
	for {
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.err = err
			c.mu.Unlock()
			return
		}
		now := time.Now()
		var frame struct {
			Type  string  `json:"type"`
			Hosts []Entry `json:"hosts"`
		}
		if err := json.Unmarshal(b, &frame); err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("bad frame %q: %w", b, err)
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		if frame.Type == "state" {
			c.states++
		}
		for _, e := range frame.Hosts {
			var id struct {
				Seq      uint64 `json:"seq"`
				Instance string `json:"instance_id"`
			}
			_ = json.Unmarshal(e.Snapshot, &id)
			e.Seq, e.Instance, e.At = id.Seq, id.Instance, now
			if frame.Type == "update" {
				c.entries = append(c.entries, e)
			}
		}
		c.mu.Unlock()
	}
}

// Updates returns a copy of the entries received in update frames.
func (c *WSClient) Updates() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Entry(nil), c.entries...)
}

// WaitUpdate waits for an update entry matching match and returns it.
func (c *WSClient) WaitUpdate(t testing.TB, timeout time.Duration, what string, match func(Entry) bool) Entry {
	t.Helper()
	var found Entry
	waitFor(t, timeout, what, func() bool {
		for _, e := range c.Updates() {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// Seqs returns the sequence numbers received for one publisher instance.
func (c *WSClient) Seqs(instance string) map[uint64]int {
	out := map[uint64]int{}
	for _, e := range c.Updates() {
		if e.Instance == instance {
			out[e.Seq]++
		}
	}
	return out
}

// Notify is a fake systemd notification socket.
type Notify struct {
	conn *net.UnixConn
	mu   sync.Mutex
	msgs []string
	Env  string // NOTIFY_SOCKET=…
}

// ListenNotify opens a unixgram socket like systemd's.
func ListenNotify(t testing.TB) *Notify {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	n := &Notify{conn: conn, Env: "NOTIFY_SOCKET=" + p}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			sc := bufio.NewScanner(bytes.NewReader(buf[:k]))
			n.mu.Lock()
			for sc.Scan() {
				n.msgs = append(n.msgs, sc.Text())
			}
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return n
}

// Messages returns what was received so far, in order.
func (n *Notify) Messages() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// Wait waits for a message with the given prefix and returns its index.
func (n *Notify) Wait(t testing.TB, prefix string, timeout time.Duration) int {
	t.Helper()
	idx := -1
	waitFor(t, timeout, "sd_notify "+prefix, func() bool {
		for i, m := range n.Messages() {
			if strings.HasPrefix(m, prefix) {
				idx = i
				return true
			}
		}
		return false
	})
	return idx
}

// runBinary runs a built daemon to completion (for -version, -check-config).
func runBinary(name string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = daemon.CleanEnv(os.Environ())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Tap declares a fresh fanout exchange on url and a private queue bound to
// it, and returns the exchange's name and the queue's deliveries: a test's
// own view of what reaches the broker.
func Tap(t testing.TB, url string) (exchange string, msgs <-chan amqp.Delivery) {
	t.Helper()
	exchange = brokertest.Name(t, "ex")
	ch := dialPublisher(t, url, exchange).ch
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "", exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	msgs, err = ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return exchange, msgs
}
