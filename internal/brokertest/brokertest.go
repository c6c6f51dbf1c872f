// Package brokertest gives tests real RabbitMQ brokers: the shared one on
// 127.0.0.1:5672 for tests that only publish and consume (with names unique
// to the test), and private nodes started for one test, which that test may
// stop, alarm or cut off without disturbing anything else on the machine.
package brokertest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// SharedURL is the broker every development and CI machine runs.
const SharedURL = "amqp://guest:guest@127.0.0.1:5672/"

// Required tells whether a missing outside service (broker, browser,
// promtool, root) fails a test: under CI (.ci/run runs with CI=true) and
// `make test` (SYSMON_REQUIRE_SERVICES=1). Elsewhere such a test is skipped,
// so that `go test ./...` and `make check` run on any machine.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("SYSMON_REQUIRE_SERVICES") != ""
}

// Unavailable ends a test whose outside service is missing or not wanted:
// a failure where services are required, a one-line skip naming `make test`
// otherwise (and always in -short mode, which `make check` uses for the unit
// tests alone).
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if testing.Short() {
		t.Skipf("needs %s: -short runs unit tests only; `make test` runs this one", msg)
	}
	if Required() {
		t.Fatalf("%s (make test installs and starts what the tests need)", msg)
	}
	t.Skipf("skipped, %s: `make test` installs and starts what it needs", msg)
}

// Shared returns SharedURL after checking the broker answers; a test that
// needs it is skipped or fails when it is down (see Unavailable).
func Shared(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		Unavailable(t, "RabbitMQ")
	}
	c, err := amqp.Dial(SharedURL)
	if err != nil {
		Unavailable(t, "RabbitMQ on 127.0.0.1:5672 is not answering (%v)", err)
	}
	c.Close()
	return SharedURL
}

// Name returns a name unique to this test run, for exchanges and queues.
func Name(t testing.TB, prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s.%s.%s", prefix, strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()), hex.EncodeToString(b))
}

// FreePort returns a TCP port that was free a moment ago on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nodePort returns a free port for a node's listeners below the kernel's
// ephemeral range: a port from FreePort may be taken by an outgoing
// connection (a client's, or Erlang distribution's) before a booting node
// binds it, which kills the node ("dist_port_already_used").
func nodePort(t testing.TB) int {
	t.Helper()
	hi := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > 12000 {
				hi = lo
			}
		}
	}
	for range 1000 {
		p := 10000 + mrand.IntN(hi-10000)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port for a private broker")
	return 0
}

// Node is a private RabbitMQ node.
type Node struct {
	Name string // Erlang node name, for rabbitmqctl -n
	Port int
	URL  string
	dir  string

	cmd      *exec.Cmd
	logf     *os.File
	exited   chan struct{} // closed when the server process has ended
	stopOnce sync.Once
}

// Options tailor a private node.
type Options struct {
	// Config lines are appended to the node's rabbitmq.conf; "$DIR" in them
	// stands for the node's folder, where Files are written.
	Config []string
	// Files are written into the node's folder, owned by the broker's user
	// (certificates and keys, say).
	Files map[string][]byte
	// Plugins are enabled at boot (rabbitmq_consistent_hash_exchange, say):
	// they must be installed with the server.
	Plugins []string
}

// Start boots a private node on a free port (about 5 s) and stops it when
// the test ends.
func Start(t testing.TB) *Node {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with extra configuration and files.
func StartWith(t testing.TB, o Options) *Node {
	t.Helper()
	n := launch(t, o)
	n.await(t)
	return n
}

// Dir is the node's folder: its configuration, Files, data and logs.
func (n *Node) Dir() string { return n.dir }

// launch starts the node's process without waiting for it to boot, so that
// several nodes can boot at once; the test's cleanup stops it.
func launch(t testing.TB, o Options) *Node {
	t.Helper()
	if testing.Short() {
		Unavailable(t, "a private RabbitMQ node")
	}
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		Unavailable(t, "rabbitmq-server is not installed")
	}
	if os.Geteuid() != 0 {
		Unavailable(t, "a private RabbitMQ node needs root (its files belong to the rabbitmq user)")
	}
	port := nodePort(t)
	dist := nodePort(t)
	dir, err := os.MkdirTemp("", "sysmon-rabbit-")
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{Name: fmt.Sprintf("sysmontest%d@localhost", port), Port: port,
		URL: fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port), dir: dir}
	for _, d := range []string{"mnesia", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("["+strings.Join(o.Plugins, ",")+"].\n"), 0o644))
	conf := fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\n", port)
	for _, line := range o.Config {
		conf += strings.ReplaceAll(line, "$DIR", dir) + "\n"
	}
	must(t, os.WriteFile(filepath.Join(dir, "rabbitmq.conf"), []byte(conf), 0o644))
	for name, data := range o.Files {
		must(t, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	must(t, os.Chmod(dir, 0o755))
	// The server drops to the rabbitmq user, which must own its files.
	if out, err := exec.Command("chown", "-R", "rabbitmq:rabbitmq", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown %s: %v: %s", dir, err, out)
	}
	n.logf, err = os.Create(filepath.Join(dir, "server.out"))
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command("rabbitmq-server")
	n.cmd.Env = append(os.Environ(),
		"RABBITMQ_NODENAME="+n.Name,
		"RABBITMQ_NODE_PORT="+strconv.Itoa(port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
	)
	n.cmd.Stdout, n.cmd.Stderr = n.logf, n.logf
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start rabbitmq-server: %v", err)
	}
	n.exited = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		n.stop()
		if !t.Failed() {
			os.RemoveAll(dir)
		} else {
			t.Logf("private broker files kept in %s", dir)
		}
	})
	return n
}

// stop stops the node and waits for its process (once; later calls return
// at once).
func (n *Node) stop() {
	n.stopOnce.Do(func() {
		select {
		case <-n.exited:
		default:
			_, _ = n.ctl("stop")
		}
		select {
		case <-n.exited:
		case <-time.After(30 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
		n.logf.Close()
	})
}

// await waits until the node has booted: until it accepts an AMQP
// connection, which it does once its boot steps have run (a cluster join
// among them). Polling with AMQP rather than rabbitmqctl matters on a small
// machine: each rabbitmqctl run boots an Erlang VM for a second or two of CPU.
func (n *Node) await(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := amqp.DialConfig(n.URL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-n.exited:
			out, _ := os.ReadFile(filepath.Join(n.dir, "server.out"))
			t.Fatalf("private broker %s exited while starting:\n%s", n.Name, tail(out, 3000))
		default:
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(n.dir, "server.out"))
			t.Fatalf("private broker %s did not start within 90s (%v):\n%s", n.Name, err, tail(out, 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (n *Node) ctl(args ...string) (string, error) {
	out, err := exec.Command("rabbitmqctl", append([]string{"-q", "-n", n.Name}, args...)...).CombinedOutput()
	return string(out), err
}

// Ctl runs rabbitmqctl against the node and fails the test on error.
func (n *Node) Ctl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := n.ctl(args...)
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// StopApp stops the broker application (the port closes; durable queues and
// persistent messages are kept). The test's cleanup starts it again.
func (n *Node) StopApp(t testing.TB) {
	t.Helper()
	n.Ctl(t, "stop_app")
}

// StartApp starts the broker application again and waits until it accepts
// connections.
func (n *Node) StartApp(t testing.TB) {
	t.Helper()
	n.Ctl(t, "start_app")
	n.await(t)
}

// CloseAll closes every client connection, as an operator would.
func (n *Node) CloseAll(t testing.TB) {
	t.Helper()
	n.Ctl(t, "close_all_connections", "sysmon test")
}

// Alarm raises (on) or clears the memory alarm: publishers are blocked.
func (n *Node) Alarm(t testing.TB, on bool) {
	t.Helper()
	if on {
		n.Ctl(t, "set_vm_memory_high_watermark", "0.0000001")
	} else {
		n.Ctl(t, "set_vm_memory_high_watermark", "0.4")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Fanout declares on the broker at url a fanout exchange of this test only
// and binds a server-named queue to it (exclusive, gone with the
// connection; args as given), for a test that publishes through the
// exchange and reads what arrives. The exchange is deleted and the
// connection closed when the test ends; the channel stays open for it.
func Fanout(t testing.TB, url string, queueArgs amqp.Table) (exchange string, ch *amqp.Channel, queue string) {
	t.Helper()
	exchange = Name(t, "ex")
	conn, err := amqp.Dial(url)
	must(t, err)
	// Cleanups run last first: the exchange is deleted before the close.
	t.Cleanup(func() { _ = conn.Close() })
	ch, err = conn.Channel()
	must(t, err)
	must(t, ch.ExchangeDeclare(exchange, "fanout", true, false, false, false, nil))
	t.Cleanup(func() { _ = ch.ExchangeDelete(exchange, false, false) })
	q, err := ch.QueueDeclare("", false, true, true, false, queueArgs)
	must(t, err)
	must(t, ch.QueueBind(q.Name, "", exchange, false, nil))
	return exchange, ch, q.Name
}
