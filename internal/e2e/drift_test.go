package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/fleet"
	"github.com/golive-dev/golive/internal/golivetest"
)

// driftPlan releases a version file to /srv/app/current on every host of
// the fleet over ssh; targets.current reads it back. A host fails its step
// when /srv/fail exists.
const driftPlan = `golive: 1
name: drift
targets:
  defaults: {transport: ssh, user: root, identity_file: id_ed25519, known_hosts: known_hosts, dir: /srv}
  inventory: inventory.ini
  current: {run: 'if [ -e /srv/app/current ]; then cat /srv/app/current; fi'}
stages:
  - name: web
    on: web
    steps:
      - name: switch
        run: 'mkdir -p /srv/app && echo "$GOLIVE_RELEASE" > /srv/app/current && test ! -e /srv/fail'
        backout: 'if [ -n "$GOLIVE_PREVIOUS" ]; then echo "$GOLIVE_PREVIOUS" > /srv/app/current; else rm -f /srv/app/current; fi'
    health:
      - {name: serves, run: 'test "$(cat /srv/app/current)" = "$GOLIVE_RELEASE"', timeout: 5s, interval: 100ms}
`

// TestDriftOverSSH: release on a real sshd fleet; change one host by hand
// and the review is a no-go naming it (found, recorded, the run); put it
// back and it is a go; after a failed release backed out, and after a
// requested backout, recorded and found agree again on every host.
func TestDriftOverSSH(t *testing.T) {
	f := fleet.Require(t, 3)
	dir := t.TempDir()
	cli := &golivetest.CLI{T: t, Bin: golive, Dir: dir, Plan: filepath.Join(dir, "golive.yaml"),
		Store: filepath.Join(dir, "state.db"), User: "e2e", Timeout: cmdTimeout}
	writeFleetFiles(t, f, dir)
	writeFile(t, cli.Plan, []byte(driftPlan))
	current := func(i int) string { return filepath.Join(f.Hosts[i].SrvDir, "app", "current") }
	agree := func(when string) {
		t.Helper()
		r := cli.MustExit(0, "status", "--live")
		for _, h := range f.Hosts {
			if !regexp.MustCompile(`(?m)^` + h.Name + ` +(\S+) +(\S+) +r-\S+ +ok$`).MatchString(r.Stdout) {
				t.Errorf("%s: status --live does not show %s in agreement:\n%s", when, h.Name, r.Stdout)
			}
		}
		if strings.Contains(r.Stdout, "DRIFT") {
			t.Errorf("%s: drift:\n%s", when, r.Stdout)
		}
	}

	cli.MustExit(0, "run", "-r", "1.0")
	agree("after releasing 1.0")

	// By hand: h1 gets 0.9.
	writeFile(t, current(1), []byte("0.9\n"))
	r := cli.MustExit(3, "review", "-r", "2.0")
	if !regexp.MustCompile(`✘ drift on h1: h1 runs 0.9, recorded 1.0 by run r-\S+`).MatchString(r.Stdout) {
		t.Errorf("review does not name h1's drift:\n%s", r.Stdout)
	}
	if strings.Contains(r.Stdout, "✘ drift on h0") || strings.Contains(r.Stdout, "✘ drift on h2") {
		t.Errorf("drift reported on untouched hosts:\n%s", r.Stdout)
	}
	if r := cli.MustExit(0, "status", "--live"); !regexp.MustCompile(`(?m)^h1 +0\.9 +1\.0 +r-\S+ +DRIFT`).MatchString(r.Stdout) {
		t.Errorf("status --live does not show h1's two releases:\n%s", r.Stdout)
	}
	// Put back: go.
	writeFile(t, current(1), []byte("1.0\n"))
	cli.MustExit(0, "review", "-r", "2.0")

	// 2.0 fails on h2 and is backed out cleanly (exit 1).
	writeFile(t, filepath.Join(f.Hosts[2].SrvDir, "fail"), nil)
	cli.MustExit(1, "run", "-r", "2.0")
	agree("after 2.0 was backed out")
	if err := os.Remove(filepath.Join(f.Hosts[2].SrvDir, "fail")); err != nil {
		t.Fatal(err)
	}

	// 2.0 released, then backed out on request.
	cli.MustExit(0, "run", "-r", "2.0")
	agree("after releasing 2.0")
	if data, _ := os.ReadFile(current(0)); strings.TrimSpace(string(data)) != "2.0" {
		t.Fatalf("h0 runs %q after releasing 2.0", data)
	}
	if r := cli.Run("backout", "last"); r.Code != 0 {
		t.Fatalf("backout last: %s", r)
	}
	agree("after backing out 2.0")
	cli.MustExit(0, "review", "-r", "2.0")
}
