package check_test

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

// Tests written against mutants that survived the suite (issue 16): each
// fails on the bug named in its comment.

// TestCommandPathShownUpTo255Bytes: a command's path is shown when it is
// shorter than 256 bytes; a longer one is only "found".
func TestCommandPathShownUpTo255Bytes(t *testing.T) {
	f := &rollout.Fact{Kind: "command", Name: "x"}
	for _, c := range []struct {
		n    int
		want string
	}{{255, "at /"}, {256, "found"}} {
		path := "/" + strings.Repeat("a", c.n-1)
		r := check.JudgeFact(f, map[string]string{"found": "yes", "path": path}, "")
		if !r.OK || !strings.HasPrefix(r.Found, c.want) {
			t.Errorf("path of %d bytes: %+v, want OK and found %q...", c.n, r, c.want)
		}
	}
}

// TestSystemdServiceStates: a systemd unit that is active or reloading is
// running; any other state is stopped.
func TestSystemdServiceStates(t *testing.T) {
	for active, running := range map[string]bool{"active": true, "reloading": true, "inactive": false, "failed": false} {
		f := &rollout.Fact{Kind: "service", Name: "nginx", State: "running"}
		r := check.JudgeFact(f, map[string]string{"via": "systemd", "load": "loaded", "active": active}, "")
		if r.OK != running || r.Unknown {
			t.Errorf("active=%s: %+v, want OK=%v", active, r, running)
		}
	}
}

// TestParseFactsExitCode: the current command's exit code is -1 when the
// script did not report one or reported one above 255.
func TestParseFactsExitCode(t *testing.T) {
	const n = "golive-fact-abc"
	h := func(s string) string { return hex.EncodeToString([]byte(s)) }
	for out, want := range map[string]int{
		n + " end done " + h("ok"):  -1,
		n + " c rc " + h("255"):     255,
		n + " c rc " + h("256"):     -1,
		n + " c rc " + h("0"):       0,
		n + " c rc " + h("-1"):      -1,
		n + " c rc " + h("1") + "x": -1,
	} {
		if g := check.ParseFacts(out, n, 1); g.CurrentRC != want {
			t.Errorf("%q: CurrentRC = %d, want %d", out, g.CurrentRC, want)
		}
	}
}

// TestDialerResolvesLocalDir: a local host's dir written in the plan is
// resolved (beside the plan), not taken from the working directory.
func TestDialerResolvesLocalDir(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := &check.Dialer{
		Transports: map[string]transport.Transport{"local": &local.Transport{}},
		Resolve:    func(p string) string { return filepath.Join(root, p) },
		PlanDir:    root,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := d.Dial(ctx, &rollout.Host{Name: "h1", Transport: "local", Dir: "site"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out strings.Builder
	if _, err := c.Run(ctx, transport.Command{Script: "pwd -P", Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.EvalSymlinks(filepath.Join(root, "site"))
	if got := strings.TrimSpace(out.String()); got != want {
		t.Fatalf("ran in %q, want %q", got, want)
	}
}

// TestDiskFreeUpTo2To52KiB: free space is read up to 2^52 KiB (4 EiB,
// whose bytes still fit an int64); a larger number is unknown, not
// wrapped around.
func TestDiskFreeUpTo2To52KiB(t *testing.T) {
	f := &rollout.Fact{Kind: "disk", Path: "/", Bytes: 1}
	for kib, known := range map[string]bool{"4503599627370496": true, "4503599627370497": false} {
		r := check.JudgeFact(f, map[string]string{"avail_kib": kib}, "")
		if r.Unknown == known || r.OK != known {
			t.Errorf("avail_kib %s: %+v, want known=%v", kib, r, known)
		}
	}
}
