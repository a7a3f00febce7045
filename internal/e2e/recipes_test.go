package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// uses: release-dir over SSH: release 1.0; 1.1 fails on the last host
// (its gate step) and every host is backed out to 1.0, with 1.1's files
// gone; then 1.1 goes live, and keep: 1 still keeps 1.0 (the previous).
func TestReleaseDirOverSSH(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	plan, err := os.ReadFile(filepath.Join("testdata", "recipes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, w.plan, plan)
	w.build("1.0", "1.1")

	r := w.release("1.0")
	if !regexp.MustCompile(`h1 +release-dir/switch +ok`).MatchString(r.Stdout) {
		t.Errorf("no release-dir/switch step in the run's output\n%s", r)
	}
	if logs := w.logsOf("last"); !regexp.MustCompile(`sha256 [0-9a-f]{64} verified`).MatchString(logs) {
		t.Errorf("the verify step did not hash the archive on the hosts\n%s", logs)
	}

	w.failAt(3, "gate")
	w.mustExit(1, "run", "-r", "1.1")
	w.assertState("last", "backed_out")
	w.assertServing("1.0")
	for _, h := range w.f.Hosts {
		for _, p := range []string{"releases/1.1", "releases/1.1.archive"} {
			if _, err := os.Lstat(filepath.Join(h.SrvDir, "demo", p)); err == nil {
				t.Errorf("%s: %s is left after 1.1 was backed out", h.Name, p)
			}
		}
	}

	if err := os.Remove(filepath.Join(w.sync(3), "fail-gate")); err != nil {
		t.Fatal(err)
	}
	w.release("1.1")
	for _, h := range w.f.Hosts {
		if _, err := os.Stat(filepath.Join(h.SrvDir, "demo", "releases", "1.0", "demo")); err != nil {
			t.Errorf("%s: keep: 1 removed the previous release 1.0: %v", h.Name, err)
		}
	}
}
