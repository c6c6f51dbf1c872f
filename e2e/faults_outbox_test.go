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
	"github.com/sysmon-dev/sysmon/internal/mq"
)

// TestFaultOutboxSurvivesRestart: with the broker stopped, the publisher
// queues N snapshots, is stopped (SIGTERM, then in a second round SIGKILL)
// and started again; once the broker is back, every one of the N snapshots
// of each killed process reaches the dashboard: the outbox was on disk, in
// the directory systemd's StateDirectory= names.
func TestFaultOutboxSurvivesRestart(t *testing.T) {
	faultTest(t)
	node := brokertest.Start(t) // private: this test stops the broker
	state := filepath.Join(t.TempDir(), "state")
	stateEnv := "STATE_DIRECTORY=" + state
	pubEnv := Env{"PUBLISH_INTERVAL": "0", "PUBLISH_TIMEOUT": "200ms", "OUTBOX_SIZE": "100"}
	r := startRig(t, node.URL, node.URL, pubEnv, nil, stateEnv)
	if o := pubInfo(t, r.pub).Snapshots.Outbox; o.Disk != filepath.Join(state, mq.JournalFile) || o.DiskError != "" {
		t.Fatalf("the publisher does not keep its outbox in $STATE_DIRECTORY: %+v", o)
	}
	// The environment the restarted publishers get: the same as the rig's.
	env := Env{"RABBITMQ_URL": node.URL, "EXCHANGE_NAME": r.exchange, "HOST_NAME": r.host,
		"RECONNECT_MAX_DELAY": "1s", "RABBITMQ_HEARTBEAT": "2s", "PUBLISH_RATE_LIMIT": "1000"}
	for k, v := range pubEnv {
		env[k] = v
	}

	const n = 15
	type round struct {
		how      string
		instance string
		seqs     []uint64
		bytes    float64 // written per snapshot
		syncs    float64 // fsyncs per snapshot
	}
	var rounds []round
	var restarts []time.Duration
	pub := r.pub
	node.StopApp(t)
	waitNotReady(t, pub, 20*time.Second)
	for _, how := range []string{"SIGTERM", "SIGKILL"} {
		rd := round{how: how, instance: pubInfo(t, pub).Instance}
		before := pubInfo(t, pub).Snapshots.Outbox
		for range n {
			code, resp := publish(t, pub, http.MethodPost)
			var d struct{ Seq uint64 }
			_ = json.Unmarshal(resp.Data, &d)
			if code != http.StatusAccepted || d.Seq == 0 {
				t.Fatalf("/publish with the broker stopped: %d %+v, want 202 queued", code, resp)
			}
			rd.seqs = append(rd.seqs, d.Seq)
		}
		// Each snapshot is written once it has waited mq.PersistAfter.
		var after pubCounters
		waitFor(t, 20*time.Second, fmt.Sprintf("the %d snapshots on disk", n), func() bool {
			after = pubInfo(t, pub)
			return after.Snapshots.Outbox.Stored >= before.Stored+n
		})
		a := after.Snapshots.Outbox
		rd.bytes = float64(a.DiskBytes-before.DiskBytes) / n
		rd.syncs = float64(a.DiskSyncs-before.DiskSyncs) / n
		t.Logf("%s round: %d snapshots written: %.0f bytes and %.2f fsyncs each (file %s)", how, n, rd.bytes, rd.syncs, a.Disk)

		if how == "SIGTERM" {
			if code, took := pub.Stop(t); code != 0 || took > 10*time.Second {
				t.Fatalf("SIGTERM with the broker down: exit %d after %v", code, took)
			}
			// The goodbye queued at shutdown is kept too.
			if !strings.Contains(pub.Output(), fmt.Sprintf("left_on_disk=%d", a.Stored+1)) {
				t.Errorf("the last log line does not say %d snapshots were left on disk:\n%s", a.Stored+1, tail(pub.Output(), 5))
			}
		} else {
			pub.Kill()
		}
		if st, err := os.Stat(a.Disk); err != nil || st.Mode().Perm() != 0o600 || st.Size() == 0 {
			t.Fatalf("after %s, the outbox file: %v, %v (want 0600, not empty)", how, st, err)
		}
		started := time.Now()
		pub = Start(t, "sysmon-publisher", copyEnv(env), stateEnv)
		waitFor(t, 30*time.Second, "the restarted publisher's listener", func() bool {
			code, _ := pub.Get(t, "/healthz")
			return code == http.StatusOK
		})
		restarts = append(restarts, time.Since(started))
		o := pubInfo(t, pub).Snapshots.Outbox
		// What an earlier process left: this round's n (plus the goodbye
		// after SIGTERM), and nothing of the rounds before, whose
		// snapshots are still owed too.
		if o.Restored < uint64(n) || o.Waiting != int(o.Restored) || o.Stored != o.Waiting {
			t.Fatalf("after %s and a restart: outbox %+v, want at least %d restored, all on disk", how, o, n)
		}
		pub.WaitLog(t, "an earlier run left snapshots the broker had not confirmed", 1, 5*time.Second)
		rounds = append(rounds, rd)
	}

	node.StartApp(t)
	up := time.Now()
	pub.WaitReady(t, 30*time.Second)
	waitFor(t, 60*time.Second, "the restored snapshots to be confirmed", func() bool {
		return pubInfo(t, pub).Snapshots.Outbox.Waiting == 0
	})
	var missing []string
	delivered := 0
	waitFor(t, 30*time.Second, "every snapshot of the killed publishers at the dashboard", func() bool {
		missing, delivered = nil, 0
		for _, rd := range rounds {
			seen := r.ws.Seqs(rd.instance)
			for _, s := range rd.seqs {
				if seen[s] == 0 {
					missing = append(missing, fmt.Sprintf("%s:%d", rd.how, s))
				} else {
					delivered++
				}
			}
		}
		return len(missing) == 0
	})
	took := time.Since(up)
	// Once confirmed, nothing is kept: the file is empty again.
	waitFor(t, 10*time.Second, "the outbox file to be emptied after the confirms", func() bool {
		st, err := os.Stat(filepath.Join(state, mq.JournalFile))
		return err == nil && st.Size() == 0
	})
	record(t, faultRow{Fault: "5. publisher SIGTERM / SIGKILL while the broker is away, restarted",
		Recovery: fmt.Sprintf("all delivered %s after start_app", secs(took)), Confirmed: 2 * n, Delivered: delivered,
		Lost: len(missing), Dups: r.dups(t),
		Note: fmt.Sprintf("outbox in $STATE_DIRECTORY: %d + %d snapshots taken over by the next process; written %.1fs after queueing, %.0f / %.0f bytes and %.2f / %.2f fsyncs per snapshot (those of the same second share one); restart %s / %s",
			n, n, mq.PersistAfter.Seconds(), rounds[0].bytes, rounds[1].bytes, rounds[0].syncs, rounds[1].syncs, secs(restarts[0]), secs(restarts[1]))})
}

// TestOutboxDirUnusable: a state directory that cannot be used (a regular
// file, or one another publisher holds) does not stop the publisher: it
// runs with the outbox in memory, and says so in its log and on GET /.
func TestOutboxDirUnusable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	shared := t.TempDir()
	noBroker := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", brokertest.FreePort(t))
	start := func(env Env, procEnv ...string) *Daemon {
		env["RABBITMQ_URL"], env["PUBLISH_INTERVAL"], env["EXCHANGE_NAME"] = noBroker, "0", brokertest.Name(t, "ex")
		d := Start(t, "sysmon-publisher", env, procEnv...)
		waitFor(t, 30*time.Second, "the publisher's listener", func() bool {
			code, _ := d.Get(t, "/healthz")
			return code == http.StatusOK
		})
		return d
	}
	first := start(Env{"OUTBOX_DIR": shared})
	if o := pubInfo(t, first).Snapshots.Outbox; o.Disk != filepath.Join(shared, mq.JournalFile) {
		t.Fatalf("OUTBOX_DIR not used: %+v", o)
	}
	for _, c := range []struct {
		name string
		pub  func() *Daemon
		want string
	}{
		{"STATE_DIRECTORY is a file", func() *Daemon { return start(Env{}, "STATE_DIRECTORY="+file) }, file},
		{"OUTBOX_DIR in use by another publisher", func() *Daemon { return start(Env{"OUTBOX_DIR": shared}) }, "in use by another sysmon-publisher"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pub := c.pub()
			o := pubInfo(t, pub).Snapshots.Outbox
			if o.Disk != "" || !strings.Contains(o.DiskError, c.want) {
				t.Fatalf("GET / outbox %+v: want no file and an error about %q", o, c.want)
			}
			pub.WaitLog(t, "outbox kept in memory only", 1, 5*time.Second)
			if !strings.Contains(pub.Output(), "outbox=\"(memory only)\"") {
				t.Errorf("the start line does not say the outbox is in memory only:\n%s", pub.Output())
			}
			if code, resp := publish(t, pub, http.MethodPost); code != http.StatusAccepted {
				t.Fatalf("/publish: %d %+v, want 202 queued in memory", code, resp)
			}
		})
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
