package ssh_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// noShaPath is a PATH holding the tools the transport needs but neither
// sha256sum nor shasum.
func noShaPath(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, tool := range []string{"mkdir", "mv", "sleep", "tr", "ps", "cat"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// An upload interrupted by its context leaves neither the destination nor
// a temporary file behind.
func TestUploadCanceledMidway(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{setsid: true})
	h := f.host(ts)
	conn := dial(t, &sshtr.Transport{}, h)
	src, sum := transporttest.LargeSource(t, 64<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := conn.Upload(ctx, transport.Upload{Src: src, SHA256: sum, To: "big"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Upload = %v, want context.DeadlineExceeded", err)
	}
	if _, err := os.Stat(filepath.Join(h.Dir, "big")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("destination exists after a cancelled upload: %v", err)
	}
	transporttest.AssertNoTemp(t, h.Dir)
}
