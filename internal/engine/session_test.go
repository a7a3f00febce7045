package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
)

// sessionTransport is the local transport with sessions: every connection
// it dials is a transport.Sessioner whose sessions run their commands, one
// at a time, as the local connection's real processes (what ssh does with
// one channel per host). It records what the engine does with them. The
// faults a target can cause are injected: ended(n) says a session has
// ended after it ran n commands (the next Run returns
// transport.ErrSessionDone, the command not started); openErr fails every
// open.
type sessionTransport struct {
	transport.Transport
	ended   func(ran int) bool
	openErr error

	mu      sync.Mutex
	opened  map[string]int      // sessions opened, per host
	closed  map[string]int      // sessions the engine closed, per host
	viaSess map[string][]string // scripts run over a session, per host
	viaConn map[string][]string // scripts run on the connection itself, per host
}

// maxOpens bounds the sessions a host may open, so that an engine that
// opens them forever fails the test instead of spinning.
const maxOpens = 10

func newSessionTransport(tr transport.Transport) *sessionTransport {
	return &sessionTransport{Transport: tr, opened: map[string]int{}, closed: map[string]int{},
		viaSess: map[string][]string{}, viaConn: map[string][]string{}}
}

func (t *sessionTransport) Dial(ctx context.Context, h transport.Host) (transport.Conn, error) {
	c, err := t.Transport.Dial(ctx, h)
	if err != nil {
		return nil, err
	}
	return &sessConn{Conn: c, t: t, host: h.Name}, nil
}

type sessConn struct {
	transport.Conn
	t    *sessionTransport
	host string
}

func (c *sessConn) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	c.t.mu.Lock()
	c.t.viaConn[c.host] = append(c.t.viaConn[c.host], cmd.Script)
	c.t.mu.Unlock()
	return c.Conn.Run(ctx, cmd)
}

func (c *sessConn) Session(ctx context.Context) (transport.Session, error) {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	if c.t.openErr != nil {
		return nil, c.t.openErr
	}
	if c.t.opened[c.host] >= maxOpens {
		return nil, fmt.Errorf("%s: %d sessions opened already", c.host, maxOpens)
	}
	c.t.opened[c.host]++
	return &localSession{c: c}, nil
}

type localSession struct {
	c      *sessConn
	mu     sync.Mutex // Runs are serialized
	ran    int
	closed bool
}

func (s *localSession) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return transport.Result{ExitCode: -1}, fmt.Errorf("session on %s closed: %w", s.c.host, transport.ErrSessionDone)
	}
	if s.c.t.ended != nil && s.c.t.ended(s.ran) {
		return transport.Result{ExitCode: -1}, fmt.Errorf("session on %s: %w", s.c.host, transport.ErrSessionDone)
	}
	s.ran++
	s.c.t.mu.Lock()
	s.c.t.viaSess[s.c.host] = append(s.c.t.viaSess[s.c.host], cmd.Script)
	s.c.t.mu.Unlock()
	return s.c.Conn.Run(ctx, cmd) // the local connection's, not counted as on the connection
}

func (s *localSession) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.c.t.mu.Lock()
		s.c.t.closed[s.c.host]++
		s.c.t.mu.Unlock()
	}
	return nil
}

const sessionPlan = `stages:
  - name: web
    on: web
    strategy: {batch: 2}
    steps:
      - {name: a, run: echo a >> log, backout: echo undo-a >> log}
      - {name: b, run: echo b >> log, backout: echo undo-b >> log}
      - {name: c, run: echo c >> log, backout: echo undo-c >> log}
    health:
      - {name: ok, run: test -f log}
`

var abc = []string{"echo a >> log", "echo b >> log", "echo c >> log"}

// sessionEngine runs f on local hosts whose connections offer sessions;
// faults, when not nil, sets the transport's faults.
func (f *fixture) sessionEngine(faults func(*sessionTransport)) (*engine.Engine, *sessionTransport) {
	var tr *sessionTransport
	e := f.engine(func(o *engine.Options) {
		tr = newSessionTransport(o.Transports["local"])
		if faults != nil {
			faults(tr)
		}
		o.Transports["local"] = tr
	})
	return e, tr
}

// TestStepsRunOverOneSessionPerHost: when a host's connection offers
// sessions, its run steps go over one session, in order, and the engine
// closes it; nothing of the steps runs on the connection itself.
func TestStepsRunOverOneSessionPerHost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2, sessionPlan)
	e, tr := f.sessionEngine(nil)
	out := f.start(e)
	f.wantState(out, store.StateSucceeded)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, h := range []string{"h1", "h2"} {
		equal(t, h+" log", f.log(h), []string{"a", "b", "c"})
		equal(t, h+" scripts over its session", tr.viaSess[h], abc)
		equal(t, h+" scripts on the connection", tr.viaConn[h], []string{"test -f log"}) // the health check
		if tr.opened[h] != 1 || tr.closed[h] != 1 {
			t.Errorf("%s: %d sessions opened, %d closed; want 1 and 1", h, tr.opened[h], tr.closed[h])
		}
	}
}

// TestEndedSessionIsOpenedAgain: a session the target ended between two
// steps (the next command was not started) is closed and a new one opened
// for that command: the run goes on as if nothing happened.
func TestEndedSessionIsOpenedAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, sessionPlan)
	e, tr := f.sessionEngine(func(tr *sessionTransport) {
		tr.ended = func(ran int) bool { return ran >= 1 } // one command per session
	})
	out := f.start(e)
	f.wantState(out, store.StateSucceeded)
	equal(t, "log", f.log("h1"), []string{"a", "b", "c"})
	tr.mu.Lock()
	defer tr.mu.Unlock()
	equal(t, "scripts over sessions", tr.viaSess["h1"], abc)
	equal(t, "scripts on the connection", tr.viaConn["h1"], []string{"test -f log"})
	if tr.opened["h1"] != 3 || tr.closed["h1"] != 3 {
		t.Errorf("%d sessions opened, %d closed; want 3 and 3 (one per step)", tr.opened["h1"], tr.closed["h1"])
	}
}

// TestSessionEndingAtOnceFailsStep: when the session opened again for a
// command ends before running it too, the step fails with that error
// (the engine tries once more, not forever) and nothing of it ran.
func TestSessionEndingAtOnceFailsStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, sessionPlan)
	e, tr := f.sessionEngine(func(tr *sessionTransport) { tr.ended = func(int) bool { return true } })
	out := f.start(e)
	f.wantState(out, store.StateBackedOut)
	equal(t, "log", f.log("h1"), []string{"undo-a"})
	evs := f.events(out.Run.ID)
	failed := filter(evs, match{kind: store.KindStep, action: store.ActionFailed, host: "h1", step: "a"})
	if len(failed) != 1 || !strings.Contains(failed[0].Message, transport.ErrSessionDone.Error()) {
		t.Errorf("step a failed events = %+v, want one saying %q", failed, transport.ErrSessionDone)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.opened["h1"] != 2 || tr.closed["h1"] != 2 {
		t.Errorf("%d sessions opened, %d closed; want 2 and 2 (one more try)", tr.opened["h1"], tr.closed["h1"])
	}
	equal(t, "scripts over sessions", tr.viaSess["h1"], nil)
	equal(t, "scripts on the connection", tr.viaConn["h1"], []string{"echo undo-a >> log", "test -f log"}) // the backout, the check after it
}

var errChannelRefused = errors.New("channel open refused (injected)")

// TestSessionOpenFailureFailsStep: a session that cannot be opened fails
// the step with the transport's error; the step does not run on the
// connection instead.
func TestSessionOpenFailureFailsStep(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, sessionPlan)
	e, tr := f.sessionEngine(func(tr *sessionTransport) { tr.openErr = errChannelRefused })
	out := f.start(e)
	f.wantState(out, store.StateBackedOut)
	equal(t, "log", f.log("h1"), []string{"undo-a"})
	evs := f.events(out.Run.ID)
	failed := filter(evs, match{kind: store.KindStep, action: store.ActionFailed, host: "h1", step: "a"})
	if len(failed) != 1 || failed[0].Message != errChannelRefused.Error() {
		t.Errorf("step a failed events = %+v, want one saying %q", failed, errChannelRefused)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	equal(t, "scripts over sessions", tr.viaSess["h1"], nil)
	equal(t, "scripts on the connection", tr.viaConn["h1"], []string{"echo undo-a >> log", "test -f log"}) // the backout, the check after it
}
