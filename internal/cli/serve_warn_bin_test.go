package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/golivetest"
)

// TestServeWarnsInsecureHTTPOffLoopback: --insecure-http on an address
// other hosts can reach is logged as a warning (tokens in clear text); on
// loopback it is not.
func TestServeWarnsInsecureHTTPOffLoopback(t *testing.T) {
	const warning = "tokens cross the network in clear text"
	tokens := "tokens:\n  - name: alice\n    sha256: " + strings.Repeat("ab", 32) + "\n    roles: [viewer]\n"
	for addr, warned := range map[string]bool{"0.0.0.0:0": true, "127.0.0.1:0": false} {
		c := newCLI(t, "golive: 1\nname: shop\ntargets:\n  hosts:\n    h1: {transport: local, dir: hosts/h1, roles: [web]}\n"+
			"stages:\n  - {name: web, on: web, steps: [{name: s, run: 'true', backout: 'true'}]}\n",
			map[string]string{"tokens.yaml": tokens})
		// serve takes plan paths, not -f and --store: not c.Start.
		cmd := exec.Command(c.Bin, "serve", "--addr", addr, "--insecure-http", "--tokens", filepath.Join(c.Dir, "tokens.yaml"), c.Dir)
		var out golivetest.SyncBuffer
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = c.Dir, c.Env(), &out, &out
		cmd.WaitDelay = 5 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(out.String(), "serving") {
			select {
			case <-done:
				t.Fatalf("%s: golive serve ended:\n%s", addr, out.String())
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-done
				t.Fatalf("%s: golive serve did not start serving within 60s:\n%s", addr, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if strings.Contains(out.String(), warning) != warned {
			t.Errorf("%s: warning %q logged = %v, want %v:\n%s", addr, warning, !warned, warned, out.String())
		}
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("%s: golive serve did not stop on SIGINT", addr)
		}
	}
}
