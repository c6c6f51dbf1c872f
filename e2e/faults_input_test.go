package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// These faults come from the other sides (messages, browsers, HTTP clients,
// the host): none breaks a broker, so they use the shared one with names
// unique to the test.

// TestFaultPoisonMessages: garbage on the exchange is dropped, counted,
// logged without flooding and never forwarded; the next good snapshot passes.
func TestFaultPoisonMessages(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	exchange, queue := brokertest.Name(t, "ex"), brokertest.Name(t, "q")
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "QUEUE_NAME": queue})
	cons.WaitReady(t, 30*time.Second)
	ws := DialWS(t, cons)
	p := dialPublisher(t, url, exchange)
	instance, host := uuid.NewString(), brokertest.Name(t, "host")
	good := func(seq uint64) map[string]any {
		var m map[string]any
		_ = json.Unmarshal(testSnapshot(host, instance, seq, 0), &m)
		return m
	}
	with := func(f func(m map[string]any)) []byte {
		m := good(99)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	html := `<script>alert(1)</script><img src=x onerror=alert(1)>`
	invalid := map[string][]byte{
		"not JSON":           []byte("hello, I am not JSON \x00\xff"),
		"empty":              {},
		"deeply nested":      append(bytes.Repeat([]byte("["), 100000), bytes.Repeat([]byte("]"), 100000)...),
		"nested object":      []byte(strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)),
		"wrong types":        with(func(m map[string]any) { m["cpu_percent"] = "high"; m["memory"] = []int{1} }),
		"missing keys":       []byte(`{"timestamp":"2026-01-01T00:00:00.000000","platform":"Linux"}`),
		"out of range":       with(func(m map[string]any) { m["cpu_percent"] = 1e308 }),
		"HTML with controls": with(func(m map[string]any) { m["processor"] = html + "\x1b[31m" }),
		"JSON array":         []byte(`[1,2,3]`),
		"JSON null":          []byte(`null`),
	}
	huge := append([]byte(`{"timestamp":"`), bytes.Repeat([]byte("A"), 10<<20)...)
	huge = append(huge, `"}`...)
	for name, b := range invalid {
		p.publish(t, exchange, "poison", b)
		_ = name
	}
	p.publish(t, exchange, "poison", huge)
	// HTML in otherwise valid strings is data, not markup: it may pass, but
	// only JSON-escaped, never as raw markup in a frame.
	htmlSnap := with(func(m map[string]any) { m["processor"] = html; m["seq"] = 1 })
	p.publish(t, exchange, "poison", htmlSnap)
	p.publish(t, exchange, "poison", testSnapshot(host, instance, 2, 0))
	e := ws.WaitUpdate(t, 20*time.Second, "the good snapshot after the garbage", func(e Entry) bool { return e.Instance == instance && e.Seq == 2 })
	_ = e
	var st consStatus
	waitFor(t, 20*time.Second, "the consumer to count every message", func() bool {
		st = consInfo(t, cons)
		return st.Messages.Received >= uint64(len(invalid)+3)
	})
	if st.Messages.Invalid != uint64(len(invalid)) || st.Messages.TooLarge != 1 {
		t.Errorf("counted invalid %d (want %d), too large %d (want 1)", st.Messages.Invalid, len(invalid), st.Messages.TooLarge)
	}
	for _, u := range ws.Updates() {
		if u.Instance != instance || (u.Seq != 1 && u.Seq != 2) {
			t.Errorf("forwarded something that is not one of the valid snapshots: %.200s", u.Snapshot)
		}
		if bytes.Contains(u.Snapshot, []byte("<script")) || bytes.Contains(u.Snapshot, []byte("<img")) {
			t.Errorf("raw markup in a WebSocket frame: %.200s", u.Snapshot)
		}
	}
	out := cons.Output()
	if n := logCount(out, "dropped a message that is not a valid snapshot"); n != 1 {
		t.Errorf("%d log lines about dropped messages for %d bad ones, want 1 (rate-limited)", n, len(invalid)+1)
	}
	if strings.Contains(out, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") || strings.Contains(out, "<script") {
		t.Error("the log carries message bodies")
	}
	if code, _ := cons.Get(t, "/api/status"); code != http.StatusOK {
		t.Fatal("the consumer is not healthy after the garbage")
	}
	record(t, faultRow{Fault: "8. poison messages (11 kinds incl. 10 MiB, 100k-deep nesting)", Recovery: "next good one delivered",
		Confirmed: 2, Delivered: 2, Lost: 0, Dups: int(st.Messages.Duplicates),
		Note: fmt.Sprintf("invalid_total=%d too_large_total=%d on /api/status; 1 log line; valid HTML strings forwarded JSON-escaped only", st.Messages.Invalid, st.Messages.TooLarge)})
}

// TestFaultWebSocketClients: a client that never reads, one that sends
// oversized frames, a cross-origin handshake, 1,000 clients coming and going.
func TestFaultWebSocketClients(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	exchange := brokertest.Name(t, "ex")
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "QUEUE_NAME": brokertest.Name(t, "q"),
		"WS_SEND_BUFFER": "64"}, "GOTRACEBACK=all")
	cons.WaitReady(t, 30*time.Second)
	wsURL := "ws" + strings.TrimPrefix(cons.Base, "http") + "/ws"
	base := readProc(t, cons)

	// Cross-origin handshake: refused.
	h := http.Header{"Origin": {"http://evil.example"}}
	if c, resp, err := websocket.DefaultDialer.Dial(wsURL, h); err == nil {
		c.Close()
		t.Error("a cross-origin WebSocket handshake was accepted")
	} else if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin handshake: %v (want 403)", err)
	}

	// Oversized frame: the server closes the connection.
	big, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _ = big.ReadMessage() // state
	t0 := time.Now()
	_ = big.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 64<<10))
	_ = big.SetReadDeadline(time.Now().Add(15 * time.Second))
	var closeErr error
	for closeErr == nil {
		_, _, closeErr = big.ReadMessage()
	}
	oversized := time.Since(t0)
	if ce, ok := closeErr.(*websocket.CloseError); ok && ce.Code != websocket.CloseMessageTooBig {
		t.Errorf("oversized frame closed with %d", ce.Code)
	} else if ne, ok := closeErr.(net.Error); ok && ne.Timeout() {
		t.Error("an oversized frame did not close the connection")
	}
	big.Close()

	// A slow client (small receive buffer, never reads) and a good one.
	slowDialer := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			_ = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}, ReadBufferSize: 1024}
	// Complete entries, so that the 50 KiB snapshots below reach it (a
	// dashboard's lean entries would not fill its buffers).
	slow, _, err := slowDialer.Dial(wsURL+"?complete=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	goodWS := DialWS(t, cons)
	p := dialPublisher(t, url, exchange)
	instance, host := uuid.NewString(), brokertest.Name(t, "host")
	// About 10 MB in 200 updates, paced like a busy fleet: more than the
	// slow client's socket buffers hold, easy for a client that reads.
	const n = 200
	start := time.Now()
	var lastSent time.Time
	for i := uint64(1); i <= n; i++ {
		p.publish(t, exchange, host, testSnapshot(host, instance, i, 50<<10))
		lastSent = time.Now()
		time.Sleep(3 * time.Millisecond)
	}
	var st consStatus
	waitFor(t, 30*time.Second, "the slow client to be dropped", func() bool {
		st = consInfo(t, cons)
		return st.WebSocket.DroppedSlow >= 1
	})
	dropped := time.Since(start)
	var e Entry
	waitFor(t, 30*time.Second, "the good client to get the last update", func() bool {
		for _, u := range goodWS.Updates() {
			if u.Instance == instance && u.Seq == n {
				e = u
				return true
			}
		}
		goodWS.mu.Lock()
		err := goodWS.err
		goodWS.mu.Unlock()
		if err != nil {
			t.Fatalf("the good client was cut off after %d updates: %v (dropped_slow_total %d)",
				len(goodWS.Seqs(instance)), err, consInfo(t, cons).WebSocket.DroppedSlow)
		}
		return false
	})
	lag := max(0, e.At.Sub(lastSent))
	if got := len(goodWS.Seqs(instance)); got != n {
		t.Errorf("the good client got %d of %d updates", got, n)
	}
	if st.WebSocket.DroppedSlow != 1 {
		t.Errorf("dropped_slow_total %d, want 1 (only the slow client)", st.WebSocket.DroppedSlow)
	}

	// 1,000 clients connecting and leaving.
	const many = 1000
	var wg sync.WaitGroup
	errs := make(chan error, many)
	sem := make(chan struct{}, 50)
	t1 := time.Now()
	for i := 0; i < many; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
			if err != nil {
				errs <- err
				return
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _, err = c.ReadMessage()
			c.Close()
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	nerr := 0
	for err := range errs {
		if nerr == 0 {
			t.Errorf("a client of the 1,000: %v", err)
		}
		nerr++
	}
	churn := time.Since(t1)
	if code, _ := cons.Get(t, "/api/status"); code != http.StatusOK {
		_, dump := goroutines(t, cons)
		t.Fatalf("the consumer stopped answering after the 1,000 clients; its goroutines:\n%s", dump)
	}
	slow.Close()
	goodWS.conn.Close()
	waitFor(t, 30*time.Second, "every WebSocket client to be gone", func() bool { return consInfo(t, cons).WebSocket.Clients == 0 })
	time.Sleep(500 * time.Millisecond)
	end := readProc(t, cons)
	if end.FDs > base.FDs+3 {
		t.Errorf("consumer open files %d before, %d after 1,000 clients", base.FDs, end.FDs)
	}
	g, dump := goroutines(t, cons)
	if g > 40 {
		t.Errorf("%d goroutines left after every client left (want ≤ 40):\n%.3000s", g, dump)
	}
	record(t, faultRow{Fault: "9. WebSocket: slow, oversized, cross-origin, 1,000 clients", Recovery: "slow dropped in " + secs(dropped),
		Confirmed: n, Delivered: len(goodWS.Seqs(instance)), Lost: n - len(goodWS.Seqs(instance)), Dups: 0,
		Note: fmt.Sprintf("good client got all %d, the last ≤ %s after its publish; oversized frame closed in %s (1009); cross-origin 403; 1,000 clients in %s, %d errors, then %d goroutines, fds %d→%d",
			len(goodWS.Seqs(instance)), secs(lag), secs(oversized), secs(churn), nerr, g, base.FDs, end.FDs)})
}

// TestFaultHTTPClients: Slowloris, a huge body, a flood of /publish.
func TestFaultHTTPClients(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	// The test's own queue counts what reaches the broker.
	exchange, msgs := Tap(t, url)
	const limit = 5
	pub := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "PUBLISH_INTERVAL": "0",
		"PUBLISH_RATE_LIMIT": fmt.Sprint(limit)})
	pub.WaitReady(t, 30*time.Second)
	addr := strings.TrimPrefix(pub.Base, "http://")

	// Slowloris: a header that never ends is cut at the header timeout.
	sl, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, _ = sl.Write([]byte("GET /publish HTTP/1.1\r\nHost: x\r\n"))
	cut := make(chan time.Duration, 1)
	go func() {
		_ = sl.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, _ = io.Copy(io.Discard, sl)
		cut <- time.Since(t0)
	}()
	go func() {
		for i := 0; i < 25; i++ {
			time.Sleep(time.Second)
			if _, err := sl.Write([]byte(fmt.Sprintf("X-Slow-%d: 1\r\n", i))); err != nil {
				return
			}
		}
	}()

	// A huge body: refused before it is read.
	req, _ := http.NewRequest(http.MethodPost, pub.Base+"/publish", io.LimitReader(zeroReader{}, 100<<20))
	req.ContentLength = 100 << 20
	t1 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	bodyCode := 0
	if err == nil {
		bodyCode = resp.StatusCode
		resp.Body.Close()
	}
	if bodyCode != http.StatusRequestEntityTooLarge {
		t.Errorf("100 MiB body: %d %v, want 413", bodyCode, err)
	}
	bodyTook := time.Since(t1)

	// A flood: 200 concurrent /publish.
	time.Sleep(1500 * time.Millisecond) // the limiter's burst refills
	before := pubInfo(t, pub).Snapshots.Outbox.Confirmed
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	t2 := time.Now()
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := pub.Do(t, http.MethodPost, "/publish")
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	flood := time.Since(t2)
	accepted := codes[http.StatusOK] + codes[http.StatusAccepted]
	maxAllowed := limit + int(flood.Seconds()*limit) + 1
	if codes[http.StatusTooManyRequests] < 200-maxAllowed || accepted > maxAllowed {
		t.Errorf("flood of 200: %v; at most %d may pass in %v", codes, maxAllowed, flood)
	}
	time.Sleep(time.Second)
	onBroker := 0
	for quiet := false; !quiet; {
		select {
		case <-msgs:
			onBroker++
		case <-time.After(300 * time.Millisecond):
			quiet = true
		}
	}
	confirmed := int(pubInfo(t, pub).Snapshots.Outbox.Confirmed - before)
	if onBroker != accepted || confirmed != accepted {
		t.Errorf("%d answered 200/202, %d confirmed, %d on the broker: the flood multiplied broker traffic", accepted, confirmed, onBroker)
	}
	var slowCut time.Duration
	select {
	case slowCut = <-cut:
	case <-time.After(40 * time.Second):
		t.Fatal("the Slowloris connection was never cut")
	}
	if slowCut > 5*time.Second+5*time.Second {
		t.Errorf("Slowloris cut after %v (ReadHeaderTimeout 5s)", slowCut)
	}
	if code, _ := pub.Get(t, "/healthz"); code != http.StatusOK {
		t.Error("publisher unhealthy after the abuse")
	}
	record(t, faultRow{Fault: "10. HTTP: Slowloris, 100 MiB body, 200 concurrent /publish", Recovery: "Slowloris cut at " + secs(slowCut),
		Confirmed: confirmed, Delivered: onBroker, Lost: 0, Dups: -1,
		Note: fmt.Sprintf("body → 413 in %s; flood: %d×429, %d passed (limit %d/s), %d messages reached the broker", secs(bodyTook),
			codes[http.StatusTooManyRequests], accepted, limit, onBroker)})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestFaultHangingCollector: a source that never returns (like a dead
// network mount) is simulated with HOST_PROC pointing at a copy of /proc
// whose loadavg is a FIFO nobody writes: opening it blocks forever.
func TestFaultHangingCollector(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	proc := fakeProc(t)
	exchange := brokertest.Name(t, "ex")
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "QUEUE_NAME": brokertest.Name(t, "q")})
	cons.WaitReady(t, 30*time.Second)
	ws := DialWS(t, cons)
	n := listenNotify(t)
	pub := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "HOST_NAME": brokertest.Name(t, "host"),
		"PUBLISH_INTERVAL": "200ms", "COLLECT_TIMEOUT": "300ms", "PUBLISH_RATE_LIMIT": "100"},
		"HOST_PROC="+proc, n.Env, "WATCHDOG_USEC=2000000", "GOTRACEBACK=all")
	pub.WaitReady(t, 30*time.Second)
	instance := pubInfo(t, pub).Instance
	start := time.Now()
	var slowest time.Duration
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		code, r := publish(t, pub, http.MethodGet)
		d := time.Since(t0)
		slowest = max(slowest, d)
		var data struct {
			Missing []string `json:"missing"`
			Load    any      `json:"load"`
		}
		_ = json.Unmarshal(r.Data, &data)
		if code != http.StatusOK || !contains(data.Missing, "load") || data.Load != nil {
			t.Errorf("/publish with a hung source: %d, missing %v, load %v", code, data.Missing, data.Load)
		}
		if d > 300*time.Millisecond+3*time.Second {
			t.Errorf("/publish took %v with COLLECT_TIMEOUT=300ms", d)
		}
	}
	time.Sleep(3 * time.Second)
	c := pubInfo(t, pub)
	if c.Snapshots.Published < 5+10 {
		t.Errorf("the periodic loop published %d in %v", c.Snapshots.Published, time.Since(start))
	}
	// The watchdog keeps being fed: nothing the loops wait on is stuck.
	if got := len(n.Since(start.Add(time.Second), "WATCHDOG=1")); got < 2 || strings.Contains(pub.Output(), "main loop stuck") {
		t.Errorf("watchdog: %d pings since the hang began; log says stuck: %v", got, strings.Contains(pub.Output(), "main loop stuck"))
	}
	if l := logCount(pub.Output(), "collector source failed", "source=load"); l != 1 {
		t.Errorf("%d log lines about the hung source, want 1", l)
	}
	e := ws.WaitUpdate(t, 20*time.Second, "a snapshot at the dashboard", func(e Entry) bool { return e.Instance == instance })
	if !bytes.Contains(e.Snapshot, []byte(`"missing":["load"]`)) {
		t.Errorf("the dashboard's snapshot does not mark load missing: %.300s", e.Snapshot)
	}
	// One hung goroutine, not one per sample.
	g, dump := goroutines(t, pub)
	hung := strings.Count(dump, "collect.(*procFile).read")
	if hung > 1 || g > 40 {
		t.Errorf("%d goroutines, %d stuck on loadavg after %d samples (want 1)", g, hung, c.Snapshots.Published)
	}
	record(t, faultRow{Fault: "11. collector source hangs (loadavg is a FIFO)", Recovery: "/publish in ≤ " + secs(slowest),
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1,
		Note: fmt.Sprintf("COLLECT_TIMEOUT=300ms; missing:[\"load\"] reaches the dashboard; %d periodic samples, watchdog fed, %d hung goroutine(s) of %d", c.Snapshots.Published, hung, g)})
}

// fakeProc is a directory of links to /proc's entries, except loadavg, a FIFO.
func fakeProc(t *testing.T) string {
	dir := t.TempDir()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() == "loadavg" {
			continue
		}
		if err := os.Symlink(filepath.Join("/proc", e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "loadavg"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestFaultFuzz runs the fuzz targets of the env-file reader, the message
// decoder and the WebSocket input for a short time: by default a number of
// executions per target sized to about 5 s here, or SYSMON_FUZZTIME for all
// (e.g. SYSMON_FUZZTIME=10m for a longer run on demand). Counts, not
// durations, by default: Go 1.26's fuzz coordinator can report its own
// -fuzztime deadline as a failure on a loaded machine (go.dev/issue/75804,
// fixed in Go 1.27), and a count has no deadline to race. A crasher is
// written by go test under the package's testdata/fuzz, where it becomes a
// regression case of the ordinary test run once committed.
func TestFaultFuzz(t *testing.T) {
	faultTest(t)
	override := os.Getenv("SYSMON_FUZZTIME")
	targets := []struct{ pkg, name, budget string }{
		{"../internal/config", "FuzzEnvFile", "3000x"},
		{"../internal/config", "FuzzBrokerURLNeverShowsPassword", "5000x"},
		{"../internal/snapshot", "FuzzDecode", "60000x"},
		{"../internal/web", "FuzzWSFrames", "1000x"},
	}
	var notes []string
	start := time.Now()
	for _, f := range targets {
		fuzztime := f.budget
		if override != "" {
			fuzztime = override
		}
		cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+f.name+"$", "-fuzztime", fuzztime,
			"-fuzzminimizetime", "20x", "-parallel", "1", f.pkg)
		out, err := cmd.CombinedOutput()
		execs := ""
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if l := sc.Text(); strings.Contains(l, "execs:") {
				if i := strings.Index(l, "execs: "); i >= 0 {
					execs = strings.Fields(l[i+len("execs: "):])[0]
				}
			}
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", f.name, err, out)
		}
		notes = append(notes, fmt.Sprintf("%s %s execs (-fuzztime %s)", f.name, execs, fuzztime))
	}
	record(t, faultRow{Fault: "13. fuzzing (env file, decoder, WebSocket input)", Recovery: "ran " + secs(time.Since(start)),
		Confirmed: -1, Delivered: -1, Lost: -1, Dups: -1, Note: strings.Join(notes, "; ") + "; no crasher"})
}

// TestFaultHostileText: the messages of issue 10 (items 1 and 6) that
// passed validation and then blinded every dashboard or showed nonsense:
// invalid UTF-8 in a string or in a prototype's routing key, repeated and
// case-variant keys, figures out of range, nesting 9,990 deep, lists and
// strings over the limits. Each is counted invalid; the dashboard's state
// frame, /api/hosts and /metrics/fleet stay valid UTF-8, hold none of them,
// and a good host sent after them still shows.
func TestFaultHostileText(t *testing.T) {
	faultTest(t)
	url := brokertest.Shared(t)
	exchange, queue := brokertest.Name(t, "ex"), brokertest.Name(t, "q")
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "QUEUE_NAME": queue})
	cons.WaitReady(t, 30*time.Second)
	ws := DialWS(t, cons)
	p := dialPublisher(t, url, exchange)
	evil := brokertest.Name(t, "evil")
	// Each hostile message is a valid snapshot of host evil with one thing
	// changed, written as text: a JSON encoder would repair what matters.
	base := string(testSnapshot(evil, uuid.NewString(), 1, 0))
	obj := base[:len(base)-1]
	set := func(key, value string) string { return obj + `,"` + key + `":` + value + `}` }
	replace := func(old, new string) string {
		if !strings.Contains(base, old) {
			t.Fatalf("%s not in %s", old, base)
		}
		return strings.Replace(base, old, new, 1)
	}
	manyMounts := make([]string, 300)
	for i := range manyMounts {
		manyMounts[i] = fmt.Sprintf(`{"mountpoint":"/m%d","device":"d","fstype":"ext4","total":10,"used":1,"free":9,"percent":10}`, i)
	}
	proto := `{"timestamp":"2026-11-27T03:12:27.663874","cpu_percent":1.0,"memory":{"total":25276510208,"available":24783966208,"percent":1.9},"disk":{"total":270553174016,"used":12690640896,"free":85102653440},"platform":"Linux","platform_release":"6.18.44-fc-v657","processor":""}`
	hostile := []struct{ name, key, body string }{
		{"invalid UTF-8 in platform", "", replace(`"platform":"Linux"`, "\"platform\":\"PLAT\xff\xfe\"")},
		{"invalid UTF-8 in an unknown key's value", "", set("note", "\"a\xc3\"")},
		{"lone surrogate escape", "", replace(`"processor":""`, `"processor":"\ud800"`)},
		{"prototype message, invalid UTF-8 routing key", "PLAT\xff\xfe", proto},
		{"prototype message, routing key with ESC", "box\x1b[31m", proto},
		{"CPU 5000, then 5 under a case-variant key", "", replace(`"cpu_percent":12.5`, `"cpu_percent":5000,"CPU_PERCENT":5`)},
		{"repeated key", "", set("cpu_percent", "5")},
		{"case-variant key", "", set("CPU_PERCENT", "5")},
		{"memory -50 %", "", replace(`"percent":50`, `"percent":-50`)},
		{"disk 777 %", "", replace(`"used":53687091200`, `"used":834626437120`)},
		{"99,999 cores", "", set("cpu_count", "99999")},
		{"load negative", "", set("load", `{"load1":-1,"load5":0,"load15":0}`)},
		{"network 1e308 B/s", "", set("network", `{"rx_bytes_per_sec":1e308,"tx_bytes_per_sec":0}`)},
		{"9,990-deep array under an unknown key", "", set("x", strings.Repeat("[", 9990)+strings.Repeat("]", 9990))},
		{"300 mounts", "", set("filesystems", "["+strings.Join(manyMounts, ",")+"]")},
		{"1,000-byte mount point", "", set("filesystems", `[{"mountpoint":"/`+strings.Repeat("m", 1000)+`","device":"d","fstype":"ext4","total":10,"used":1,"free":9,"percent":10}]`)},
	}
	for _, h := range hostile {
		p.publish(t, exchange, h.key, []byte(h.body))
	}
	host, instance := brokertest.Name(t, "good"), uuid.NewString()
	p.publish(t, exchange, host, testSnapshot(host, instance, 1, 0))
	ws.WaitUpdate(t, 20*time.Second, "the good host after the hostile messages", func(e Entry) bool { return e.Instance == instance })
	var st consStatus
	waitFor(t, 20*time.Second, "the consumer to count every message", func() bool {
		st = consInfo(t, cons)
		return st.Messages.Received >= uint64(len(hostile)+1)
	})
	if st.Messages.Invalid != uint64(len(hostile)) {
		t.Errorf("invalid_total %d, want %d (one per hostile message)", st.Messages.Invalid, len(hostile))
	}
	for _, u := range ws.Updates() {
		if u.Instance != instance {
			t.Errorf("forwarded a hostile message: host %q, %.200q", u.Host, u.Snapshot)
		}
	}

	// A dashboard that connects now: its state frame is UTF-8 and has the
	// good host only.
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(cons.Base, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	kind, state, err := c.ReadMessage()
	if err != nil || kind != websocket.TextMessage {
		t.Fatalf("state frame: %v (type %d)", err, kind)
	}
	var frame struct {
		Type  string  `json:"type"`
		Hosts []Entry `json:"hosts"`
	}
	if err := json.Unmarshal(state, &frame); err != nil || frame.Type != "state" {
		t.Fatalf("state frame %.300q: %v", state, err)
	}
	var names []string
	for _, e := range frame.Hosts {
		names = append(names, e.Host)
	}
	if len(names) != 1 || names[0] != host {
		t.Errorf("state frame hosts %q, want only %q", names, host)
	}
	checked := map[string][]byte{"the /ws state frame": state}
	for _, path := range []string{"/api/hosts", "/metrics/fleet", "/api/hosts/" + host} {
		code, body := cons.Get(t, path)
		if code != http.StatusOK {
			t.Errorf("%s answered %d", path, code)
		}
		checked[path] = body
	}
	for what, b := range checked {
		if !utf8.Valid(b) {
			t.Errorf("%s is not valid UTF-8: %.300q", what, b)
		}
		if !bytes.Contains(b, []byte(host)) {
			t.Errorf("%s does not show the good host", what)
		}
		for _, bad := range []string{evil, "PLAT", "\x1b", "\ufffd"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s holds %q from a hostile message: %.300q", what, bad, b)
			}
		}
	}
	record(t, faultRow{Fault: fmt.Sprintf("8. hostile text and figures (%d kinds: invalid UTF-8, bad routing key, repeated/case-variant keys, out-of-range figures, 9,990-deep nesting, oversized lists)", len(hostile)),
		Recovery: "next good one delivered", Confirmed: 1, Delivered: len(ws.Seqs(instance)), Lost: 1 - len(ws.Seqs(instance)), Dups: 0,
		Note: fmt.Sprintf("invalid_total=%d; /ws state, /api/hosts and /metrics/fleet valid UTF-8 with the good host only", st.Messages.Invalid)})
}
