package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
)

// secretsPlan prints every secret on every host of the fleet, over SSH, in
// every way that once leaked, while the test samples the hosts' `ps`; h1
// fails, so every host is backed out and its backout prints them too.
const secretsPlan = `golive: 1
name: e2e-secrets
targets:
  defaults:
    transport: ssh
    user: root
    identity_file: id_ed25519
    known_hosts: known_hosts
    dir: /srv/secrets
  inventory: inventory.ini
stages:
  - name: web
    on: web
    strategy: {batch: 5}
    steps:
      - name: leak
        env: {TOKEN: "${{ secrets.ENVTOK }}"}
        run: |
          printf 'env %s\n' "$TOKEN"
          printf '%s\n' '${{ secrets.JSON }}'
          printf '%s\n' '${{ secrets.PEM }}' | sed 's/^/    /'
          s='${{ secrets.LONG }}'
          printf '%s' "$s" | head -c 1000; sleep 0.3
          printf '%s' "$s" | tail -c +1001 | head -c 3100; sleep 0.3
          printf '%s\n' "$s" | tail -c +4101
          sleep 2
          head -c 190 /dev/zero | tr '\0' x; printf '%s\n' '${{ secrets.JSON }}'
          test "$GOLIVE_HOST" != h1
        backout: |
          printf '%s\n' '${{ secrets.PEM }}'
          head -c 190 /dev/zero | tr '\0' y; printf '%s\n' '${{ secrets.LONG }}'
`

// TestSecretsOverSSH: no piece of a secret is in the targets' process
// lists (sampled with ps on the host while the steps run), on golive's
// terminal, in its journal, or in what logs, report and status print.
func TestSecretsOverSSH(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	writeFile(t, w.plan, []byte(secretsPlan))
	secrets := golivetest.Secrets()
	w.cli.ExtraEnv = golivetest.SecretsEnv(secrets)
	leaks := golivetest.NewLeaks(secrets)
	envLeaks := golivetest.NewLeaks(map[string]string{"JSON": secrets["JSON"], "PEM": secrets["PEM"], "LONG": secrets["LONG"]})

	p := w.startGolive("run", "-r", "1.0")
	// The fleet's hosts share the controller's process table: sample it
	// (command lines of all, environments of all but golive), and the
	// targets' own ps.
	stopCmd := leaks.SampleProcs(20*time.Millisecond, func(int) bool { return false })
	stopEnv := envLeaks.SampleProcs(20*time.Millisecond, func(pid int) bool { return pid != p.Pid() })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	psSamples := 0
	for i := range w.f.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				out, err := w.f.Exec(ctx, i, "ps -eo args")
				if err == nil {
					leaks.Check(fmt.Sprintf("ps on %s", w.f.Hosts[i].Name), []byte(out))
					if i == 0 {
						psSamples++
					}
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	r := p.Wait()
	cancel()
	wg.Wait()
	t.Logf("samples: %d command-line sweeps, %d environment sweeps, %d ps on h0", stopCmd(), stopEnv(), psSamples)
	if r.Code != 1 {
		t.Fatalf("run: want exit 1 (h1 failed, every host backed out)\n%s", r)
	}
	leaks.Check("golive run stdout", []byte(r.Stdout))
	leaks.Check("golive run stderr", []byte(r.Stderr))
	for _, args := range [][]string{{"logs", "last"}, {"report", "last"}, {"report", "last", "--json"}, {"status", "last"}} {
		r := w.golive(args...)
		leaks.Check("golive "+strings.Join(args, " "), []byte(r.Output()))
		if args[0] == "logs" && !strings.Contains(r.Stdout, "env ***") {
			t.Errorf("logs lack the redacted env line: the step did not run as the test expects\n%s", r.Stdout)
		}
	}
	leaks.CheckFiles(w.store, w.store+"-wal", w.store+"-shm")
	if _, err := os.Stat(w.store); err != nil {
		t.Fatalf("no journal at %s: %v", w.store, err)
	}
	for _, f := range append(leaks.Found(), envLeaks.Found()...) {
		t.Error(f)
	}
}
