package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/pgtest"
)

// TestThirdSignalEndsAWaitForPostgreSQL: a run on a PostgreSQL store waits
// out an outage (up to a minute) to journal what it did; an operator's
// third interrupt makes it give up at once: golive exits well before the
// minute, the run left for `golive resume`.
func TestThirdSignalEndsAWaitForPostgreSQL(t *testing.T) {
	srv, err := pgtest.Start()
	if err != nil {
		t.Skipf("no PostgreSQL for this test: %v", err)
	}
	t.Cleanup(srv.Stop)
	dir := t.TempDir()
	started, goOn := filepath.Join(dir, "started"), filepath.Join(dir, "go")
	c := newCLI(t, fmt.Sprintf("golive: 1\nname: shop\ntargets:\n  hosts:\n    h1: {transport: local, dir: hosts/h1, roles: [web]}\n"+
		"stages:\n  - {name: web, on: web, steps: [{name: s, run: 'touch %s; i=0; while [ ! -e %s ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done', backout: 'true'}]}\n",
		started, goOn), map[string]string{})
	c.Store = srv.NewDatabase(t)
	p := c.Start("run", "-r", "1.0")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			p.Kill()
			t.Fatalf("the step did not start\n%s", p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.Down(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goOn, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the step ends; its journal entry waits for the store
	if p.Exited() {
		t.Fatalf("golive did not wait for PostgreSQL\n%s", p.Output())
	}
	for range 3 {
		syscall.Kill(p.Pid(), syscall.SIGINT)
		time.Sleep(200 * time.Millisecond)
	}
	sent := time.Now()
	r := p.Wait()
	if took := time.Since(sent); took > 25*time.Second {
		t.Errorf("golive ended %v after the third signal: it kept waiting for PostgreSQL\n%s", took, r)
	}
	if r.Code != 4 {
		t.Errorf("exit %d after the third signal, want 4\n%s", r.Code, r)
	}
}
