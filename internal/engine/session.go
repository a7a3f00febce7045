package engine

import (
	"context"
	"errors"

	"github.com/golive-dev/golive/internal/transport"
)

// hostSession is the session a host's run steps share when its connection offers sessions
// (transport.Sessioner): over SSH, one channel for all the steps of the
// host instead of one per step. Each step is still journaled as started
// before it is sent: a session sends a command only when its Run is called.
// A nil *hostSession runs on the connection.
type hostSession struct {
	s   transport.Session
	off bool // the connection offers no sessions
}

// session returns the host's session, opening it on first use; nil when
// the connection offers none.
func (hs *hostSession) session(ctx context.Context, conn transport.Conn) (transport.Session, error) {
	if hs == nil || hs.off {
		return nil, nil
	}
	if hs.s == nil {
		s, ok, err := openSession(ctx, conn)
		if err != nil {
			return nil, err
		}
		if !ok {
			hs.off = true
			return nil, nil
		}
		hs.s = s
	}
	return hs.s, nil
}

// run runs cmd on the host's session (opened again when it ended before
// cmd started), or on conn when it offers none.
func (hs *hostSession) run(ctx context.Context, conn transport.Conn, cmd transport.Command) (transport.Result, error) {
	for try := 0; ; try++ {
		s, err := hs.session(ctx, conn)
		if err != nil {
			return transport.Result{}, err
		}
		if s == nil {
			return conn.Run(ctx, cmd)
		}
		res, err := s.Run(ctx, cmd)
		if !errors.Is(err, transport.ErrSessionDone) || try > 0 {
			return res, err
		}
		hs.close()
	}
}

func (hs *hostSession) close() {
	if hs != nil && hs.s != nil {
		hs.s.Close()
		hs.s = nil
	}
}

// closeSoon closes hs's session in the background: closing it waits for
// the target to answer (over SSH a round trip, seconds on a controller
// with hundreds of hosts in flight), and nothing needs that wait: not a
// host's health checks, not the cancel of a batch after a failure, not
// the end of a stage. closeConns waits for the closes still under way.
func (x *execution) closeSoon(hs *hostSession) {
	if hs == nil || hs.s == nil {
		return
	}
	s := hs.s
	hs.s = nil
	x.closing.Add(1)
	go func() {
		defer x.closing.Done()
		s.Close()
	}()
}

// openSession opens a session on a connection the engine dialed; its
// output and errors are redacted as the connection's are.
func openSession(ctx context.Context, conn transport.Conn) (transport.Session, bool, error) {
	rc, isRedacted := conn.(redactedConn)
	if !isRedacted {
		return nil, false, nil
	}
	raw, ok, err := transport.OpenSession(ctx, rc.Conn)
	if err != nil || !ok {
		return nil, ok, rc.redactErr(err)
	}
	return redactedSession{s: raw, rc: redactedConn{Conn: sessionRunner{raw}, r: rc.r}}, true, nil
}

// redactedSession redacts a session's output and errors exactly as
// redactedConn does a connection's.
type redactedSession struct {
	s  transport.Session
	rc redactedConn // its Run is the session's
}

func (r redactedSession) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	return r.rc.Run(ctx, cmd)
}

func (r redactedSession) Close() error { return r.s.Close() }

// sessionRunner is a session seen as a transport.Conn that can only Run.
type sessionRunner struct{ s transport.Session }

func (c sessionRunner) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	return c.s.Run(ctx, cmd)
}

func (sessionRunner) Upload(context.Context, transport.Upload) (transport.UploadResult, error) {
	return transport.UploadResult{}, errors.New("the engine uploads on the connection")
}

func (c sessionRunner) Close() error { return c.s.Close() }
