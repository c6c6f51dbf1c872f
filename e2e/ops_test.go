package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/sysmon-dev/sysmon/internal/brokertest"
)

// promtool finds Debian's promtool; CI installs it (make ensure-promtool).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		brokertest.Unavailable(t, "promtool is missing (make ensure-promtool installs it)")
	}
	return p
}

func scrape(t *testing.T, d *Daemon, path string) []byte {
	t.Helper()
	code, body := d.Get(t, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d", path, code)
	}
	return body
}

// TestMetricsPassPromtoolAndFeedTheGrafanaDashboard: both daemons'
// /metrics and the consumer's /metrics/fleet are valid for promtool, carry
// the figures the issue names, and every metric the shipped Grafana
// dashboard queries exists.
func TestMetricsPassPromtoolAndFeedTheGrafanaDashboard(t *testing.T) {
	tool := promtool(t)
	pub, cons, host := pair(t, brokertest.Shared(t), nil)
	ws := DialWS(t, cons)
	if code, _ := publish(t, pub, http.MethodGet); code != http.StatusOK {
		t.Fatalf("/publish %d", code)
	}
	ws.WaitUpdate(t, 5*time.Second, "the snapshot", func(e Entry) bool { return e.Host == host })

	outputs := map[string][]byte{
		"publisher /metrics":      scrape(t, pub, "/metrics"),
		"consumer /metrics":       scrape(t, cons, "/metrics"),
		"consumer /metrics/fleet": scrape(t, cons, "/metrics/fleet"),
	}
	// node_exporter's own memory metrics are camelCase, which promtool's
	// lint flags; /metrics/fleet keeps those names on purpose so that
	// dashboards built for node_exporter work. Nothing else may be flagged.
	nodeExporterNames := regexp.MustCompile(`^node_memory_[A-Za-z]+_bytes metric names should be written in 'snake_case' not 'camelCase'$`)
	for name, body := range outputs {
		cmd := exec.Command(tool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err == nil {
			continue
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if name == "consumer /metrics/fleet" && nodeExporterNames.MatchString(line) {
				continue
			}
			t.Errorf("promtool check metrics rejects %s: %s", name, line)
		}
	}
	for name, wants := range map[string][]string{
		"publisher /metrics": {"sysmon_build_info{daemon=\"publisher\"", "sysmon_broker_state{state=\"connected\"} 1",
			"sysmon_broker_reconnects_total", "sysmon_publisher_snapshots_published_total", "sysmon_publisher_snapshots_confirmed_total 1",
			"sysmon_publisher_snapshots_dropped_total", "sysmon_publisher_outbox_snapshots", "sysmon_publisher_confirm_latency_seconds_count 1",
			"sysmon_publisher_outbox_on_disk 0", "sysmon_publisher_outbox_disk_fsyncs_total 0"},
		"consumer /metrics": {"sysmon_build_info{daemon=\"consumer\"", "sysmon_consumer_snapshots_received_total",
			"sysmon_consumer_snapshots_invalid_total{reason=\"invalid\"}", "sysmon_consumer_snapshots_duplicate_total",
			"sysmon_consumer_hosts{state=\"live\"} 1", "sysmon_consumer_websocket_clients 1",
			"sysmon_consumer_websocket_dropped_slow_total", "sysmon_consumer_delay_seconds_count 1",
			"sysmon_consumer_hosts_removed_total{reason=\"evicted\"} 0", "sysmon_consumer_hosts_removed_total{reason=\"expired\"} 0",
			"sysmon_consumer_hosts_memory_bytes ", "sysmon_consumer_hosts_memory_max_bytes "},
		"consumer /metrics/fleet": {"sysmon_host_up{host=\"" + host + "\"} 1", "node_load1{host=\"" + host + "\"}",
			"node_memory_MemAvailable_bytes{host=\"" + host + "\"}", "node_filesystem_avail_bytes{host=\"" + host + "\",",
			"sysmon_cpu_usage_ratio{host=\"" + host + "\"}"},
	} {
		for _, w := range wants {
			if !bytes.Contains(outputs[name], []byte(w)) {
				t.Errorf("%s lacks %s", name, w)
			}
		}
	}

	// Every metric the Grafana dashboard queries is exposed somewhere.
	exposed := map[string]bool{}
	for _, body := range outputs {
		for _, line := range strings.Split(string(body), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
				exposed[f[2]] = true
			}
		}
	}
	raw, err := os.ReadFile("../packaging/monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`\b(sysmon|node|process|go)_[A-Za-z0-9_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				queried++
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !exposed[m] && !exposed[base] {
					t.Errorf("panel %q queries %s, which no sysmon endpoint exposes", p.Title, m)
				}
			}
		}
	}
	if queried < 10 {
		t.Fatalf("only %d metric references found in the dashboard: the parser is broken", queried)
	}
	// So does every metric the shipped alerting rules use.
	rules, err := os.ReadFile("../packaging/monitoring/sysmon-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	inRules := 0
	for _, line := range strings.Split(string(rules), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.Contains(line, "summary:") || strings.Contains(line, "description:") {
			continue
		}
		for _, m := range name.FindAllString(line, -1) {
			inRules++
			if !exposed[m] {
				t.Errorf("the alerting rules use %s, which no sysmon endpoint exposes", m)
			}
		}
	}
	if inRules < 6 {
		t.Fatalf("only %d metric references found in the alerting rules: the parser is broken", inRules)
	}
	// The scrape snippet's paths are served.
	snippet, _ := os.ReadFile("../packaging/monitoring/prometheus-scrape.yml")
	for _, m := range regexp.MustCompile(`metrics_path: (\S+)`).FindAllStringSubmatch(string(snippet), -1) {
		if code, _ := cons.Get(t, m[1]); code != http.StatusOK {
			t.Errorf("the scrape snippet's path %s answers %d", m[1], code)
		}
	}
}

// TestPrometheusRulesAndScrapeConfig: the shipped alerting rules pass
// promtool's checks and their unit tests (each alert fires when it should and
// not on its neighbours), and the scrape snippet with the rules is a valid
// Prometheus configuration.
func TestPrometheusRulesAndScrapeConfig(t *testing.T) {
	tool := promtool(t)
	dir, err := filepath.Abs("../packaging/monitoring")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"check", "rules", "sysmon-alerts.yml"},
		{"test", "rules", "sysmon-alerts.test.yml"},
	} {
		cmd := exec.Command(tool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	snippet, err := os.ReadFile(filepath.Join(dir, "prometheus-scrape.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "prometheus.yml")
	full := string(snippet) + "rule_files:\n  - " + filepath.Join(dir, "sysmon-alerts.yml") + "\n"
	if err := os.WriteFile(cfg, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "check", "config", cfg).CombinedOutput(); err != nil {
		t.Errorf("promtool check config on the scrape snippet with the rules: %v\n%s", err, out)
	}
}

// TestDashboardAccessControlOverHTTPS: with AUTH_BASIC and TLS_* set, the
// consumer serves HTTPS, lets health checks through, and refuses the
// dashboard, API, metrics and WebSocket without the password.
func TestDashboardAccessControlOverHTTPS(t *testing.T) {
	ca := brokertest.NewCA(t, "sysmon test CA")
	certPEM, keyPEM := ca.Server(t, "127.0.0.1")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("dashboard-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cons := Start(t, "sysmon-consumer", Env{"RABBITMQ_URL": brokertest.Shared(t), "EXCHANGE_NAME": brokertest.Name(t, "ex"),
		"QUEUE_NAME": brokertest.Name(t, "q"), "APP_HOST": "0.0.0.0", "AUTH_BASIC": "admin:" + string(hash),
		"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile})
	base := strings.Replace(cons.Base, "http://", "https://", 1)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(path, user, pw string) int {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, 20*time.Second, "the consumer over HTTPS", func() bool { return get("/healthz", "", "") == http.StatusOK })
	for _, path := range []string{"/", "/api/hosts", "/metrics", "/metrics/fleet", "/api/status"} {
		if code := get(path, "", ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a password: %d, want 401", path, code)
		}
		if code := get(path, "admin", "wrong"); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong password: %d, want 401", path, code)
		}
		if code := get(path, "admin", "dashboard-pw"); code != http.StatusOK {
			t.Errorf("GET %s with the password: %d, want 200", path, code)
		}
	}
	if code := get("/readyz", "", ""); code == http.StatusUnauthorized {
		t.Error("/readyz must stay open for health checkers")
	}
	wsURL := strings.Replace(base, "https://", "wss://", 1) + "/ws"
	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 5 * time.Second}
	if _, resp, err := dialer.Dial(wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("WebSocket without a password: err=%v resp=%v, want 401", err, resp)
	}
	hdr := http.Header{}
	req, _ := http.NewRequest(http.MethodGet, base, nil)
	req.SetBasicAuth("admin", "dashboard-pw")
	hdr.Set("Authorization", req.Header.Get("Authorization"))
	conn, _, err := dialer.Dial(wsURL, hdr)
	if err != nil {
		t.Fatalf("WebSocket with the password: %v", err)
	}
	_, frame, err := conn.ReadMessage()
	conn.Close()
	if err != nil || !bytes.Contains(frame, []byte(`"type":"state"`)) {
		t.Fatalf("first frame %q, %v", frame, err)
	}
	// Plain HTTP on the HTTPS port is refused.
	if code, _ := cons.Get(t, "/healthz"); code == http.StatusOK {
		t.Error("the consumer answered plain HTTP with TLS configured")
	}
	if strings.Contains(cons.Output(), "without authentication") {
		t.Error("warned about missing authentication although AUTH_BASIC is set")
	}
}

// TestOpenListenerWithoutAuthWarns: opening the dashboard or /publish to
// the network without credentials is allowed, and said loudly.
func TestOpenListenerWithoutAuthWarns(t *testing.T) {
	for _, name := range []string{"sysmon-consumer", "sysmon-publisher"} {
		d := Start(t, name, Env{"RABBITMQ_URL": brokertest.SharedURL, "EXCHANGE_NAME": brokertest.Name(t, "ex"),
			"QUEUE_NAME": brokertest.Name(t, "q"), "APP_HOST": "0.0.0.0", "PUBLISH_INTERVAL": "0"})
		d.WaitLog(t, "without authentication", 1, 10*time.Second)
		if !strings.Contains(d.Output(), "level=WARN") {
			t.Errorf("%s: the warning is not at warning level:\n%s", name, d.Output())
		}
	}
}
