package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusReadsAReadOnlyStoreThroughTheBinary: a command that only reads
// runs (status) reads a store on a read-only mount, which even root cannot
// write: it opens it read-only with a warning, instead of failing to open
// it for writing.
func TestStatusReadsAReadOnlyStoreThroughTheBinary(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a read-only bind mount")
	}
	c := newCLI(t, "golive: 1\nname: shop\ntargets:\n  hosts:\n    h1: {transport: local, dir: hosts/h1, roles: [web]}\n"+
		"stages:\n  - {name: web, on: web, steps: [{name: s, run: 'true', backout: 'true'}]}\n", map[string]string{})
	c.MustExit(0, "run", "-r", "1.0")
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", filepath.Dir(c.Store), ro).CombinedOutput(); err != nil {
		t.Skipf("bind mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", ro).Run() })
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v: %s", err, out)
	}
	cmd := exec.Command(c.Bin, "status", "last", "-f", c.Plan, "--store", filepath.Join(ro, filepath.Base(c.Store)))
	cmd.Dir, cmd.Env = c.Dir, c.Env()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || !strings.Contains(stdout.String(), "succeeded") || !strings.Contains(stderr.String(), "golive: warning:") {
		t.Errorf("status on a read-only store: %v\n--- stdout:\n%s--- stderr:\n%s", err, stdout.String(), stderr.String())
	}
}
