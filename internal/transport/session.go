package transport

import (
	"context"
	"errors"
)

// ErrSessionDone is returned (wrapped) by [Session.Run] when the session
// can run nothing more (it was closed, or an interrupted command did not
// let go of it) and the command was not started. The caller may open
// another session, or use [Conn.Run].
var ErrSessionDone = errors.New("session ended")

// Sessioner is the optional interface of a [Conn] that can run several
// commands, one after another, over one session with the target (one SSH
// channel instead of one per command).
type Sessioner interface {
	Session(ctx context.Context) (Session, error)
}

// Session runs commands one at a time, in the order given. Each Run keeps
// every promise of [Conn.Run]: the command's script and Env on standard
// input only, its own exit code, its own output (the boundaries between
// commands cannot be forged by what a command prints), its own working
// directory, environment and process group, killed (SIGTERM, then SIGKILL)
// when Run's context is done. A command is sent to the target only when Run
// is called, so a caller can record that it starts before it does. Runs
// are serialized: a Run called while another is in flight waits for it.
// Output that a command's background processes write after it ended may be
// attributed to the next command of the session.
type Session interface {
	Run(ctx context.Context, c Command) (Result, error)
	// Close ends the session; later Runs return an error wrapping
	// ErrSessionDone.
	Close() error
}

// SessionUploader is the optional interface of a [Session] that can also
// do an [Upload] as its next command (with every promise of
// [Conn.Upload]), instead of over a session of its own.
type SessionUploader interface {
	Upload(ctx context.Context, u Upload) (UploadResult, error)
}

// OpenSession opens a session on c when c offers them; ok is false (and
// err nil) when it does not.
func OpenSession(ctx context.Context, c Conn) (s Session, ok bool, err error) {
	sc, isSessioner := c.(Sessioner)
	if !isSessioner {
		return nil, false, nil
	}
	s, err = sc.Session(ctx)
	return s, err == nil, err
}
