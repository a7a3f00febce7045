package ssh

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// Exit codes of the upload script.
const (
	execFallback = 90 // no sha256sum or shasum, or a destination the script leaves to SFTP
	execIsDir    = 91 // the destination is a directory
	execMkdir    = 92 // the parent directory cannot be created
	execWrite    = 93 // the temporary file cannot be created or written
	execMismatch = 94 // what arrived on stdin does not have the expected SHA-256
	execChmod    = 95 // chmod failed
	execRename   = 97 // mv failed
)

// execSkipMarker is what the script prints on stdout when the destination
// already has the expected SHA-256.
const execSkipMarker = "golive-skip"

// errExecFallback says the upload must be done over SFTP instead.
var errExecFallback = errors.New("exec upload not possible on this target")

// uploadScript checks and installs a file in one exec session: when dst is
// a regular file with SHA-256 want it sets the mode, prints the skip
// marker and exits without reading stdin; otherwise it reads stdin into
// tmp (beside dst), checks its SHA-256, sets the mode, syncs it when sync(1)
// takes a file, and renames it over dst. Every failure after tmp is
// created removes it.
//
// It prints sendMarker on stdout once cat is about to read: the controller
// sends nothing before. Bytes sent earlier would pile up in the SSH
// server's buffer for the channel while the script starts its tools, and
// OpenSSH grows that buffer by copying it whole for every packet. When the
// script ends, it prints endMarker: the controller closes the script's
// input then (a server may report the exit status only after that).
func uploadScript(dst, tmp, want string, mode os.FileMode) string {
	return uploadScriptWith(dst, tmp, want, mode, "trap 'echo "+endMarker+"' EXIT",
		`(set -C; exec 3>"$t" && echo `+sendMarker+` && exec cat >&3) || { rm -f -- "$t"; exit 93; }`)
}

// endMarker is what the exec upload script prints on stdout as it ends.
const endMarker = "golive-end"

// uploadScriptWith is uploadScript with more tool checks (check, which
// exits 90 when the target cannot do it) and another way to receive the
// file into the new file $t (receive, which exits 93 when it cannot).
//
// Every program started costs the target ~1-2 ms of CPU (bench/README.md,
// "stop 10"), so the script starts only those it needs: mkdir only when
// the parent is missing, and chmod only when the umask cannot give the
// temporary file its mode as it is created (a mode with execute or
// other bits beyond rw; the file is then created private, as before).
func uploadScriptWith(dst, tmp, want string, mode os.FileMode, check, receive string) string {
	m := fmt.Sprintf("%04o", mode.Perm())
	umask, chmod := "077", `chmod "$m" "$t" || { rm -f -- "$t"; exit 95; }`
	if mode.Perm()&^0o666 == 0 {
		umask, chmod = fmt.Sprintf("%03o", 0o666&^mode.Perm()), ":"
	}
	return "f=" + quote(dst) + " t=" + quote(tmp) + " d=" + quote(path.Dir(dst)) + " w=" + want + " m=" + m + "\n" + check + `
if command -v sha256sum >/dev/null 2>&1; then sum() { sha256sum; }
elif command -v shasum >/dev/null 2>&1; then sum() { shasum -a 256; }
else exit 90; fi
if [ -L "$f" ]; then exit 90
elif [ -d "$f" ]; then exit 91
elif [ -f "$f" ]; then
  s=$(sum <"$f") || { echo "hash existing file failed" >&2; exit 1; }
  set -- $s
  if [ "$1" = "$w" ]; then
    if ! chmod "$m" "$f" && [ -n "$(find "$f" -prune ! -perm "$m")" ]; then exit 95; fi
    echo ` + execSkipMarker + `
    exit 0
  fi
fi
[ -d "$d" ] || mkdir -p -- "$d" || exit 92
umask ` + umask + `
` + receive + `
s=$(sum <"$t") || { rm -f -- "$t"; echo "hash temporary file failed" >&2; exit 1; }
set -- $s
if [ "$1" != "$w" ]; then rm -f -- "$t"; echo "$1" >&2; exit 94; fi
` + chmod + `
sync "$t" 2>/dev/null || :
if [ -d "$f" ] && [ ! -L "$f" ]; then rm -f -- "$t"; exit 91; fi
mv -f -- "$t" "$f" || { rm -f -- "$t"; exit 97; }
`
}

// uploadExec does the upload in one exec session running uploadScript,
// with src streamed on its stdin (hashed on the way, so a source that
// changed after the caller verified it is refused). It returns
// errExecFallback when the target cannot do it (no sha256sum or shasum, a
// symbolic link at dst): the SFTP path then handles the upload.
func (c *conn) uploadExec(ctx context.Context, src, dst, want string, mode os.FileMode) (transport.UploadResult, error) {
	in, err := os.Open(src)
	if err != nil {
		return transport.UploadResult{}, fmt.Errorf("open source: %w", err)
	}
	release, err := c.acquire(ctx)
	if err != nil {
		in.Close()
		return transport.UploadResult{}, err
	}
	defer release()
	tmp := path.Join(path.Dir(dst), "."+path.Base(dst)+".golive-"+nonce())
	tag := "golive-" + nonce()
	out := &skipWatcher{skip: make(chan struct{}), send: make(chan struct{}), end: make(chan struct{})}
	var errOut limitedBuffer
	s, err := c.startSession(wrapExec(tag, "", false, uploadScript(dst, tmp, want, mode)), out, &errOut, tag, true, nil)
	if err != nil {
		in.Close()
		return transport.UploadResult{}, err
	}

	// The writer waits for the script to ask for the file, then streams
	// src on stdin until EOF, an error, ctx's end, or the script saying it
	// skips; then it closes stdin.
	var (
		n       int64
		h       = sha256.New()
		eof     bool
		readErr error
		wdone   = make(chan struct{})
	)
	go func() {
		defer close(wdone)
		defer in.Close()
		defer s.ch.CloseWrite()
		select {
		case <-out.send:
		case <-out.skip:
			return
		case <-out.end:
			return // the script ended without reading
		case <-s.exited:
			return // the script ended first: its status tells why
		case <-ctx.Done():
			readErr = transport.ContextError(ctx)
			return
		}
		buf := make([]byte, copyBufferSize)
		for {
			select {
			case <-out.skip:
				return
			default:
			}
			if err := transport.ContextError(ctx); err != nil {
				readErr = err
				return
			}
			nr, err := in.Read(buf)
			if nr > 0 {
				h.Write(buf[:nr])
				nw, werr := s.ch.Write(buf[:nr])
				n += int64(nw)
				if werr != nil {
					return // the script ended; its status tells why
				}
			}
			if err == io.EOF {
				eof = true
				return
			}
			if err != nil {
				readErr = err
				return
			}
		}
	}()

	select {
	case <-s.exited:
	case <-ctx.Done():
		// The writer stops at its next chunk and closes stdin: the script
		// sees a short file, removes it and exits. Kill it if it does not.
		t := time.NewTimer(c.grace + c.waitDelay)
		select {
		case <-s.exited:
			t.Stop()
			c.finish(s)
		case <-t.C:
			c.interrupt(s)
			c.removeTemp(tmp)
		}
		return transport.UploadResult{}, transport.ContextError(ctx)
	}
	c.finish(s)
	t := time.NewTimer(c.waitDelay)
	defer t.Stop()
	select {
	case <-wdone:
	case <-t.C:
		return transport.UploadResult{}, errors.New("upload script ended but its input did not")
	}
	if !s.status.ok {
		return transport.UploadResult{}, c.connErr(errNoStatus)
	}
	return uploadOutcome(ctx, s.status.code, strings.TrimSpace(errOut.String()), out.skipped(), uploadStream{src: src, tmp: tmp, want: want, n: n, eof: eof, sum: hex.EncodeToString(h.Sum(nil)), readErr: readErr})
}

// uploadStream is what the controller sent of an upload.
type uploadStream struct {
	src, tmp, want string
	n              int64  // bytes sent
	eof            bool   // the whole source was read
	sum            string // sha256 of the bytes read from src
	readErr        error
}

// uploadOutcome turns the upload script's exit code and message into the
// upload's result.
func uploadOutcome(ctx context.Context, code int, msg string, skipped bool, u uploadStream) (transport.UploadResult, error) {
	src, tmp, want, n, eof, readErr := u.src, u.tmp, u.want, u.n, u.eof, u.readErr
	switch {
	case code == 0 && skipped:
		return transport.UploadResult{Skipped: true}, nil
	case code == 0:
		if got := u.sum; !eof || got != want {
			// Cannot happen: the script checked the bytes it got.
			return transport.UploadResult{}, fmt.Errorf("copy %s: incomplete (sha256 %s, want %s)", src, got, want)
		}
		return transport.UploadResult{Bytes: n}, nil
	case code == execFallback:
		return transport.UploadResult{}, errExecFallback
	case code == execIsDir:
		return transport.UploadResult{}, errIsDir
	case code == execMkdir:
		return transport.UploadResult{}, fmt.Errorf("create parent directory: %s", msg)
	case code == execWrite:
		return transport.UploadResult{}, fmt.Errorf("create temporary file %s: %s", tmp, msg)
	case code == execMismatch:
		if readErr != nil {
			if err := transport.ContextError(ctx); err != nil {
				return transport.UploadResult{}, err
			}
			return transport.UploadResult{}, fmt.Errorf("copy %s: %w", src, readErr)
		}
		if got := u.sum; eof && got != want {
			return transport.UploadResult{}, fmt.Errorf("source %s changed after verification: sha256 %s, want %s", src, got, want)
		}
		return transport.UploadResult{}, fmt.Errorf("verify on target: %s has sha256 %q, want %s", tmp, msg, want)
	case code == execChmod:
		return transport.UploadResult{}, fmt.Errorf("chmod: %s", msg)
	case code == execRename:
		return transport.UploadResult{}, fmt.Errorf("rename: mv: %s", msg)
	}
	return transport.UploadResult{}, fmt.Errorf("upload script: exit status %d: %s", code, msg)
}

// removeTemp removes a temporary file an interrupted upload script may
// have left behind.
func (c *conn) removeTemp(tmp string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.grace+c.waitDelay)
	defer cancel()
	c.run(ctx, transport.Command{Script: "rm -f -- " + quote(tmp), Dir: "/"})
}

// skipWatcher keeps the start of the upload script's stdout and closes
// skip, send and end once their marker lines have arrived.
type skipWatcher struct {
	mu              sync.Mutex
	buf             limitedBuffer
	skip, send, end chan struct{}
}

func (w *skipWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, m := range []struct {
		line string
		ch   chan struct{}
	}{{execSkipMarker, w.skip}, {sendMarker, w.send}, {endMarker, w.end}} {
		if m.ch != nil && !closed(m.ch) && bytes.Contains(w.buf.b, []byte(m.line+"\n")) {
			close(m.ch)
		}
	}
	return len(p), nil
}

// closed reports whether ch is closed.
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (w *skipWatcher) skipped() bool {
	select {
	case <-w.skip:
		return true
	default:
		return false
	}
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
