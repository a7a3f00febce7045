package engine

import (
	"context"

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/transport"
)

// redactedConn is how the engine (and the checks it runs) see a host:
// everything a command prints passes through the redactor as it streams,
// before any of it is kept in a tail, cut to a line or shown, so no cut can
// split a secret and no piece of one survives. Errors are redacted too.
type redactedConn struct {
	transport.Conn
	r *redact.Redactor
}

// Discard closes the connection for good: a transport that keeps closed
// connections for reuse (ssh with ReuseIdle) ends this one.
func (c redactedConn) Discard() error {
	if d, ok := c.Conn.(interface{ Discard() error }); ok {
		return d.Discard()
	}
	return c.Conn.Close()
}

func (c redactedConn) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	var writers []*redact.Writer
	wrap := func(w *redact.Writer) *redact.Writer { writers = append(writers, w); return w }
	same := cmd.Stdout != nil && transport.SameWriter(cmd.Stdout, cmd.Stderr)
	if cmd.Stdout != nil {
		cmd.Stdout = wrap(c.r.Writer(cmd.Stdout))
	}
	switch {
	case same:
		cmd.Stderr = cmd.Stdout
	case cmd.Stderr != nil:
		cmd.Stderr = wrap(c.r.Writer(cmd.Stderr))
	}
	res, err := c.Conn.Run(ctx, cmd)
	for _, w := range writers {
		w.Flush()
	}
	return res, c.redactErr(err)
}

func (c redactedConn) Upload(ctx context.Context, u transport.Upload) (transport.UploadResult, error) {
	res, err := c.Conn.Upload(ctx, u)
	return res, c.redactErr(err)
}

func (c redactedConn) redactErr(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, text: c.r.String(err.Error())}
}

// redactedError is an error whose text has its secrets hidden; errors.Is
// and errors.As still see the original.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }
