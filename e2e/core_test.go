package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// pair starts a consumer and a publisher sharing a fresh exchange on url.
func pair(t *testing.T, url string, pubEnv Env) (pub, cons *Daemon, host string) {
	t.Helper()
	exchange := brokertest.Name(t, "ex")
	host = brokertest.Name(t, "host")
	cons = Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange,
		"QUEUE_NAME": brokertest.Name(t, "q"), "RECONNECT_MAX_DELAY": "1s", "RABBITMQ_HEARTBEAT": "2s"})
	cons.WaitReady(t, 20*time.Second)
	env := Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "HOST_NAME": host, "PUBLISH_INTERVAL": "0",
		"RECONNECT_MAX_DELAY": "1s", "RABBITMQ_HEARTBEAT": "2s", "PUBLISH_RATE_LIMIT": "1000"}
	for k, v := range pubEnv {
		env[k] = v
	}
	pub = Start(t, "sysmon-publisher", env)
	pub.WaitReady(t, 20*time.Second)
	return pub, cons, host
}

type publishResponse struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func publish(t *testing.T, pub *Daemon, method string) (int, publishResponse) {
	t.Helper()
	code, body := pub.Do(t, method, "/publish")
	var r publishResponse
	if code != 0 {
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("/publish answered %d with %q", code, body)
		}
	}
	return code, r
}

func TestPublishReachesWebSocket(t *testing.T) {
	url := brokertest.Shared(t)
	pub, cons, host := pair(t, url, nil)
	ws := DialWS(t, cons)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		code, r := publish(t, pub, method)
		if code != http.StatusOK || r.Status != "success" || r.Message != "System information published" {
			t.Fatalf("%s /publish: %d %+v", method, code, r)
		}
		var data struct {
			Seq  uint64 `json:"seq"`
			Host string `json:"host"`
		}
		_ = json.Unmarshal(r.Data, &data)
		if data.Host != host {
			t.Fatalf("published host %q, want %q", data.Host, host)
		}
		e := ws.WaitUpdate(t, 5*time.Second, "the snapshot on the WebSocket", func(e Entry) bool { return e.Seq == data.Seq })
		if e.Host != host || e.Status != "live" || e.Legacy {
			t.Fatalf("entry %+v", e)
		}
	}
	// The consumer's API shows the host with fresh figures.
	var hosts struct {
		Hosts []struct {
			Host     string    `json:"host"`
			LastSeen time.Time `json:"last_seen"`
			Snapshot struct {
				CPUPercent *float64               `json:"cpu_percent"`
				Memory     struct{ Total uint64 } `json:"memory"`
			} `json:"snapshot"`
		} `json:"hosts"`
	}
	cons.GetJSON(t, "/api/hosts", &hosts)
	if len(hosts.Hosts) != 1 || hosts.Hosts[0].Host != host || time.Since(hosts.Hosts[0].LastSeen) > time.Minute ||
		hosts.Hosts[0].Snapshot.CPUPercent == nil || hosts.Hosts[0].Snapshot.Memory.Total == 0 {
		t.Fatalf("/api/hosts = %+v", hosts)
	}
}

func TestMessagePropertiesAndPrototypeKeys(t *testing.T) {
	url := brokertest.Shared(t)
	exchange, msgs := Tap(t, url)

	pub := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "HOST_NAME": "props-host", "PUBLISH_INTERVAL": "0"})
	pub.WaitReady(t, 20*time.Second)
	if code, _ := publish(t, pub, http.MethodGet); code != http.StatusOK {
		t.Fatalf("/publish: %d", code)
	}
	var d amqp.Delivery
	select {
	case d = <-msgs:
	case <-time.After(5 * time.Second):
		t.Fatal("no message on the exchange")
	}
	if d.ContentType != "application/json" || d.DeliveryMode != amqp.Persistent || d.MessageId == "" ||
		d.Timestamp.IsZero() || d.AppId != "sysmon-publisher" || d.Type != "sysmon.snapshot.v1" || d.RoutingKey != "props-host" {
		t.Fatalf("properties: type=%q mode=%d id=%q ts=%v app=%q msgtype=%q key=%q",
			d.ContentType, d.DeliveryMode, d.MessageId, d.Timestamp, d.AppId, d.Type, d.RoutingKey)
	}
	// What an old prototype consumer reads is there, with the prototype's types.
	var m map[string]any
	if err := json.Unmarshal(d.Body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"timestamp", "platform", "platform_release", "processor"} {
		if _, ok := m[k].(string); !ok {
			t.Errorf("%s is %T, want string", k, m[k])
		}
	}
	if _, ok := m["cpu_percent"].(float64); !ok {
		t.Errorf("cpu_percent is %T", m["cpu_percent"])
	}
	for obj, keys := range map[string][]string{"memory": {"total", "available", "percent"}, "disk": {"total", "used", "free"}} {
		o, ok := m[obj].(map[string]any)
		if !ok {
			t.Fatalf("%s is %T", obj, m[obj])
		}
		for _, k := range keys {
			if _, ok := o[k].(float64); !ok {
				t.Errorf("%s.%s is %T", obj, k, o[k])
			}
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000000", m["timestamp"].(string)); err != nil {
		t.Errorf("timestamp not in the prototype's format: %v", err)
	}
}

func TestPrototypeMessageReachesWebSocket(t *testing.T) {
	url := brokertest.Shared(t)
	exchange := brokertest.Name(t, "ex")
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "EXCHANGE_NAME": exchange, "QUEUE_NAME": brokertest.Name(t, "q")})
	cons.WaitReady(t, 20*time.Second)
	ws := DialWS(t, cons)
	body, err := os.ReadFile("../internal/snapshot/testdata/prototype-snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	// Exactly as the prototype published: no properties at all.
	if err := ch.Publish(exchange, "", false, false, amqp.Publishing{Body: body}); err != nil {
		t.Fatal(err)
	}
	e := ws.WaitUpdate(t, 5*time.Second, "the prototype message", func(e Entry) bool { return e.Legacy })
	if e.Host != "prototype" {
		t.Fatalf("host %q", e.Host)
	}
	var s map[string]any
	_ = json.Unmarshal(e.Snapshot, &s)
	if s["platform_release"] != "6.18.44-fc-v657" {
		t.Fatalf("snapshot %v", s)
	}
}

func TestBrokenConfigExits78WithLine(t *testing.T) {
	for _, name := range []string{"sysmon-publisher", "sysmon-consumer"} {
		t.Run(name, func(t *testing.T) {
			n := ListenNotify(t)
			d := Start(t, name, Env{"EXCHANGE_TYPE": "fanout", "RABBITMQ_PORT": "not-a-port"}, n.Env)
			select {
			case <-d.Exited():
			case <-time.After(10 * time.Second):
				t.Fatal("still running with a broken config")
			}
			if d.ExitCode() != 78 {
				t.Fatalf("exit code %d, want 78", d.ExitCode())
			}
			out := d.Output()
			// The harness adds keys of its own (QUEUE_EXPIRES for a
			// consumer): find the line the file gives RABBITMQ_PORT.
			data, err := os.ReadFile(d.Config)
			if err != nil {
				t.Fatal(err)
			}
			line := 1 + strings.Count(string(data[:strings.Index(string(data), "RABBITMQ_PORT=")]), "\n")
			if !strings.Contains(out, fmt.Sprintf("%s:%d: RABBITMQ_PORT: expected a whole number", d.Config, line)) {
				t.Fatalf("the error does not name file, line and key:\n%s", out)
			}
			for _, m := range n.Messages() {
				if strings.HasPrefix(m, "READY=1") {
					t.Fatal("READY=1 sent with a broken config")
				}
			}
		})
	}
}

func TestUnknownKeyWarns(t *testing.T) {
	d := Start(t, "sysmon-publisher", Env{"PUBLISH_INTERVALL": "5", "RABBITMQ_URL": brokertest.SharedURL})
	d.WaitLog(t, "unknown key PUBLISH_INTERVALL (ignored); did you mean PUBLISH_INTERVAL?", 1, 10*time.Second)
}

func TestCheckConfigMasksPassword(t *testing.T) {
	p := writeEnv(t, Env{"RABBITMQ_PASSWORD": "hunter2-secret", "RABBITMQ_USER": "sysmon"})
	out, err := runBinary("sysmon-consumer", "-config", p, "-check-config")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "amqp://sysmon:xxxxx@localhost:5672/%2F") {
		t.Fatalf("check-config output:\n%s", out)
	}
	out, _ = runBinary("sysmon-publisher", "-version")
	if strings.TrimSpace(out) != "sysmon-publisher e2e" {
		t.Fatalf("-version printed %q", out)
	}
}

func TestSdNotify(t *testing.T) {
	n := ListenNotify(t)
	pub := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": brokertest.Shared(t), "EXCHANGE_NAME": brokertest.Name(t, "ex"),
		"PUBLISH_INTERVAL": "0"}, n.Env, "WATCHDOG_USEC=400000")
	ready := n.Wait(t, "READY=1", 10*time.Second)
	n.Wait(t, "STATUS=broker connected", 10*time.Second)
	n.Wait(t, "WATCHDOG=1", 5*time.Second)
	if code, d := pub.Stop(t); code != 0 || d > 5*time.Second {
		t.Fatalf("exit %d after %v", code, d)
	}
	stopping := n.Wait(t, "STOPPING=1", time.Second)
	if stopping < ready {
		t.Fatal("STOPPING before READY")
	}
}

// TestReadyWithoutBroker: systemctl start must not hang while RabbitMQ is
// down: READY comes with the listener, and the status says what is wrong.
func TestReadyWithoutBroker(t *testing.T) {
	n := ListenNotify(t)
	port := brokertest.FreePort(t) // nothing listens there
	pub := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port),
		"PUBLISH_INTERVAL": "0"}, n.Env)
	n.Wait(t, "READY=1", 10*time.Second)
	n.Wait(t, "STATUS=broker unreachable", 10*time.Second)
	if code, _ := pub.Get(t, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz %d", code)
	}
	if code, _ := pub.Get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d, want 503", code)
	}
	// On demand with the broker away: queued, and said so with a non-200.
	code, r := publish(t, pub, http.MethodPost)
	if code != http.StatusAccepted || r.Status != "queued" {
		t.Fatalf("/publish without a broker: %d %+v", code, r)
	}
	if code, d := pub.Stop(t); code != 0 || d > 5*time.Second {
		t.Fatalf("exit %d after %v", code, d)
	}
}

func TestPublishRateLimit(t *testing.T) {
	pub, _, _ := pair(t, brokertest.Shared(t), Env{"PUBLISH_RATE_LIMIT": "3"})
	codes := map[int]int{}
	for i := 0; i < 10; i++ {
		code, _ := publish(t, pub, http.MethodGet)
		codes[code]++
	}
	if codes[http.StatusTooManyRequests] < 5 || codes[http.StatusOK] < 3 {
		t.Fatalf("codes %v: want at least 3 OK and the rest 429", codes)
	}
}

func TestCloseAllConnectionsReconnects(t *testing.T) {
	node := brokertest.Start(t)
	pub, cons, _ := pair(t, node.URL, nil)
	ws := DialWS(t, cons)
	node.CloseAll(t)
	pub.WaitLog(t, "connected to broker", 2, 20*time.Second)
	cons.WaitLog(t, "connected to broker", 2, 20*time.Second)
	pub.WaitReady(t, 10*time.Second)
	var seq uint64
	waitFor(t, 20*time.Second, "a confirmed publish after the reconnect", func() bool {
		code, r := publish(t, pub, http.MethodGet)
		var d struct{ Seq uint64 }
		_ = json.Unmarshal(r.Data, &d)
		seq = d.Seq
		return code == http.StatusOK
	})
	ws.WaitUpdate(t, 10*time.Second, "the snapshot published after the reconnect", func(e Entry) bool { return e.Seq == seq })
}

// TestBrokerStopStartLosesNothing: with the broker stopped while the
// publisher keeps sampling, every sequence number reaches the consumer once
// it is back.
func TestBrokerStopStartLosesNothing(t *testing.T) {
	node := brokertest.Start(t)
	pub, cons, _ := pair(t, node.URL, Env{"PUBLISH_INTERVAL": "100ms"})
	ws := DialWS(t, cons)
	var info struct {
		Instance string `json:"instance_id"`
	}
	pub.GetJSON(t, "/", &info)
	time.Sleep(500 * time.Millisecond)
	node.StopApp(t)
	time.Sleep(3 * time.Second) // about 30 snapshots go to the outbox
	node.StartApp(t)
	pub.WaitLog(t, "connected to broker", 2, 30*time.Second)
	cons.WaitLog(t, "connected to broker", 2, 30*time.Second)
	time.Sleep(time.Second)
	if code, _ := pub.Stop(t); code != 0 {
		t.Fatalf("publisher exit %d", code)
	}
	// The publisher's last log line says how many it had confirmed.
	var confirmed, left int
	for _, line := range strings.Split(pub.Output(), "\n") {
		if strings.Contains(line, "msg=stopped") {
			fmt.Sscanf(line[strings.Index(line, "confirmed_total="):], "confirmed_total=%d left_in_outbox=%d", &confirmed, &left)
		}
	}
	if confirmed < 30 || left != 0 {
		t.Fatalf("confirmed %d, left %d:\n%s", confirmed, left, pub.Output())
	}
	waitFor(t, 10*time.Second, "every confirmed snapshot at the WebSocket client", func() bool {
		return len(ws.Seqs(info.Instance)) >= confirmed
	})
	seqs := ws.Seqs(info.Instance)
	for s := uint64(1); s <= uint64(confirmed); s++ {
		if seqs[s] != 1 {
			t.Errorf("seq %d reached the dashboard %d times", s, seqs[s])
		}
	}
}
