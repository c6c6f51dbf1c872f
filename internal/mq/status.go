// Package mq owns the daemons' RabbitMQ side: one long-lived connection
// re-established with capped, jittered backoff; a publisher with confirms that
// drains a bounded outbox in order; and a consumer with manual acks.
package mq

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// State is the broker connection's state.
type State string

// The states, as shown in status lines and JSON.
const (
	Connecting   State = "connecting"
	Connected    State = "connected"
	Blocked      State = "blocked" // connected, but the broker refuses publishes (resource alarm)
	Disconnected State = "disconnected"
)

// Status is the broker state shared by a daemon's health endpoints, its
// systemd status line and its logs. OnChange, when set before use, is called
// with each new state line.
type Status struct {
	OnChange func(line string)

	mu         sync.Mutex
	state      State
	since      time.Time
	broker     string
	lastErr    string
	reconnects atomic.Uint64
	connects   atomic.Uint64
}

// NewStatus starts in Connecting.
func NewStatus() *Status { return &Status{state: Connecting, since: time.Now()} }

// StatusView is a copy of the state for JSON.
type StatusView struct {
	State      State     `json:"state"`
	Since      time.Time `json:"since"`
	Broker     string    `json:"broker,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	Reconnects uint64    `json:"reconnects"`
}

func (s *Status) set(st State, broker, errText string) {
	s.mu.Lock()
	changed := st != s.state || errText != s.lastErr || broker != s.broker
	if st != s.state {
		s.since = time.Now()
	}
	s.state = st
	if broker != "" {
		s.broker = broker
	}
	if errText != "" || st == Connected {
		s.lastErr = errText
	}
	line := s.lineLocked()
	s.mu.Unlock()
	if changed && s.OnChange != nil {
		s.OnChange(line)
	}
}

func (s *Status) setConnected(broker string) {
	if s.connects.Add(1) > 1 {
		s.reconnects.Add(1)
	}
	s.set(Connected, broker, "")
}

// Get returns a copy of the state.
func (s *Status) Get() StatusView {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StatusView{State: s.state, Since: s.since, Broker: s.broker, LastError: s.lastErr,
		Reconnects: s.reconnects.Load()}
}

// Connected tells whether the broker connection is up (blocked counts as up:
// the connection works, publishes wait).
func (s *Status) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == Connected || s.state == Blocked
}

// State returns the current state.
func (s *Status) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Line is the one-line summary for `systemctl status`.
func (s *Status) Line() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lineLocked()
}

func (s *Status) lineLocked() string {
	switch s.state {
	case Connected:
		return fmt.Sprintf("broker connected (%s)", s.broker)
	case Blocked:
		return fmt.Sprintf("broker connected but blocked: %s", s.lastErr)
	case Disconnected:
		return fmt.Sprintf("broker unreachable, retrying: %s", s.lastErr)
	}
	return "connecting to broker"
}
