package alert

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// State is what the engine keeps across restarts.
type State struct {
	Alerts   []Alert               `json:"alerts"`
	Silences []Silence             `json:"silences"`
	History  []Event               `json:"history"`
	Hosts    map[string]*knownHost `json:"hosts"`
}

// persisted is the state file: the engine's state and the notifications
// not yet delivered, written together so that no crash can record a
// transition without its notification or the other way round.
type persisted struct {
	Version int                   `json:"version"`
	Engine  State                 `json:"engine"`
	Pending map[string][]*Pending `json:"pending"` // by channel
}

// State returns a copy of the engine's state and whether it changed since
// the last call.
func (e *Engine) State() (State, bool) { return e.state(true) }

// state copies the state only when it changed or when force is set: the
// copy of a large fleet's hosts is not made at every check for nothing.
func (e *Engine) state(force bool) (State, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !force && !e.dirty {
		return State{}, false
	}
	s := State{Silences: append([]Silence(nil), e.silences...), History: append([]Event(nil), e.history...),
		Hosts: make(map[string]*knownHost, len(e.hosts))}
	for _, a := range e.alerts {
		if a.Firing {
			s.Alerts = append(s.Alerts, *a)
		}
	}
	for n, h := range e.hosts {
		cp := *h
		s.Hosts[n] = &cp
	}
	dirty := e.dirty
	e.dirty = false
	return s, dirty
}

// Restore takes the state a previous run kept: its firing alerts stay
// firing (and are not sent again).
func (e *Engine) Restore(s State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range s.Alerts {
		a := s.Alerts[i]
		e.alerts[a.Key] = &a
	}
	now := time.Now()
	for _, sl := range s.Silences {
		if now.Before(sl.Until) {
			e.silences = append(e.silences, sl)
		}
	}
	e.history = s.History
	if over := len(e.history) - e.cfg.HistorySize; over > 0 {
		e.history = e.history[over:]
	}
	for n, h := range s.Hosts {
		if h != nil {
			e.hosts[n] = h
		}
	}
}

// stateFile is where the state lives in STATE_DIR.
func stateFile(dir string) string { return filepath.Join(dir, "alerts", "state.json") }

// load reads the state file; a missing one is an empty state.
func load(dir string) (persisted, error) {
	var p persisted
	b, err := os.ReadFile(stateFile(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read alert state: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return persisted{}, fmt.Errorf("read alert state %s: %w", stateFile(dir), err)
	}
	return p, nil
}

// save writes the state file atomically: a temporary file, fsynced, then
// renamed over the old one (and the directory fsynced), so that a crash
// leaves the old state or the new, never half of one.
func save(dir string, p *persisted) error {
	p.Version = 1
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode alert state: %w", err)
	}
	d := filepath.Dir(stateFile(dir))
	if err := os.MkdirAll(d, 0o700); err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	tmp, err := os.CreateTemp(d, ".state-*.json")
	if err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save alert state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save alert state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	if err := os.Rename(tmp.Name(), stateFile(dir)); err != nil {
		return fmt.Errorf("save alert state: %w", err)
	}
	if df, err := os.Open(d); err == nil {
		_ = df.Sync()
		df.Close()
	}
	return nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
