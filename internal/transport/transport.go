package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/golive-dev/golive/internal/values"
)

// ErrClosed is returned by the methods of a [Conn] after Close.
var ErrClosed = errors.New("transport: connection closed")

// ErrConnLost is returned (wrapped) when a connection to a target broke;
// the caller may dial again.
var ErrConnLost = errors.New("connection lost")

// DefaultUploadMode is the mode of an uploaded file when [Upload.Mode] is 0.
const DefaultUploadMode os.FileMode = 0o644

// Host is one target as a transport sees it.
type Host struct {
	Name    string            // the plan's name for the target, used in errors
	Address string            // network address (ssh); unused by local
	User    string            // remote user (ssh); unused by local
	Port    int               // remote port (ssh); 0 = the transport's default
	Dir     string            // working directory; relative Command.Dir and Upload.To resolve against it
	Vars    map[string]string // the host's plan vars
	// ssh only: files already resolved to absolute controller paths.
	IdentityFile string // private key; "" = ssh-agent and the default keys
	KnownHosts   string // known_hosts used to verify the host key; "" = ~/.ssh/known_hosts
	Jump         string // jump host, like ProxyJump: [user@]host[:port]
	// ReadOnly: the connection is for checks that must change nothing
	// (review, preflight): a missing Dir is not created; commands run in
	// its nearest existing parent instead.
	ReadOnly bool
}

// Command is a script to run on a target, as `sh -c Script` would, but
// passed on the shell's standard input ([Command.Payload]).
type Command struct {
	Script string
	// Env is added to the environment the script inherits. Names must be
	// shell identifiers ([A-Za-z_][A-Za-z0-9_]*).
	Env map[string]string
	// Dir is the working directory; "" means the transport's default
	// (Host.Dir), and a relative Dir is resolved against Host.Dir.
	Dir string
	// Stdout and Stderr receive output as it arrives; nil discards it.
	// They may be the same writer (compared with ==), in which case writes
	// are never concurrent and the order of the two streams is kept.
	Stdout, Stderr io.Writer
	// Started, when set, is called (at most once, before Run returns)
	// with the remote process group the script runs in, by transports
	// whose scripts can outlive the controller (ssh); see GroupStopper.
	Started func(RemoteProc)
}

// Result is how a command ended.
type Result struct {
	// ExitCode is the exit status; 128+N when the script was killed by
	// signal N on its own; -1 when Run was interrupted by its context.
	ExitCode int
	Duration time.Duration // from start until the process was reaped
	// Stopped: Run was interrupted by its context after the script had
	// started in its process group (Command.Started was called), and that
	// group was stopped: nothing of the script runs any more. False when
	// that is not known (a caller that must be sure stops the group
	// again with a GroupStopper).
	Stopped bool
}

// Upload copies one local file to a target.
type Upload struct {
	Src    string      // file on the controller
	SHA256 string      // lowercase or uppercase hex SHA-256 of Src, already verified by the caller
	To     string      // destination path; relative paths resolve against Host.Dir
	Mode   os.FileMode // permission bits of the destination; 0 = DefaultUploadMode
}

// UploadResult says what an upload did.
type UploadResult struct {
	Skipped bool  // the destination already had that SHA-256; no bytes were copied
	Bytes   int64 // bytes copied
}

// Conn is a connection to one target. Its methods are safe for concurrent use.
type Conn interface {
	// Run runs c and waits for it to end, its process to be reaped and its
	// output to be copied. See the package documentation for errors.
	Run(ctx context.Context, c Command) (Result, error)
	// Upload installs u.Src at u.To atomically, creating parent directories.
	Upload(ctx context.Context, u Upload) (UploadResult, error)
	// Close releases the connection; later calls return ErrClosed.
	Close() error
}

// Transport dials targets.
type Transport interface {
	Dial(ctx context.Context, h Host) (Conn, error)
}

// Validate reports a command that no transport can run.
func (c Command) Validate() error {
	for name := range c.Env {
		if !isIdentifier(name) {
			return fmt.Errorf("env %q: not a valid variable name", name)
		}
	}
	return nil
}

// FileMode returns the mode to give the destination.
func (u Upload) FileMode() os.FileMode {
	if u.Mode == 0 {
		return DefaultUploadMode
	}
	return u.Mode
}

// Validate reports an upload that no transport can perform.
func (u Upload) Validate() error {
	switch {
	case u.Src == "":
		return errors.New("upload: empty source path")
	case u.To == "":
		return errors.New("upload: empty destination path")
	case values.NoControl("upload.to", u.To) != nil:
		return values.NoControl("upload.to", u.To)
	case len(u.SHA256) != 64 || !isHex(u.SHA256):
		return fmt.Errorf("upload %s: sha256 %q is not 64 hex digits", u.Src, u.SHA256)
	case u.Mode&^os.ModePerm != 0:
		return fmt.Errorf("upload %s: mode %v has bits other than permissions", u.Src, u.Mode)
	}
	return nil
}

// ContextError is the error a transport returns when ctx interrupted its
// work. It wraps ctx.Err(), so errors.Is(err, context.DeadlineExceeded) and
// errors.Is(err, context.Canceled) work, and also context.Cause(ctx) when
// that is a different error. It returns nil when ctx is not done.
func ContextError(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(cause, err) {
		return err
	}
	return fmt.Errorf("%w: %w", err, cause)
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && '0' <= r && r <= '9':
		default:
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}
