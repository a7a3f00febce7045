package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sessionPlan runs three steps on every host, in batches h0, h1+h2,
// h3+h4; the first is a prepare step; the second times out on h1.
const sessionPlan = `golive: 1
name: e2e-session
description: Steps of a host pipelined on one ssh session
owner: e2e
contacts: ["e2e@example.com"]
success_criteria: "steps ran"

targets:
  defaults:
    transport: ssh
    user: root
    identity_file: id_ed25519
    known_hosts: known_hosts
    dir: /srv/demo
  inventory: inventory.ini

stages:
  - name: web
    on: web
    strategy:
      canary: 1
      batch: 2
      max_failed: 0
    steps:
      - name: first
        prepare: true
        run: |
          echo "$PPID $(cat /proc/$PPID/comm)" >ppid-first
          printf 'no newline'
      - name: second
        run: |
          echo "$PPID $(cat /proc/$PPID/comm)" >ppid-second
          if [ "$GOLIVE_HOST" = h1 ]; then sleep 300 & echo $! >bg.pid; wait; fi
        timeout: 3s
      - name: third
        run: touch third-ran
`

// The steps of a host run one after another over one SSH session (the
// same parent shell on the host), also when the first was run ahead
// (prepare: true) while the batch before switched; each is started only
// after the one before it ended: a step that times out is killed with its
// process group, and the step after it is never sent. The hosts of the
// batch after the failed one were prepared, but went no further.
func TestStepsShareOneSessionOverSSH(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	writeFile(t, w.plan, []byte(sessionPlan))
	r := w.mustExit(1, "run", "-r", "1.0")
	s := w.status("last")
	if !strings.Contains(r.Output(), "second") {
		t.Errorf("the output does not name the step that timed out\n%s", r)
	}
	for i, h := range w.f.Hosts {
		dir := filepath.Join(h.SrvDir, "demo")
		first, err1 := os.ReadFile(filepath.Join(dir, "ppid-first"))
		second, err2 := os.ReadFile(filepath.Join(dir, "ppid-second"))
		if err1 != nil {
			t.Errorf("%s: the prepare step did not run: %v\n%s", h.Name, err1, w.logsOf(s.ID))
			continue
		}
		if i >= 3 { // the last batch: prepared ahead only
			if err2 == nil {
				t.Errorf("%s: ran the step after its prepare step, though the batch before failed", h.Name)
			}
			continue
		}
		if err2 != nil {
			t.Errorf("%s: the second step did not run: %v\n%s", h.Name, err2, w.logsOf(s.ID))
			continue
		}
		// Over separate sessions each step's shell is a child of sshd;
		// over one session, of the same shell that reads the steps.
		if string(first) != string(second) || strings.Contains(string(first), "sshd") {
			t.Errorf("%s: steps ran under parents %q and %q, want one shell (not sshd): not one session", h.Name, first, second)
		}
		_, err := os.Stat(filepath.Join(dir, "third-ran"))
		if h.Name == "h1" {
			if err == nil {
				t.Errorf("h1: the step after the one that timed out ran")
			}
			b, err := os.ReadFile(filepath.Join(dir, "bg.pid"))
			if err != nil {
				t.Fatalf("h1: %v", err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if pid <= 0 || w.alive(i, pid) {
				t.Errorf("h1: the timed-out step's background process %d still runs", pid)
			}
		}
	}
	logs := w.logsOf(s.ID)
	if !strings.Contains(logs, "timed out after 3s") {
		t.Errorf("the journal does not record the timeout\n%s", logs)
	}
}
