package local_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// makeReadOnly makes dir unwritable: by mode for an ordinary user, with the
// immutable attribute for root (who ignores modes).
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root and cannot make %s immutable: %v %s", dir, err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
}

func TestUploadReadOnlyDir(t *testing.T) {
	t.Parallel()
	host := t.TempDir()
	conn := dial(t, &local.Transport{}, host)
	ro := filepath.Join(host, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	makeReadOnly(t, ro)
	src, sum := transporttest.Source(t, "content")
	_, err := conn.Upload(context.Background(), transport.Upload{Src: src, SHA256: sum, To: "ro/app"})
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Upload into read-only dir = %v, want a permission error", err)
	}
	if !strings.Contains(err.Error(), "create temporary file in "+ro) {
		t.Errorf("error %q does not say what could not be done where", err)
	}
	t.Logf("error: %v", err)
}
