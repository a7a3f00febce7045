package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/clock"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/window"
)

// Observer is told about every journal event after it is written.
type Observer interface {
	Observe(e store.Event)
}

// Options configure an Engine.
type Options struct {
	Store      store.Store
	Transports map[string]transport.Transport // by plan transport name: "local", "ssh"
	Clock      clock.Clock
	Logger     *slog.Logger
	Observer   Observer
	Redactor   *redact.Redactor
	Parallel   int           // hosts worked on at the same time (default 50)
	PollEvery  time.Duration // how often a running run looks for an abort (default 500ms)
	Heartbeat  time.Duration // lock heartbeat period (default 5s)
	// LeaseTTL is how long the run's lease lasts without a renewal (each
	// heartbeat renews it); default store.HeartbeatTimeout.
	LeaseTTL time.Duration
	Holder   store.Holder // this process (default: pid and hostname)
	// TakenOver is the run's lease the caller already took over (with
	// StealLease, named LeaseHolder(Holder)) before calling Resume or
	// Backout: the engine executes under it instead of taking a lease of
	// its own, and takes the environment lock from its old holder
	// whatever that holder's pid says. nil: none.
	TakenOver *store.Lease
	// Artifacts maps an artifact name (and "src:"+path for upload src
	// files) to the verified local file steps upload.
	Artifacts map[string]artifact.File
	// PlanDir is the directory local steps and checks run in.
	PlanDir string
	// Resolve turns a path written in the plan (identity_file,
	// known_hosts) into a controller path: ~ and relative to the plan.
	Resolve func(string) string

	// Release controls.
	Wait      bool            // wait for gates, sign-offs and the window instead of pausing
	Approvals *plan.Approvals // controls.approvals: who may approve gates and sign-offs
	Window    *window.Window  // nil: always open
	OnClose   string          // backout (default), pause or finish

	// Abandon, when closed, abandons a backout in progress (an operator
	// insisted, e.g. a third Ctrl-C): backouts running are terminated and
	// journaled, no further host is started, and the run is left
	// backing_out, holding its lock, for `golive backout RUN` to finish.
	// nil: a backout always runs to its end.
	Abandon <-chan struct{}
}

// Engine runs rollouts. One Engine can run one run at a time per call.
type Engine struct {
	o       Options
	checker *check.Checker
}

// New returns an Engine with defaults filled in.
func New(o Options) *Engine {
	if o.Clock == nil {
		o.Clock = clock.Real()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Parallel <= 0 {
		o.Parallel = 50
	}
	if o.PollEvery <= 0 {
		o.PollEvery = 500 * time.Millisecond
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = store.HeartbeatTimeout
	}
	if o.Holder.PID == 0 {
		o.Holder = store.ThisHolder()
	}
	return &Engine{o: o, checker: &check.Checker{Clock: o.Clock}}
}

func (e *Engine) resolve(path string) string {
	if path == "" || e.o.Resolve == nil {
		return path
	}
	return e.o.Resolve(path)
}

// Outcome is how a run ended, for the caller's summary and exit code.
type Outcome struct {
	Run          store.Run
	Attention    []string // hosts (and why) that need a person: backout failed or not run
	NotBackedOut []string // "host/step" of started steps without a backout
}

// Reasons a run stops early; recorded with context.WithCancelCause.
var (
	errBudget = errors.New("failure budget exceeded")
	errVerify = errors.New("verification failed")
)

// AbortError is the cause of a run stopped by an operator.
type AbortError struct {
	By, Reason string
	NoBackout  bool
}

func (e *AbortError) Error() string {
	msg := "aborted by " + e.By
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// StoreError says the state store failed while a run was executed (a
// full disk, a database that became unwritable): the controller cannot
// journal what it does, so it starts nothing more, terminates what runs
// and leaves the run as the store last recorded it, still locked, for
// `golive resume` or `golive backout` once the store works again.
type StoreError struct {
	RunID string
	Err   error
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("the state store failed during run %s: %v", e.RunID, e.Err)
}

func (e *StoreError) Unwrap() error { return e.Err }

// storeErr wraps a failure of the store itself in a *StoreError; the
// store's answers (not found, a state conflict, a lock held by another)
// are returned as they are.
func (x *execution) storeErr(err error) error {
	var se *StoreError
	switch {
	case errors.Is(err, store.ErrFenced):
		// Another controller took the run over: stop, touch nothing more.
		return &LockLostError{Err: err}
	case err == nil, errors.As(err, &se),
		errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrStateConflict),
		errors.Is(err, store.ErrLocked), errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrExists):
		return err
	}
	return &StoreError{RunID: x.run.ID, Err: err}
}

// BackoutAbandonedError says the operator abandoned a backout: the run is
// left backing_out and resumable (`golive backout RUN` finishes it).
type BackoutAbandonedError struct{ RunID string }

func (e *BackoutAbandonedError) Error() string {
	return "backout of run " + e.RunID + " abandoned by the operator"
}

// LockLostError is the cause of a run whose lock was taken by another.
type LockLostError struct{ Err error }

func (e *LockLostError) Error() string { return "environment lock lost: " + e.Err.Error() }

// execution is one run being executed by this process.
type execution struct {
	e     *Engine
	run   store.Run
	ro    *rollout.Rollout
	hist  *history
	mu    sync.Mutex // guards conns and dials
	conns map[string]transport.Conn
	dials map[string]*dialing
	// lastOnce computes last: each host's last batch, for releaseConns.
	lastOnce sync.Once
	last     map[string]*rollout.Batch
	// prefetching counts connections being opened ahead of their batch.
	prefetching sync.WaitGroup
	// closing counts host sessions being closed in the background
	// (closeSoon).
	closing sync.WaitGroup
	// prepared: host name -> *hostSession its preparation ahead used,
	// for its batch to go on with (prepare.go).
	prepared sync.Map
	// abortCursor is the last journal seq the abort watcher has read.
	abortCursor int64
	// lockLost: another controller took the run over; leave its lock alone.
	lockLost bool
	// lease is the run's lease this process holds (set once the lock is
	// taken, before anything runs): every journal write and state change
	// carries it, and the store refuses them once another controller took
	// the run over (fencing). Epoch 0: none.
	lease store.Lease
	// leaseMu guards leaseValid: until when, by this process's own
	// (monotonic) clock, the lease surely has not expired; renewals move it.
	leaseMu    sync.Mutex
	leaseValid time.Time
	// readOnly: this execution only checks (preflight, reach, live
	// checks) and must not even create a host's directory.
	readOnly bool
}

func (x *execution) journal(ctx context.Context, ev store.Event) error {
	ev.RunID = x.run.ID
	if ev.Time.IsZero() {
		ev.Time = x.e.o.Clock.Now()
	}
	// Output was redacted as it streamed (redactedConn); redact again
	// before cutting, for output that did not come from a command.
	ev.Output = store.TailOutput(x.e.o.Redactor.String(ev.Output))
	ev.Message = x.e.o.Redactor.String(ev.Message)
	seq, err := x.e.o.Store.AppendEvent(x.fenced(context.WithoutCancel(ctx)), ev)
	if err != nil {
		return fmt.Errorf("journal: %w", x.storeErr(err))
	}
	ev.Seq = seq
	x.hist.apply(ev)
	if x.e.o.Observer != nil {
		x.e.o.Observer.Observe(ev)
	}
	return nil
}

// setState moves the run to state to (compare-and-set from from), journals
// it and tells the observer.
func (x *execution) setState(ctx context.Context, from []store.State, to store.State, reason string) error {
	reason = x.e.o.Redactor.String(reason)
	r, err := x.e.o.Store.UpdateRunState(x.fenced(context.WithoutCancel(ctx)), x.run.ID, from, to, reason)
	if err != nil {
		return fmt.Errorf("run %s: %w", x.run.ID, x.storeErr(err))
	}
	x.run = r
	if x.e.o.Observer != nil {
		x.e.o.Observer.Observe(store.Event{RunID: r.ID, Time: x.e.o.Clock.Now(), Kind: store.KindState, Action: store.Action(to), Message: reason})
	}
	x.e.o.Logger.Info("run state", "run", r.ID, "state", to, "reason", reason)
	return nil
}

// conn returns the (shared) connection to a host, dialing it once. Dials
// to different hosts run in parallel: an unreachable host must not hold
// the others back.
func (x *execution) conn(ctx context.Context, h *rollout.Host) (transport.Conn, error) {
	x.mu.Lock()
	if c, ok := x.conns[h.Name]; ok {
		x.mu.Unlock()
		return c, nil
	}
	if d, ok := x.dials[h.Name]; ok { // another goroutine is dialing this host
		x.mu.Unlock()
		select {
		case <-d.done:
			return d.c, d.err
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	d := &dialing{done: make(chan struct{})}
	x.dials[h.Name] = d
	x.mu.Unlock()
	d.c, d.err = x.dial(ctx, h)
	x.mu.Lock()
	delete(x.dials, h.Name)
	if d.err == nil {
		x.conns[h.Name] = d.c
	}
	x.mu.Unlock()
	close(d.done)
	return d.c, d.err
}

// prefetch opens the connections of a batch's hosts in the background,
// while the batch before it works, so that batches do not wait for
// connection set-up. A failed dial is not kept: the host's step dials
// again and reports the error.
func (x *execution) prefetch(ctx context.Context, b *rollout.Batch) {
	for _, h := range b.Hosts {
		if h.Transport == "local" {
			continue
		}
		x.prefetching.Add(1)
		go func() {
			defer x.prefetching.Done()
			x.conn(ctx, h)
		}()
	}
}

// dialing is a dial in progress.
type dialing struct {
	done chan struct{}
	c    transport.Conn
	err  error
}

func (x *execution) dial(ctx context.Context, h *rollout.Host) (transport.Conn, error) {
	tr, ok := x.e.o.Transports[h.Transport]
	if !ok {
		return nil, fmt.Errorf("host %s: transport %q is not available in this golive", h.Name, h.Transport)
	}
	dir := h.Dir
	if h.Transport == "local" && dir != "" {
		dir = x.e.resolve(dir) // a local host's directory is relative to the plan
	}
	th := transport.Host{Name: h.Name, Address: h.Address, User: h.User, Port: h.Port, Dir: dir,
		IdentityFile: x.e.resolve(h.Identity), KnownHosts: x.e.resolve(h.Known), Jump: h.Jump, ReadOnly: x.readOnly}
	if h.Target != nil {
		th.Vars = h.Target.Vars
	}
	c, err := tr.Dial(ctx, th)
	if err != nil {
		return nil, err
	}
	return redactedConn{Conn: c, r: x.e.o.Redactor}, nil
}

// dropIfLost forgets a host's connection that broke, so that a retry, a
// later check or stage dials again instead of failing on a dead one.
func (x *execution) dropIfLost(h *rollout.Host, err error) {
	if !errors.Is(err, transport.ErrConnLost) && !errors.Is(err, transport.ErrClosed) {
		return
	}
	x.mu.Lock()
	c, ok := x.conns[h.Name]
	delete(x.conns, h.Name)
	x.mu.Unlock()
	if ok {
		c.Close()
	}
}

// releaseConns ends the connections of b's hosts that no later batch and
// no verify check of the run uses, for good (not kept for reuse): the
// controller's memory then grows with the hosts in flight, not with the
// fleet. A backout that needs one of them dials it again.
func (x *execution) releaseConns(b *rollout.Batch) {
	x.lastOnce.Do(func() { x.last = lastBatches(x.ro) })
	for _, h := range b.Hosts {
		if x.last[h.Name] != b {
			continue
		}
		x.mu.Lock()
		c, ok := x.conns[h.Name]
		delete(x.conns, h.Name)
		x.mu.Unlock()
		if ok {
			if d, isD := c.(interface{ Discard() error }); isD {
				d.Discard()
			} else {
				c.Close()
			}
		}
	}
}

// lastBatches maps each host to the last batch of ro that has it, or to
// nil when a verify check targets it (its connection stays to the end).
func lastBatches(ro *rollout.Rollout) map[string]*rollout.Batch {
	last := map[string]*rollout.Batch{}
	for _, s := range ro.Stages {
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				last[h.Name] = b
			}
		}
	}
	for _, c := range ro.Verify {
		for _, h := range c.Targets {
			last[h.Name] = nil
		}
	}
	return last
}

// localConn is the controller itself, for local steps and checks.
func (x *execution) localConn(ctx context.Context) (transport.Conn, error) {
	return x.conn(ctx, &rollout.Host{Name: "(controller)", Transport: "local", Dir: x.e.o.PlanDir})
}

func (x *execution) closeConns() {
	x.prefetching.Wait()
	x.mu.Lock()
	// In parallel: each close waits for its connection's end (at 1,000
	// hosts, closing them one by one held a failed run's backout back
	// for most of a second).
	var wg sync.WaitGroup
	for name, c := range x.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close()
		}()
		delete(x.conns, name)
	}
	x.mu.Unlock()
	wg.Wait()
	x.closing.Wait() // their connections are closed: they end at once
}
