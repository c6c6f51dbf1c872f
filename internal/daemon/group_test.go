package daemon

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"testing"
)

// events is what components saw, in order.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.list)
}

// until returns a component that waits for its context and notes its stop.
func until(ev *events, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		ev.add(name + " stopped")
		return nil
	}
}

// TestGroupFirstErrorStopsAll: one component failing stops the others
// (though the group's context never ends), stopping hears of the failure
// before any of them is stopped, and Run returns it.
func TestGroupFirstErrorStopsAll(t *testing.T) {
	var ev events
	boom := errors.New("listen: address in use")
	var g Group
	g.Add(1, "watchdog", until(&ev, "watchdog"))
	g.Add(1, "http server", func(context.Context) error { return boom })
	g.Add(2, "broker", until(&ev, "broker"))
	var heard error
	err := g.Run(context.Background(), func(cause error) {
		heard = cause
		ev.add("stopping")
	})
	var f *Failure
	if !errors.As(err, &f) || f.Component != "http server" || !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the http server's failure", err)
	}
	if heard != err {
		t.Errorf("stopping heard %v, want %v", heard, err)
	}
	if got, want := ev.get(), []string{"stopping", "watchdog stopped", "broker stopped"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestGroupSignalIsCleanExit: a real signal ends the group's context;
// every component stops and Run reports no failure.
func TestGroupSignalIsCleanExit(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGUSR1)
	defer stop()
	var ev events
	var g Group
	started := make(chan struct{})
	g.Add(1, "loop", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		ev.add("loop stopped")
		return nil
	})
	g.Add(2, "broker", until(&ev, "broker"))
	// Done at once, with nothing wrong: stops nothing.
	g.Add(1, "no watchdog", func(context.Context) error { return nil })
	go func() {
		<-started
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
			t.Error(err)
		}
	}()
	calls := 0
	if err := g.Run(ctx, func(cause error) {
		calls++
		if cause != nil {
			t.Errorf("stopping(%v) after a signal", cause)
		}
	}); err != nil {
		t.Fatalf("Run = %v after a signal", err)
	}
	if calls != 1 {
		t.Errorf("stopping called %d times", calls)
	}
	if got, want := ev.get(), []string{"loop stopped", "broker stopped"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestGroupStopsInOrder: a stage is stopped only once every component of
// the one before has returned, however long that one takes (here: until
// the test lets it go), and components keep the values of Run's context.
func TestGroupStopsInOrder(t *testing.T) {
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	var ev events
	slow := make(chan struct{})
	release := make(chan struct{})
	var g Group
	g.Add(3, "journal", until(&ev, "journal"))
	g.Add(1, "http server", until(&ev, "http server"))
	g.Add(1, "periodic", func(ctx context.Context) error {
		<-ctx.Done()
		close(slow)
		<-release // the goodbye message takes its time
		ev.add("periodic stopped")
		return nil
	})
	g.Add(2, "broker", func(c context.Context) error {
		if c.Value(key{}) != "v" {
			t.Error("the component's context lost the value of Run's")
		}
		<-c.Done()
		ev.add("broker stopped")
		return errors.New("closing: not reported")
	})
	go func() {
		<-slow
		ev.add("periodic still stopping")
		close(release)
	}()
	cancel()
	if err := g.Run(ctx, nil); err != nil {
		t.Fatalf("Run = %v: an error after stopping began is not the cause", err)
	}
	got := ev.get()
	pos := func(s string) int { return slices.Index(got, s) }
	for _, s := range []string{"http server stopped", "periodic still stopping", "periodic stopped", "broker stopped", "journal stopped"} {
		if pos(s) < 0 {
			t.Fatalf("events %q lack %q", got, s)
		}
	}
	if !(pos("periodic still stopping") < pos("periodic stopped") && pos("periodic stopped") < pos("broker stopped") &&
		pos("http server stopped") < pos("broker stopped") && pos("broker stopped") < pos("journal stopped")) {
		t.Errorf("events %q: a stage stopped before the one before it had", got)
	}
}

// TestGroupAllDoneWithoutFailure: components that all return nil by
// themselves end Run without a failure.
func TestGroupAllDoneWithoutFailure(t *testing.T) {
	var g Group
	g.Add(1, "a", func(context.Context) error { return nil })
	g.Add(2, "b", func(context.Context) error { return nil })
	if err := g.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}
