package secrets_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/secrets"
)

func TestFileWarning(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secrets.env")
	if err := os.WriteFile(p, []byte("TOKEN=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := secrets.FileWarning(p); w != "" {
		t.Errorf("FileWarning(0600) = %q, want none", w)
	}
	for _, m := range []os.FileMode{0o640, 0o604, 0o644} {
		os.Chmod(p, m)
		if w := secrets.FileWarning(p); !strings.Contains(w, p) || !strings.Contains(w, "chmod 600") {
			t.Errorf("FileWarning(%04o) = %q", m, w)
		}
	}
	if w := secrets.FileWarning(""); w != "" {
		t.Errorf("FileWarning(no file) = %q", w)
	}
}
