package crashtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/golivetest"
)

// storeFullPlan has two local hosts in two batches; on h2 the step fills
// the file system the store is on (a real disk full), then its next
// journal write fails.
const storeFullPlan = `golive: 1
name: full
description: the store's disk fills up mid-run
owner: crashtest
contacts: ["crashtest@example.com"]
success_criteria: "the run is left resumable"
targets:
  defaults: {transport: local}
  hosts:
    h1: {dir: %[1]q, roles: [web]}
    h2: {dir: %[2]q, roles: [web]}
stages:
  - name: web
    on: all
    strategy: {canary: 1, batch: 1, max_failed: 0}
    steps:
      - name: fill
        run: |
          if [ "$GOLIVE_HOST" = h2 ] && [ ! -e %[3]q ]; then dd if=/dev/zero of=%[4]q bs=4k 2>/dev/null; fi
          echo ok >release
        backout: rm -f release
`

// A store that fails mid-run (here: its disk is full) stops the run with
// exit 4, names the store, the run and what to do; the run is left
// running and locked (not "usage", exit 2). Once the disk has room again,
// `golive backout RUN` takes the run over and backs it out.
func TestStoreFullMidRun(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	stDir := filepath.Join(dir, "st")
	if err := os.Mkdir(stDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", stDir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", stDir).Run() })
	fill, done := filepath.Join(stDir, "fill"), filepath.Join(dir, "filled-once")
	h1, h2 := filepath.Join(dir, "h1"), filepath.Join(dir, "h2")
	plan := filepath.Join(dir, "golive.yaml")
	if err := os.WriteFile(plan, []byte(fmt.Sprintf(storeFullPlan, h1, h2, done, fill)), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: plan, Store: filepath.Join(stDir, "state.db"), User: "crashtest", Timeout: cmdTimeout}

	r := cli.Run("run", "-r", "1.0")
	if r.Code != 4 {
		t.Fatalf("a run whose store fills up exited %d, want 4\n%s", r.Code, r)
	}
	for _, want := range []string{"the state store (" + cli.Store + ") failed", "disk is full", "golive resume r-", "golive backout r-"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the error does not say %q\n%s", want, r)
		}
	}
	if strings.Count(r.Stderr, "failed during run") > 0 {
		t.Errorf("the store failure is reported twice\n%s", r)
	}
	// Make room again; the run is still there, running and locked.
	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(done, nil, 0o644)
	st := cli.MustExit(0, "status", "last")
	if !strings.Contains(st.Stdout, "running, but its controller is gone") {
		t.Errorf("after the store failure the run is not left running\n%s", st)
	}
	run := strings.Fields(st.Stdout)[1]
	locked := cli.MustExit(3, "run", "-r", "2.0")
	if !strings.Contains(locked.Stderr, "locked by run "+run) {
		t.Errorf("the environment is not locked by the unfinished run\n%s", locked)
	}
	cli.MustExit(0, "backout", run)
	for _, h := range []string{h1, h2} {
		if _, err := os.Stat(filepath.Join(h, "release")); !os.IsNotExist(err) {
			t.Errorf("host %s was not backed out (%v)", h, err)
		}
	}
	cli.MustExit(0, "run", "-r", "2.0")
}
