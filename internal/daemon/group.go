package daemon

import (
	"context"
	"slices"
)

// Group runs a daemon's components together, each a Run(ctx) error, and
// stops them in order: the first of a signal (the end of Run's context) or
// a component's error stops them all, those with a lower stop number first.
// Adding a component is one call of Add.
type Group struct {
	parts []part
}

type part struct {
	stop int
	name string
	run  func(context.Context) error
}

// Add adds a component named name (for the log, when it fails). Components
// with a lower stop number are stopped, and waited for, before those with a
// higher one; components with the same number stop together. run must
// return once its context ends; nil then, or what went wrong.
func (g *Group) Add(stop int, name string, run func(context.Context) error) {
	g.parts = append(g.parts, part{stop: stop, name: name, run: run})
}

// Failure is the error of the component that stopped the group.
type Failure struct {
	Component string
	Err       error
}

func (f *Failure) Error() string { return f.Component + ": " + f.Err.Error() }
func (f *Failure) Unwrap() error { return f.Err }

// Run starts every component and returns once all have returned. It stops
// them when ctx ends or a component returns an error, whichever comes
// first: stopping (if not nil) is called first, with that *Failure or nil
// for ctx, then the components are stopped stage by stage. A component that
// returns nil before is done and stops nothing. What a component returns
// once stopping has begun is not reported: one whose close can fail logs
// that itself. Run returns the *Failure that stopped the group, or nil.
//
// The components' contexts keep ctx's values but not its end: the group
// alone ends them.
func (g *Group) Run(ctx context.Context, stopping func(cause error)) error {
	base := context.WithoutCancel(ctx)
	var stops []int
	ctxs, cancels := map[int]context.Context{}, map[int]context.CancelFunc{}
	for _, p := range g.parts {
		if _, ok := ctxs[p.stop]; !ok {
			stops = append(stops, p.stop)
			ctxs[p.stop], cancels[p.stop] = context.WithCancel(base)
			defer cancels[p.stop]()
		}
	}
	slices.Sort(stops)

	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(g.parts))
	for i, p := range g.parts {
		go func() { results <- result{i, p.run(ctxs[p.stop])} }()
	}
	done := make([]bool, len(g.parts))
	running := len(g.parts)
	var cause error
wait:
	for running > 0 {
		select {
		case <-ctx.Done():
			break wait
		case r := <-results:
			done[r.i] = true
			running--
			if r.err != nil {
				cause = &Failure{Component: g.parts[r.i].name, Err: r.err}
				break wait
			}
		}
	}
	if stopping != nil {
		stopping(cause)
	}
	for _, s := range stops {
		cancels[s]()
		for slices.ContainsFunc(g.indexes(s), func(i int) bool { return !done[i] }) {
			r := <-results
			done[r.i] = true
		}
	}
	return cause
}

// indexes are the components with stop number s.
func (g *Group) indexes(s int) []int {
	var out []int
	for i, p := range g.parts {
		if p.stop == s {
			out = append(out, i)
		}
	}
	return out
}
