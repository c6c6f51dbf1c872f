package notify

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
)

// smtpSink is a minimal SMTP server (no TLS, no auth): enough for go-mail
// to deliver to, recording each message's envelope and data.
type smtpSink struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	wg   sync.WaitGroup
}

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { _, _ = c.Write([]byte(line + "\r\n")) }
	say("220 sink ESMTP")
	var env strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-sink")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RCPT TO"):
			env.WriteString(strings.TrimSpace(line) + "\n")
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				env.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, env.String())
			s.mu.Unlock()
			env.Reset()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default: // NOOP, RSET
			say("250 ok")
		}
	}
}

func TestEmailSendsTheNotification(t *testing.T) {
	sink := newSMTPSink(t)
	port := sink.ln.Addr().(*net.TCPAddr).Port
	e := &Email{Host: "127.0.0.1", Port: port, TLS: "none", From: "sysmon@example.com", To: []string{"ops@example.com", "b@example.com"}}
	if err := e.Send(context.Background(), note()); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(sink.msgs))
	}
	m := sink.msgs[0]
	for _, want := range []string{"<sysmon@example.com>", "<ops@example.com>", "<b@example.com>", "Subject: sysmon: [firing] web1 CPU at 97%", "X-Sysmon-Notification: n1", "rule cpu, host web1"} {
		if !strings.Contains(m, want) {
			t.Errorf("message lacks %q:\n%s", want, m)
		}
	}
}

// STARTTLS is required by default: a server without it is refused, not
// sent the mail in clear.
func TestEmailRequiresStartTLS(t *testing.T) {
	sink := newSMTPSink(t)
	port := sink.ln.Addr().(*net.TCPAddr).Port
	e := &Email{Host: "127.0.0.1", Port: port, TLS: "starttls", User: "u", Password: "pw-secret", From: "a@example.com", To: []string{"b@example.com"}}
	err := e.Send(context.Background(), note())
	if err == nil {
		t.Fatal("sent without STARTTLS")
	}
	if strings.Contains(err.Error(), "pw-secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.msgs) != 0 {
		t.Fatal("a message went out in clear")
	}
}
