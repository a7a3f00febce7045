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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// An upload over a pipelined session is a command like the others (its
// own child shell, process group and boundaries) whose script is
// uploadScriptWith: it checks the destination (same SHA-256: it prints the
// skip marker and ends), creates the temporary file, prints sendMarker,
// and only then does the controller send the file: exactly its size in
// bytes, which `head -c SIZE` takes from the session's input. Until the
// marker, nothing but commands is on the input. When the script ends
// without having read every byte sent (a failure, an interruption), the
// rest would be on the input: the session is ended then (the loop would
// refuse those bytes anyway: they are not a NONCE line).

// sendMarker is what the upload script prints on stdout when it is ready
// to read the file.
const sendMarker = "golive-send"

// headCheck makes the upload script fall back (exit 90: the connection's
// Upload) on a target without head(1). One whose head cannot count bytes
// (no -c) fails before it reads anything: the script falls back then too
// (the file sent is left on the session's input, so the session ends).
// Not tried beforehand with `head -c 0`: that is a program started per
// upload, ~1-2 ms of the target's CPU.
const headCheck = `command -v head >/dev/null 2>&1 || exit 90`

// Upload installs u as the session's next command; see above. On a target
// without what it needs it uses the connection's Upload.
func (p *pipeSession) Upload(ctx context.Context, u transport.Upload) (transport.UploadResult, error) {
	res, err := p.upload(ctx, u)
	if errors.Is(err, errExecFallback) {
		return p.c.Upload(ctx, u)
	}
	if err != nil {
		return res, fmt.Errorf("ssh %s: upload %s: %w", p.c.name, p.c.resolve(u.To), err)
	}
	return res, nil
}

// markers watches an upload script's stdout for the send and skip lines.
type markers struct {
	mu   sync.Mutex
	buf  limitedBuffer
	send chan struct{}
	sent bool
	skip bool
}

func (m *markers) Write(b []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.buf.Write(b)
	if !m.sent && bytes.Contains(m.buf.b, []byte(sendMarker+"\n")) {
		m.sent = true
		close(m.send)
	}
	m.skip = m.skip || bytes.Contains(m.buf.b, []byte(execSkipMarker+"\n"))
	return len(b), nil
}

func (m *markers) skipped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.skip
}

func (p *pipeSession) upload(ctx context.Context, u transport.Upload) (transport.UploadResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return transport.UploadResult{}, p.done
	}
	if err := p.c.check(ctx); err != nil {
		return transport.UploadResult{}, err
	}
	if err := u.Validate(); err != nil {
		return transport.UploadResult{}, err
	}
	in, err := os.Open(u.Src)
	if err != nil {
		return transport.UploadResult{}, fmt.Errorf("open source: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return transport.UploadResult{}, fmt.Errorf("open source: %w", err)
	}
	size := fi.Size()
	dst, want := p.c.resolve(u.To), strings.ToLower(u.SHA256)
	tmp := path.Join(path.Dir(dst), "."+path.Base(dst)+".golive-"+nonce())
	script := uploadScriptWith(dst, tmp, want, u.FileMode(), headCheck,
		`(set -C; : >"$t") || { rm -f -- "$t"; exit 93; }
echo `+sendMarker+`
head -c `+strconv.FormatInt(size, 10)+` >>"$t" || { if [ -s "$t" ]; then rm -f -- "$t"; exit 93; fi; rm -f -- "$t"; exit 90; }`)
	tag := "golive-" + nonce()
	out := &markers{send: make(chan struct{})}
	var errOut limitedBuffer
	mw := newMarkWriter(tag, &errOut)
	p.out.setWriter(out)
	p.errs.setWriter(mw)
	p.k++
	go io.WriteString(p.s.ch, p.nonce+" "+tag+"\n"+uploadPayload(tag, script))

	st := &uploadStream{src: u.Src, tmp: tmp, want: want}
	stop := make(chan struct{})
	sent := p.sender(ctx, in, size, out.send, stop, st)
	code, _, werr := p.wait(ctx, mw)
	mw.finish()
	close(stop)
	t := time.NewTimer(p.c.waitDelay)
	select {
	case <-sent:
	case <-t.C:
		// The sender waits for room on a channel nobody reads: ending
		// the channel unblocks it once the server agrees; a server that
		// does not answer loses the connection.
		p.end(fmt.Errorf("%w: an upload's input did not end", transport.ErrSessionDone))
		t.Reset(p.c.waitDelay)
		select {
		case <-sent:
		case <-t.C:
			p.c.lose(fmt.Errorf("%w: the server did not close a session whose upload stalled", ErrConnLost))
			<-sent
		}
	}
	t.Stop()
	out.mu.Lock()
	started := out.sent
	out.mu.Unlock()
	if started && (werr != nil || code != 0 || !st.eof) {
		// Bytes of the file may be left on the session's input.
		p.end(fmt.Errorf("%w: an upload did not read all of its input", transport.ErrSessionDone))
	}
	if werr != nil {
		if started {
			p.c.removeTemp(tmp)
		}
		if st.readErr != nil && ctx.Err() == nil {
			return transport.UploadResult{}, fmt.Errorf("copy %s: %w", u.Src, st.readErr)
		}
		return transport.UploadResult{}, werr
	}
	return uploadOutcome(ctx, code, strings.TrimSpace(errOut.String()), out.skipped(), *st)
}

// sender starts sending exactly size bytes of in, hashing them on the
// way, once go is closed (the script asked for them); it fills st and
// closes the returned channel when it is done. It stops at stop or ctx.
func (p *pipeSession) sender(ctx context.Context, in io.Reader, size int64, goAhead, stop <-chan struct{}, st *uploadStream) <-chan struct{} {
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		select {
		case <-goAhead:
		case <-stop:
			return
		}
		h := sha256.New()
		var err error
		st.n, err = p.send(ctx, io.TeeReader(io.LimitReader(in, size), h), stop)
		st.sum = hex.EncodeToString(h.Sum(nil))
		if errors.Is(err, errInputEnded) {
			return // the script or the session ended: their status tells why
		}
		st.readErr = err
		st.eof = st.readErr == nil && st.n == size
		if st.readErr == nil && st.n < size {
			st.readErr = fmt.Errorf("source is %d bytes shorter than when the upload began", size-st.n)
		}
		if st.readErr != nil {
			p.s.ch.Close() // the script waits for bytes that will not come
		}
	}()
	return sent
}

// errInputEnded: the session's input was closed before the file was sent.
var errInputEnded = errors.New("the session's input ended")

// send copies r to the session's input until its end, stop, or ctx.
func (p *pipeSession) send(ctx context.Context, r io.Reader, stop <-chan struct{}) (int64, error) {
	buf := make([]byte, copyBufferSize)
	var n int64
	for {
		select {
		case <-stop:
			return n, errors.New("upload ended before its input")
		default:
		}
		if err := transport.ContextError(ctx); err != nil {
			return n, err
		}
		nr, err := r.Read(buf)
		if nr > 0 {
			nw, werr := p.s.ch.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, errInputEnded
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// uploadPayload is the child shell's input for an upload: the marker, then
// the script, whose standard input stays the session's (head reads the
// file from it).
func uploadPayload(tag, script string) string {
	var w strings.Builder
	w.WriteString("{\n")
	w.WriteString(`pg=; read -r _ _ _ _ pg _ 2>/dev/null </proc/$$/stat || pg=$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ')` + "\n")
	fmt.Fprintf(&w, "echo \"%s $$ $pg\" >&2\n", tag)
	w.WriteString("golive_script=" + quote(script) + "\n")
	w.WriteString("eval \"$golive_script\"\n}; exit\n")
	return w.String()
}
