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

	"github.com/pkg/sftp"

	"github.com/golive-dev/golive/internal/transport"
)

// copyBufferSize is the chunk size for hashing a file read back over SFTP.
const copyBufferSize = 256 << 10

var errIsDir = errors.New("destination is a directory")

// Upload installs u.Src at u.To (relative to the host directory): over
// SFTP, with a bounded number of writes in flight (sftpInFlight), or, on
// a server without SFTP, in one exec session (uploadExec) when the target
// has sha256sum or shasum. When the destination is a regular file that already has u.SHA256,
// nothing is copied, its mode is set if it differs, and Skipped is true.
// The temporary file is hashed on the target before it is renamed over
// the destination, so a source that changed after the caller verified it
// is never installed (the source is hashed again only then, to say so).
func (c *conn) Upload(ctx context.Context, u transport.Upload) (transport.UploadResult, error) {
	dst := c.resolve(u.To)
	fail := func(err error) (transport.UploadResult, error) {
		if lost := c.lostErr(); lost != nil && !errors.Is(err, ErrConnLost) && !c.closed.Load() {
			err = fmt.Errorf("%w (%v)", lost, err)
		}
		return transport.UploadResult{}, fmt.Errorf("ssh %s: upload %s: %w", c.name, dst, err)
	}
	if err := c.check(ctx); err != nil {
		return fail(err)
	}
	if err := u.Validate(); err != nil {
		return fail(err)
	}
	want := strings.ToLower(u.SHA256)
	mode := u.FileMode()
	cl, done, err := c.sftpClient()
	if err != nil {
		if lost := c.lostErr(); lost != nil {
			return fail(err)
		}
		// No SFTP: one exec session does it all when the target has
		// sha256sum or shasum.
		res, xerr := c.uploadExec(ctx, u.Src, dst, want, mode)
		if errors.Is(xerr, errExecFallback) {
			return fail(fmt.Errorf("%w; and an upload without SFTP needs sha256sum or shasum on the target and no symbolic link at the destination", err))
		}
		if xerr != nil {
			return fail(xerr)
		}
		return res, nil
	}
	defer done()
	same := false
	srcSize := int64(-1)
	if si, err := os.Stat(u.Src); err == nil {
		srcSize = si.Size()
	}
	// A cheap look first: only an existing regular file of the source's
	// size is worth hashing (saves a command per host on a fresh deploy,
	// and hashing a file that cannot match).
	if fi, err := cl.Lstat(dst); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		same = false
	} else if err == nil && fi.Mode().IsRegular() && srcSize >= 0 && fi.Size() != srcSize {
		same = false
	} else if err == nil {
		if same, err = c.hasSHA256(ctx, cl, dst, want, srcSize); err != nil {
			return fail(err)
		}
	}
	if same {
		if err := chmodIfNeeded(cl, dst, mode); err != nil {
			return fail(err)
		}
		return transport.UploadResult{Skipped: true}, nil
	}
	if err := cl.MkdirAll(path.Dir(dst)); err != nil {
		return fail(fmt.Errorf("create parent directory: %w", err))
	}
	n, err := c.install(ctx, cl, u.Src, dst, want, mode)
	if err != nil {
		return fail(err)
	}
	return transport.UploadResult{Bytes: n}, nil
}

// hasSHA256 reports whether p is a regular file whose SHA-256 is want. A
// missing file, a symbolic link or another non-regular file is not; a
// directory is an error.
func (c *conn) hasSHA256(ctx context.Context, cl *sftp.Client, p, want string, size int64) (bool, error) {
	kind, sum, err := c.remoteSum(ctx, p, size)
	switch {
	case err != nil:
		return false, err
	case kind == "dir":
		return false, errIsDir
	case kind != "file":
		return false, nil
	case sum == "":
		if sum, err = c.readbackSum(ctx, cl, p); err != nil {
			return false, fmt.Errorf("hash existing file: %w", err)
		}
	}
	return sum == want, nil
}

// opensslFrom is the size from which a file is hashed with openssl(1) on
// a target that has it: it starts slower than sha256sum (~4 ms of CPU
// against ~1.5 ms on a VM) but hashes ~6 times faster (SHA
// instructions), so from ~1 MiB on it costs the host less (a 5 MiB
// artifact: ~7 ms against ~16 ms; bench/README.md, "stop 10").
const opensslFrom = 1 << 20

// remoteSum tells what p is on the target (file, dir, none, other) and,
// for a regular file, its SHA-256 when the target has sha256sum, shasum
// or (for a file of size opensslFrom or more; size < 0: unknown) openssl
// ("" otherwise).
func (c *conn) remoteSum(ctx context.Context, p string, size int64) (kind, sum string, err error) {
	openssl := ""
	if size >= opensslFrom {
		// Any failure or odd output falls through to sha256sum.
		openssl = `
elif command -v openssl >/dev/null 2>&1 && s=$(openssl dgst -sha256 -r <"$f" 2>/dev/null) && h=${s%%[ 	]*} && [ ${#h} -eq 64 ] && case $h in *[!0-9a-fA-F]*) false ;; esac; then echo "file $h"`
	}
	script := "f=" + quote(p) + `
if [ -L "$f" ]; then echo other
elif [ -d "$f" ]; then echo dir
elif [ ! -e "$f" ]; then echo none
elif [ ! -f "$f" ]; then echo other` + openssl + `
elif command -v sha256sum >/dev/null 2>&1; then s=$(sha256sum <"$f") || exit 1; echo "file $s"
elif command -v shasum >/dev/null 2>&1; then s=$(shasum -a 256 <"$f") || exit 1; echo "file $s"
else echo file
fi`
	var out, errOut bytes.Buffer
	res, err := c.runIdle(ctx, transport.Command{Script: script, Dir: "/", Stdout: &out, Stderr: &errOut})
	if err != nil {
		return "", "", fmt.Errorf("hash on target: %w", err)
	}
	f := strings.Fields(out.String())
	if res.ExitCode != 0 || len(f) == 0 {
		return "", "", fmt.Errorf("hash on target: exit status %d: %s", res.ExitCode, strings.TrimSpace(errOut.String()))
	}
	if f[0] == "file" && len(f) > 1 {
		if len(f[1]) != 64 {
			return "", "", fmt.Errorf("hash on target: unexpected output %q", out.String())
		}
		return "file", strings.ToLower(f[1]), nil
	}
	return f[0], "", nil
}

// readbackSum hashes p by reading it over SFTP, for targets without
// sha256sum.
func (c *conn) readbackSum(ctx context.Context, cl *sftp.Client, p string) (string, error) {
	f, err := cl.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, copyBufferSize)
	for {
		if err := transport.ContextError(ctx); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

func chmodIfNeeded(cl *sftp.Client, p string, mode os.FileMode) error {
	fi, err := cl.Stat(p)
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == mode {
		return nil
	}
	return cl.Chmod(p, mode)
}

// install streams src into a temporary file beside dst, sets mode,
// syncs (when the server can), checks the hash on the target, and renames
// the file over dst. The temporary file
// is removed on any failure.
func (c *conn) install(ctx context.Context, cl *sftp.Client, src, dst, want string, mode os.FileMode) (n int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("open source: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, fmt.Errorf("open source: %w", err)
	}
	tmp := path.Join(path.Dir(dst), "."+path.Base(dst)+".golive-"+nonce())
	f, err := cl.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return 0, fmt.Errorf("create temporary file %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			cl.Remove(tmp)
		}
	}()
	// The bytes are not hashed on the way: the target's check of the
	// temporary file below is what guarantees that only the verified
	// content is installed, and hashing every upload on the controller
	// too cost ~14 % of golive's CPU at N=50 (bench/README.md, "stop
	// 10"). The source is hashed only when that check fails, to say why.
	r := &ctxReader{ctx: ctx, r: in, size: fi.Size()}
	if n, err = f.ReadFrom(r); err != nil {
		return n, fmt.Errorf("copy %s: %w", src, err)
	}
	if err = f.Chmod(mode); err != nil {
		return n, fmt.Errorf("chmod: %w", err)
	}
	if err = f.Sync(); err != nil && !unsupported(err) {
		return n, fmt.Errorf("fsync: %w", err)
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	if err = c.verify(ctx, cl, tmp, want, n); err != nil {
		if errors.Is(err, errMismatch) {
			if got, herr := fileSHA256(ctx, src); herr == nil && got != want {
				err = fmt.Errorf("source %s changed after verification: sha256 %s, want %s", src, got, want)
			}
		}
		return n, err
	}
	return n, c.rename(ctx, cl, tmp, dst)
}

// errMismatch: a file on the target does not have the SHA-256 it should.
var errMismatch = errors.New("sha256 mismatch")

// fileSHA256 hashes the local file p.
func fileSHA256(ctx context.Context, p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, &ctxReader{ctx: ctx, r: f}, make([]byte, copyBufferSize)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verify checks the SHA-256 of p on the target.
func (c *conn) verify(ctx context.Context, cl *sftp.Client, p, want string, size int64) error {
	kind, sum, err := c.remoteSum(ctx, p, size)
	if err == nil && kind == "file" && sum == "" {
		sum, err = c.readbackSum(ctx, cl, p)
	}
	switch {
	case err != nil:
		return fmt.Errorf("verify on target: %w", err)
	case sum != want:
		return fmt.Errorf("verify on target: %w: %s has sha256 %q, want %s", errMismatch, p, sum, want)
	}
	return nil
}

// rename moves tmp over dst atomically: posix-rename@openssh.com, or
// mv -f on the target when the server lacks it.
func (c *conn) rename(ctx context.Context, cl *sftp.Client, tmp, dst string) error {
	err := cl.PosixRename(tmp, dst)
	if err == nil || !unsupported(err) {
		return err
	}
	var errOut bytes.Buffer
	res, err := c.run(ctx, transport.Command{Script: "mv -f -- " + quote(tmp) + " " + quote(dst), Dir: "/", Stderr: &errOut})
	if err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("rename: mv: exit status %d: %s", res.ExitCode, strings.TrimSpace(errOut.String()))
	}
	return nil
}

// unsupported reports an SFTP error saying the server lacks an operation.
func unsupported(err error) bool {
	var st *sftp.StatusError
	return errors.As(err, &st) && st.FxCode() == sftp.ErrSSHFxOpUnsupported
}

// ctxReader reads r and stops when ctx is done. Size lets sftp's ReadFrom
// send several packets at once; memory stays bounded by its fixed number
// of in-flight packets.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	size int64
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := transport.ContextError(r.ctx); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *ctxReader) Size() int64 { return r.size }
