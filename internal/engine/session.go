package engine

import (
	"context"
	"errors"

	"github.com/golive-dev/golive/internal/transport"
)

// hostSession is the session a host's run steps share when its
// connection offers sessions (transport.Sessioner): over SSH, one channel
// for all the steps of the host instead of one per step. Each step is
// still journaled as started before it is sent: a session sends a command
// only when its Run is called. A nil *hostSession runs on the connection.
type hostSession struct {
	s   transport.Session
	off bool // the connection offers no sessions
}

// run runs cmd on the host's session, opening it on first use (and again
// when it ended before cmd started), or on conn when it offers none.
func (hs *hostSession) run(ctx context.Context, conn transport.Conn, cmd transport.Command) (transport.Result, error) {
	if hs == nil || hs.off {
		return conn.Run(ctx, cmd)
	}
	for try := 0; ; try++ {
		if hs.s == nil {
			s, ok, err := openSession(ctx, conn)
			if err != nil {
				return transport.Result{ExitCode: -1}, err
			}
			if !ok {
				hs.off = true
				return conn.Run(ctx, cmd)
			}
			hs.s = s
		}
		res, err := hs.s.Run(ctx, cmd)
		if !errors.Is(err, transport.ErrSessionDone) || try > 0 {
			return res, err
		}
		hs.s.Close()
		hs.s = nil
	}
}

func (hs *hostSession) close() {
	if hs != nil && hs.s != nil {
		hs.s.Close()
		hs.s = nil
	}
}

// openSession opens a session on a connection the engine dialed; its
// output and errors are redacted as the connection's are.
func openSession(ctx context.Context, conn transport.Conn) (transport.Session, bool, error) {
	rc, ok := conn.(redactedConn)
	if !ok {
		return nil, false, nil
	}
	s, ok, err := transport.OpenSession(ctx, rc.Conn)
	if err != nil || !ok {
		return nil, ok, rc.redactErr(err)
	}
	return redactedSession{s: s, rc: redactedConn{Conn: sessionRunner{s}, r: rc.r}}, true, nil
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
	return transport.UploadResult{}, errors.New("upload over a session")
}

func (c sessionRunner) Close() error { return c.s.Close() }
