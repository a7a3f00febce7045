package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/golive-dev/golive/internal/transport"
)

// copyBufferSize is the chunk size for copying and hashing; memory use of
// an upload does not depend on the file's size.
const copyBufferSize = 256 << 10

var errIsDir = errors.New("destination is a directory")

// Upload installs u.Src at u.To (relative to the host directory). When the
// destination is a regular file that already has u.SHA256, nothing is
// copied, its mode is set if it differs, and Skipped is true. The bytes
// copied are hashed on the way and must match u.SHA256, so a source that
// changed after the caller verified it is never installed.
func (c *conn) Upload(ctx context.Context, u transport.Upload) (transport.UploadResult, error) {
	dst := c.resolve(u.To)
	fail := func(err error) (transport.UploadResult, error) {
		return transport.UploadResult{}, fmt.Errorf("local %s: upload %s: %w", c.name, dst, err)
	}
	if err := c.check(ctx); err != nil {
		return fail(err)
	}
	if err := u.Validate(); err != nil {
		return fail(err)
	}
	want := strings.ToLower(u.SHA256)
	mode := u.FileMode()
	same, err := hasSHA256(ctx, dst, want)
	if err != nil {
		return fail(err)
	}
	if same {
		if err := chmodIfNeeded(dst, mode); err != nil {
			return fail(err)
		}
		return transport.UploadResult{Skipped: true}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fail(fmt.Errorf("create parent directory: %w", err))
	}
	n, err := install(ctx, u.Src, dst, want, mode)
	if err != nil {
		return fail(err)
	}
	return transport.UploadResult{Bytes: n}, nil
}

// hasSHA256 reports whether path is a regular file whose SHA-256 is want.
// A missing file, a symbolic link or another non-regular file is not; a
// directory is an error.
func hasSHA256(ctx context.Context, path, want string) (bool, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case fi.IsDir():
		return false, errIsDir
	case !fi.Mode().IsRegular():
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := copyChunks(ctx, h, f, nil); err != nil {
		return false, fmt.Errorf("hash existing file: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)) == want, nil
}

func chmodIfNeeded(path string, mode os.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == mode {
		return nil
	}
	return os.Chmod(path, mode)
}

// install copies src to a temporary file beside dst, checks its hash,
// syncs it, sets mode, renames it over dst and syncs the directory. The
// temporary file is removed on any failure.
func install(ctx context.Context, src, dst, want string, mode os.FileMode) (n int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("open source: %w", err)
	}
	defer in.Close()
	dir := filepath.Dir(dst)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(dst)+".golive-*")
	if err != nil {
		return 0, fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	if n, err = copyChunks(ctx, tmp, in, h); err != nil {
		return n, fmt.Errorf("copy %s: %w", src, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return n, fmt.Errorf("source %s changed after verification: sha256 %s, want %s", src, got, want)
	}
	if err = tmp.Chmod(mode); err != nil {
		return n, err
	}
	if err = tmp.Sync(); err != nil {
		return n, err
	}
	if err = tmp.Close(); err != nil {
		return n, err
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return n, err
	}
	if err := syncDir(dir); err != nil {
		// The file is in place; only its durability is in doubt.
		return n, fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return n, nil
}

// copyChunks copies r to w (and to h when not nil) through one fixed
// buffer, checking ctx between chunks.
func copyChunks(ctx context.Context, w io.Writer, r io.Reader, h hash.Hash) (int64, error) {
	buf := make([]byte, copyBufferSize)
	var n int64
	for {
		if err := transport.ContextError(ctx); err != nil {
			return n, err
		}
		k, rerr := r.Read(buf)
		if k > 0 {
			if h != nil {
				h.Write(buf[:k])
			}
			if _, err := w.Write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
