package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// runner executes runs in the server, each in its own goroutine, and is
// the core's Observer of all of them: once the server stops, a run's next
// journal event holds it there (the event is journaled first), so that it
// can be left paused and continued by the next server or `golive resume`.
type runner struct {
	s *Server

	mu       sync.Mutex
	active   map[string]*active // by run id, while a goroutine works on it
	pending  int                // goroutines whose run is not known yet
	draining bool
	idle     *sync.Cond
	last     time.Time // of the last event observed
	stopped  chan struct{}
}

// active is a run a goroutine of the server works on.
type active struct {
	file    string
	plan    string
	env     string
	state   store.State
	held    bool // its goroutine is held at a journal point
	stopped bool
}

func newRunner(s *Server) *runner {
	r := &runner{s: s, active: map[string]*active{}, stopped: make(chan struct{})}
	r.idle = sync.NewCond(&r.mu)
	return r
}

// Observe follows every journal event of the runs executed here; once
// draining, it holds the goroutine that journaled it.
func (r *runner) Observe(ev store.Event) {
	r.mu.Lock()
	r.last = time.Now()
	a := r.active[ev.RunID]
	if a != nil && ev.Kind == store.KindState {
		a.state = store.State(ev.Action)
	}
	draining := r.draining
	if a != nil && draining {
		a.held = true
	}
	r.mu.Unlock()
	if a != nil {
		r.s.metrics.observe(a.plan, a.env, ev)
	}
	r.s.hub.observe(ev)
	if draining && a != nil {
		<-r.stopped // never returns before the process ends
	}
}

// track records that a goroutine works on run id of plan p in env.
func (r *runner) track(id string, p *Plan, env string, st store.State) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active[id] != nil {
		return false
	}
	r.active[id] = &active{file: p.File, plan: p.Name, env: env, state: st}
	r.s.metrics.active.Set(float64(len(r.active)))
	return true
}

func (r *runner) untrack(id string) {
	r.mu.Lock()
	delete(r.active, id)
	r.s.metrics.active.Set(float64(len(r.active)))
	r.idle.Broadcast()
	r.mu.Unlock()
	r.s.hub.poke(id) // its journal is whole: a follower waiting for it ends now
}

// busy reports whether a goroutine of the server works on run id.
func (r *runner) busy(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active[id] != nil
}

// begin reserves a goroutine for a call; false once draining.
func (r *runner) begin() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.draining {
		return false
	}
	r.pending++
	return true
}

func (r *runner) end() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending--
	r.idle.Broadcast()
}

// go runs call (which starts, resumes or backs out a run) in the
// background, unless the server is stopping.
func (r *runner) spawn(what string, call func(ctx context.Context)) bool {
	if !r.begin() {
		return false
	}
	go func() {
		defer r.end()
		call(context.Background()) // a stop does not cancel runs: it holds them
		r.s.log.Debug("call ended", "what", what)
	}()
	return true
}

// drain makes the runs' next journal events hold them.
func (r *runner) drain() {
	r.mu.Lock()
	r.draining = true
	r.mu.Unlock()
}

// park waits (up to max) for every run worked on here to be held at a
// journal point or to end, then leaves those still running or verifying
// paused: they keep the lock of their holder, this process, which ends.
func (r *runner) park(max time.Duration) {
	deadline := time.Now().Add(max)
	for !r.settled() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	r.mu.Lock()
	ids := map[string]*active{}
	for id, a := range r.active {
		ids[id] = a
	}
	r.mu.Unlock()
	for id, a := range ids {
		r.pause(id, a)
	}
}

// settled: nothing is being worked on that is not held, and no event came
// for a moment (parallel hosts reach their journal points one by one).
func (r *runner) settled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.last) < 500*time.Millisecond {
		return false
	}
	for _, a := range r.active {
		if !a.held {
			return false
		}
	}
	return true
}

// stoppedPause starts the reason of a run a stopping server left paused
// (which another server, or the next, takes over: takeover.go).
const stoppedPause = "paused: the server stopped"

func (r *runner) pause(id string, a *active) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.s.svc.OpenStore(ctx, a.file, release.StoreMode{Existing: true})
	if err != nil {
		r.s.log.Error("stopping: cannot open the store to pause a run", "run", id, "err", err)
		return
	}
	defer st.Close()
	// Under this process's lease of the run, if it has one: a run another
	// server took over meanwhile is not this one's to pause (fenced).
	l, lerr := st.GetLease(ctx, id)
	leased := lerr == nil && l.Epoch > 0
	if leased {
		if l.Holder != engine.LeaseHolder(store.ThisHolder()) {
			r.s.log.Info("stopping: run left to the server that took it over", "run", id, "holder", l.Holder)
			return
		}
		ctx = store.WithLease(ctx, l)
	}
	why := fmt.Sprintf("%s (pid ended); `golive resume %s` or the next server continues it", stoppedPause, id)
	_, err = st.UpdateRunState(ctx, id, []store.State{store.StateRunning, store.StateVerifying}, store.StatePaused, why)
	if err != nil {
		r.s.log.Info("stopping: run left as it is", "run", id, "state", a.state, "err", err)
		return
	}
	if leased {
		// Let the lease go: another server sharing the store (or the
		// next one started) takes the run over at its next look.
		_ = st.ReleaseLease(ctx, l)
	}
	r.s.log.Info("stopping: run paused at a journal point", "run", id)
}
