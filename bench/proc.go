package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sysmon-dev/sysmon/internal/daemon"
)

// proc is a process the bench started: a daemon or a load generator.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer // stdout (the load generator's JSON summary)
	log  string        // stderr goes here
	done chan struct{}
	err  error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

// start runs bin/NAME with args; stderr (and stdout for daemons) go to a log
// file named after the step.
func (b *bench) start(step, name string, args ...string) (*proc, error) {
	return b.startCmd(step, name, exec.Command(filepath.Join(b.bin, name), args...))
}

// startCmd runs cmd as start does, for programs that are not sysmon's.
func (b *bench) startCmd(step, name string, cmd *exec.Cmd) (*proc, error) {
	logPath := filepath.Join(b.logDir, fmt.Sprintf("%02d-%s-%s.log", b.seq(), step, name))
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, out: &lockedBuffer{}, log: logPath, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, f
	p.cmd.Env = daemon.CleanEnv(os.Environ())
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	b.track(p)
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
		b.untrack(p)
	}()
	return p, nil
}

// startDaemon writes env to a file, starts the daemon on it and waits for
// /readyz (listener up, broker connected, queue declared).
func (b *bench) startDaemon(step, name string, env map[string]string) (*proc, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	env["APP_PORT"] = strconv.Itoa(port)
	if env["LOG_LEVEL"] == "" {
		env["LOG_LEVEL"] = "warning"
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s=%s\n", k, env[k])
	}
	cfg := filepath.Join(b.tmp, fmt.Sprintf("%s-%d.env", name, port))
	if err := os.WriteFile(cfg, []byte(sb.String()), 0o600); err != nil {
		return nil, "", err
	}
	p, err := b.start(step, name, "-config", cfg)
	if err != nil {
		return nil, "", err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, base, nil
			}
		}
		select {
		case <-p.done:
			return nil, "", fmt.Errorf("%s exited at start: %v (see %s)", name, p.err, p.log)
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, "", fmt.Errorf("%s not ready within 30s (see %s)", name, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits (SIGKILL after 15 s).
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// wait waits for the process to end by itself (SIGTERM after timeout) and
// decodes its JSON summary (the last line of stdout) into v.
func (p *proc) wait(timeout time.Duration, v any) error {
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.stop()
	}
	out := bytes.TrimSpace(p.out.Bytes())
	if i := bytes.LastIndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	}
	if len(out) == 0 {
		return fmt.Errorf("%s printed no summary (exit: %v; see %s)", p.name, p.err, p.log)
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s summary: %w: %s", p.name, err, out)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cpuTime is the CPU time a process has used so far, every thread included,
// with nanosecond resolution (/proc/PID/task/*/schedstat); it falls back on
// the clock ticks of /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var ns int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			ns += v
		}
	}
	if ns > 0 {
		return time.Duration(ns)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// memory returns VmRSS and VmHWM (peak RSS) in bytes.
func memory(pid int) (rss, peak int64) {
	v := statusFields(fmt.Sprintf("/proc/%d/status", pid), "VmRSS", "VmHWM")
	return v[0] << 10, v[1] << 10
}

// cpuMeter measures a process's CPU use over a window.
type cpuMeter struct {
	pid  int
	t0   time.Time
	cpu0 time.Duration
}

func meter(p *proc) *cpuMeter {
	return &cpuMeter{pid: p.cmd.Process.Pid, t0: time.Now(), cpu0: cpuTime(p.cmd.Process.Pid)}
}

// percent is the CPU used since the meter started, in percent of one core.
func (m *cpuMeter) percent() float64 {
	el := time.Since(m.t0)
	return float64(cpuTime(m.pid)-m.cpu0) / float64(el) * 100
}

// machineMeter measures the whole machine's CPU use (/proc/stat) over a
// window, to tell a starved machine from a slow process.
type machineMeter struct{ busy0, total0 float64 }

func machineCPU() (busy, total float64) {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, x := range f[min(1, len(f)):min(9, len(f))] { // guest time is in user already
		v, _ := strconv.ParseFloat(x, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

func newMachineMeter() *machineMeter {
	b, t := machineCPU()
	return &machineMeter{b, t}
}

// percent is the machine's busy share since the meter started (100: every core busy).
func (m *machineMeter) percent() float64 {
	b, t := machineCPU()
	if t == m.total0 {
		return 0
	}
	return 100 * (b - m.busy0) / (t - m.total0)
}

// status reads the consumer's /api/status counters the bench uses.
type consumerStatus struct {
	Messages struct {
		Received uint64 `json:"received_total"`
		Invalid  uint64 `json:"invalid_total"`
	} `json:"messages"`
	Fleet struct {
		Hosts    int    `json:"hosts"`
		Accepted uint64 `json:"accepted_total"`
		Dups     uint64 `json:"duplicates_total"`
	} `json:"fleet"`
	WebSocket struct {
		Clients     int64  `json:"clients"`
		DroppedSlow uint64 `json:"dropped_slow_total"`
	} `json:"websocket"`
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func getStatus(ctx context.Context, base string) (consumerStatus, error) {
	var s consumerStatus
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/status", nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}
