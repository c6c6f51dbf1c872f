package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// writeFile writes data into the test's temporary folder and returns the path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// publishOne asks the publisher for a snapshot and waits for it at ws.
func publishOne(t *testing.T, pub *Daemon, ws *WSClient) {
	t.Helper()
	var seq uint64
	waitFor(t, 20*time.Second, "a confirmed /publish", func() bool {
		code, r := publish(t, pub, http.MethodGet)
		var d struct{ Seq uint64 }
		_ = json.Unmarshal(r.Data, &d)
		seq = d.Seq
		return code == http.StatusOK
	})
	ws.WaitUpdate(t, 10*time.Second, fmt.Sprintf("snapshot %d at the WebSocket client", seq), func(e Entry) bool { return e.Seq == seq })
}

// refused starts a publisher that must not get a connection, waits for the
// log line that explains why, and checks it never became ready.
func refused(t *testing.T, env Env, want string) *Daemon {
	t.Helper()
	env["PUBLISH_INTERVAL"] = "0"
	env["RECONNECT_MAX_DELAY"] = "1s"
	if env["EXCHANGE_NAME"] == "" {
		env["EXCHANGE_NAME"] = brokertest.Name(t, "ex")
	}
	d := Start(t, "sysmon-publisher", env)
	d.WaitLog(t, want, 1, 20*time.Second)
	if code, _ := d.Get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d, want 503 while TLS is refused", code)
	}
	if strings.Contains(d.Output(), "connected to broker") {
		t.Fatalf("connected despite %q:\n%s", want, d.Output())
	}
	for _, line := range strings.Split(d.Output(), "\n") {
		if strings.Contains(line, want) {
			t.Logf("the publisher says: %s", line)
			break
		}
	}
	return d
}

// TestProdTLS runs the daemons against a private broker's TLS listener with
// certificates made here: verified end to end, and refused with a clear
// message for a wrong CA, a wrong host name or a missing client certificate.
func TestProdTLS(t *testing.T) {
	t.Parallel() // its own brokers only; overlaps their boot with other tests'
	ca := brokertest.NewCA(t, "sysmon test CA")
	otherCA := brokertest.NewCA(t, "some other CA")
	serverCert, serverKey := ca.Server(t, "127.0.0.1", "localhost")
	caFile := writeFile(t, "ca.pem", ca.PEM)
	otherCAFile := writeFile(t, "other-ca.pem", otherCA.PEM)

	t.Run("config", func(t *testing.T) {
		t.Parallel()
		// TLS keys with a plain amqp:// broker: a config error, never a
		// silent connection without TLS.
		for _, key := range []string{"RABBITMQ_CA_FILE", "RABBITMQ_TLS_SERVER_NAME", "RABBITMQ_TLS_INSECURE_SKIP_VERIFY"} {
			val := caFile
			switch key {
			case "RABBITMQ_TLS_SERVER_NAME":
				val = "broker.example.com"
			case "RABBITMQ_TLS_INSECURE_SKIP_VERIFY":
				val = "true"
			}
			for _, name := range []string{"sysmon-publisher", "sysmon-consumer"} {
				d := Start(t, name, Env{"RABBITMQ_URL": brokertest.SharedURL, key: val})
				select {
				case <-d.Exited():
				case <-time.After(10 * time.Second):
					t.Fatalf("%s still running with %s and a plain amqp:// URL", name, key)
				}
				if d.ExitCode() != 78 || !strings.Contains(d.Output(), key+": is a TLS setting but no broker uses TLS") {
					t.Fatalf("%s with %s and amqp://: exit %d\n%s", name, key, d.ExitCode(), d.Output())
				}
			}
		}
		// RABBITMQ_TLS=true with the prototype's host keys: amqps, port 5671.
		out, err := runBinary("sysmon-publisher", "-config", writeEnv(t, Env{"RABBITMQ_TLS": "true",
			"RABBITMQ_HOST": "broker1.example.com,broker2.example.com", "RABBITMQ_CA_FILE": caFile}), "-check-config")
		if err != nil || !strings.Contains(out, "amqps://guest:xxxxx@broker1.example.com:5671/%2F, amqps://guest:xxxxx@broker2.example.com:5671/%2F") ||
			!strings.Contains(out, "on, CA file") {
			t.Fatalf("-check-config with RABBITMQ_TLS=true: %v\n%s", err, out)
		}
	})

	t.Run("server", func(t *testing.T) {
		t.Parallel()
		node := brokertest.StartTLS(t, ca.PEM, serverCert, serverKey, false)
		url := node.TLSURL("127.0.0.1")

		t.Run("verified end to end", func(t *testing.T) {
			exchange := brokertest.Name(t, "ex")
			cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": url, "RABBITMQ_CA_FILE": caFile,
				"EXCHANGE_NAME": exchange, "QUEUE_NAME": brokertest.Name(t, "q")})
			cons.WaitReady(t, 20*time.Second)
			ws := DialWS(t, cons)
			// The prototype's keys with RABBITMQ_TLS=true: scheme amqps.
			pub := Start(t, "sysmon-publisher", Env{"RABBITMQ_TLS": "true", "RABBITMQ_HOST": "localhost",
				"RABBITMQ_PORT": fmt.Sprint(node.TLSPort), "RABBITMQ_CA_FILE": caFile,
				"EXCHANGE_NAME": exchange, "PUBLISH_INTERVAL": "0"})
			pub.WaitReady(t, 20*time.Second)
			publishOne(t, pub, ws)
			if out := cons.Output(); !strings.Contains(out, fmt.Sprintf("broker=amqps://guest:xxxxx@127.0.0.1:%d/", node.TLSPort)) {
				t.Fatalf("the consumer does not log its amqps:// broker:\n%s", out)
			}
			if strings.Contains(pub.Output()+cons.Output(), "guest:guest") {
				t.Fatal("a log shows the password")
			}
		})
		t.Run("wrong CA", func(t *testing.T) {
			refused(t, Env{"RABBITMQ_URL": url, "RABBITMQ_CA_FILE": otherCAFile}, "not signed by a trusted CA")
		})
		t.Run("system CAs", func(t *testing.T) {
			// No CA file: the system's roots, which do not know the test CA.
			refused(t, Env{"RABBITMQ_URL": url}, "not signed by a trusted CA")
		})
		t.Run("wrong host name", func(t *testing.T) {
			refused(t, Env{"RABBITMQ_URL": url, "RABBITMQ_CA_FILE": caFile, "RABBITMQ_TLS_SERVER_NAME": "broker.example.com"},
				"not valid for the host name")
		})
		t.Run("plain port", func(t *testing.T) {
			// amqps:// to a plain AMQP listener fails; nothing falls back.
			d := refused(t, Env{"RABBITMQ_URL": strings.Replace(node.URL, "amqp://", "amqps://", 1), "RABBITMQ_CA_FILE": caFile},
				"cannot connect to broker")
			if !strings.Contains(d.Output(), "tls") && !strings.Contains(d.Output(), "TLS") {
				t.Fatalf("the failure does not mention TLS:\n%s", d.Output())
			}
		})
		t.Run("skip verify warns", func(t *testing.T) {
			d := Start(t, "sysmon-publisher", Env{"RABBITMQ_URL": url, "RABBITMQ_CA_FILE": otherCAFile,
				"RABBITMQ_TLS_INSECURE_SKIP_VERIFY": "true", "EXCHANGE_NAME": brokertest.Name(t, "ex"), "PUBLISH_INTERVAL": "0"})
			d.WaitReady(t, 20*time.Second)
			out := d.Output()
			if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "RABBITMQ_TLS_INSECURE_SKIP_VERIFY is on: the broker's certificate is NOT verified") {
				t.Fatalf("no warning about the unverified certificate:\n%s", out)
			}
		})
	})

	t.Run("mutual", func(t *testing.T) {
		t.Parallel()
		node := brokertest.StartTLS(t, ca.PEM, serverCert, serverKey, true)
		url := node.TLSURL("127.0.0.1")
		clientCert, clientKey := ca.Client(t, "sysmon-publisher")
		certFile := writeFile(t, "client.pem", clientCert)
		keyFile := writeFile(t, "client.key", clientKey)

		t.Run("no client certificate", func(t *testing.T) {
			refused(t, Env{"RABBITMQ_URL": url, "RABBITMQ_CA_FILE": caFile}, "certificate required")
		})
		t.Run("client certificate", func(t *testing.T) {
			exchange := brokertest.Name(t, "ex")
			tlsEnv := func(e Env) Env {
				e["RABBITMQ_URL"], e["RABBITMQ_CA_FILE"], e["EXCHANGE_NAME"] = url, caFile, exchange
				e["RABBITMQ_CERT_FILE"], e["RABBITMQ_KEY_FILE"] = certFile, keyFile
				return e
			}
			cons := Start(t, "sysmon-consumer", tlsEnv(Env{"QUEUE_NAME": brokertest.Name(t, "q")}))
			cons.WaitReady(t, 20*time.Second)
			ws := DialWS(t, cons)
			pub := Start(t, "sysmon-publisher", tlsEnv(Env{"PUBLISH_INTERVAL": "0"}))
			pub.WaitReady(t, 20*time.Second)
			publishOne(t, pub, ws)
		})
	})
}
