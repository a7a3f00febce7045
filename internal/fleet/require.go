package fleet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// staleAfter is how old a dead process's fleet must be before Require
// removes it.
const staleAfter = 10 * time.Minute

const hint = "run ./scripts/test as root, which installs openssh-server and iproute2"

// Unavailable says why this machine cannot run a fleet, or returns "" when
// it can: not root, a command missing, network namespaces not permitted.
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "not root: a fleet needs root for network namespaces; " + hint
	}
	if _, err := os.Stat(SSHD); err != nil {
		return fmt.Sprintf("no %s (openssh-server); %s", SSHD, hint)
	}
	for _, c := range []struct{ cmd, pkg string }{
		{"ip", "iproute2"},
		{"ssh-keygen", "openssh-client"},
		{"unshare", "util-linux"},
		{"nsenter", "util-linux"},
	} {
		if _, err := exec.LookPath(c.cmd); err != nil {
			return fmt.Sprintf("no %s (%s); %s", c.cmd, c.pkg, hint)
		}
	}
	out, err := exec.Command("unshare", "--net", "--mount", "--uts", "true").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("network namespaces not permitted here (unshare --net: %v: %s)", err, strings.TrimSpace(string(out)))
	}
	return ""
}

// Require starts an n-host fleet for a test and closes it when the test
// ends (t.Cleanup). It skips the test, saying why, when the machine cannot
// run a fleet, and first removes fleets left behind by killed test runs.
func Require(t testing.TB, n int) *Fleet {
	t.Helper()
	if why := Unavailable(); why != "" {
		t.Skip("fleet: " + why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if removed, err := CleanupStale(ctx, staleAfter); err != nil {
		t.Logf("fleet: cleaning up stale fleets: %v", err)
	} else if len(removed) > 0 {
		t.Logf("fleet: removed stale fleets %v", removed)
	}
	f, err := Start(ctx, Options{N: n, Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("fleet: start %d hosts: %v", n, err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("%v", err)
		}
	})
	return f
}
