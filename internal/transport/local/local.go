package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

const (
	// DefaultGrace is the time between SIGTERM and SIGKILL when Grace is 0.
	DefaultGrace = 5 * time.Second
	// DefaultWaitDelay is used when WaitDelay is 0.
	DefaultWaitDelay = 2 * time.Second
)

// Transport runs commands on the controller. The zero value is ready to use.
type Transport struct {
	// Grace is how long the process group of an interrupted script may take
	// to exit after SIGTERM before it gets SIGKILL; 0 means DefaultGrace.
	Grace time.Duration
	// WaitDelay is how long Run keeps copying output after the shell has
	// exited, for processes it left behind that still hold its stdout or
	// stderr; 0 means DefaultWaitDelay.
	WaitDelay time.Duration
}

var _ transport.Transport = (*Transport)(nil)

// Dial returns a connection whose working directory is h.Dir, made absolute
// and created (with parents) if missing. An empty h.Dir means the current
// directory.
func (t *Transport) Dial(ctx context.Context, h transport.Host) (transport.Conn, error) {
	c := &conn{name: h.Name, grace: t.Grace, waitDelay: t.WaitDelay}
	if c.grace <= 0 {
		c.grace = DefaultGrace
	}
	if c.waitDelay <= 0 {
		c.waitDelay = DefaultWaitDelay
	}
	dir := h.Dir
	if dir == "" {
		dir = "."
	}
	if c.name == "" {
		c.name = dir
	}
	if err := transport.ContextError(ctx); err != nil {
		return nil, fmt.Errorf("local %s: dial: %w", c.name, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local %s: dial: %w", c.name, err)
	}
	if h.ReadOnly {
		abs = nearestExisting(abs)
	} else if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("local %s: dial: %w", c.name, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("local %s: dial: %w", c.name, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("local %s: dial: %s is not a directory", c.name, abs)
	}
	c.dir = abs
	return c, nil
}

// conn is one local "host". It holds no resources, so it is safe for
// concurrent use and Close only marks it closed.
type conn struct {
	name      string
	dir       string // absolute
	grace     time.Duration
	waitDelay time.Duration
	closed    atomic.Bool
}

func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return fmt.Errorf("local %s: close: %w", c.name, transport.ErrClosed)
	}
	return nil
}

// check returns why the connection cannot start new work, or nil.
func (c *conn) check(ctx context.Context) error {
	if c.closed.Load() {
		return transport.ErrClosed
	}
	return transport.ContextError(ctx)
}

// resolve makes p absolute against the host directory; "" is the directory.
func (c *conn) resolve(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.dir, p)
}

// nearestExisting returns dir, or its nearest ancestor that exists.
func nearestExisting(dir string) string {
	for {
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}
