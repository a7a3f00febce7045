package local_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	"github.com/golive-dev/golive/internal/transport/transporttest"
)

// Dial creates a missing host directory with its parents, and commands run
// there.
func TestDialCreatesDir(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "host", "dir")
	conn := dial(t, &local.Transport{}, root)
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("Dial did not create %s: %v", root, err)
	}
	var out bytes.Buffer
	res, err := conn.Run(context.Background(), transport.Command{Script: "pwd -P", Stdout: &out})
	want, _ := filepath.EvalSymlinks(root)
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != want {
		t.Errorf("Run = %+v, %v, output %q; want %s", res, err, out.String(), want)
	}
}

// A script inherits the controller's environment; Command.Env overrides it.
func TestRunEnvironment(t *testing.T) {
	t.Setenv("GOLIVE_TEST_INHERITED", "inherited")
	t.Setenv("GOLIVE_TEST_OVERRIDDEN", "old")
	conn := dial(t, &local.Transport{}, t.TempDir())
	var out bytes.Buffer
	res, err := conn.Run(context.Background(), transport.Command{
		Script: `printf '%s|%s' "$GOLIVE_TEST_INHERITED" "$GOLIVE_TEST_OVERRIDDEN"`,
		Env:    map[string]string{"GOLIVE_TEST_OVERRIDDEN": "new"},
		Stdout: &out, Stderr: &out,
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v; output %q", res, err, out.String())
	}
	if want := "inherited|new"; out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
}

// A background process left running after a successful script must not
// make Run wait for it (longer than WaitDelay).
func TestRunLeftoverBackgroundProcess(t *testing.T) {
	t.Parallel()
	conn := dial(t, &local.Transport{WaitDelay: 200 * time.Millisecond}, t.TempDir())
	var out bytes.Buffer
	res, err := transporttest.RunGuarded(t, context.Background(), conn, transport.Command{Script: "sleep 300 & echo $!", Stdout: &out})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v; want exit 0, nil", res, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("output %q: not a pid", out.String())
	}
	if proc, err := os.FindProcess(pid); err == nil {
		proc.Kill()
	}
}

func BenchmarkRunTrue(b *testing.B) {
	conn := dial(b, &local.Transport{}, b.TempDir())
	ctx := context.Background()
	for b.Loop() {
		res, err := conn.Run(ctx, transport.Command{Script: "true"})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("Run = %+v, %v", res, err)
		}
	}
}
