package local_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
)

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	conn := dial(t, &local.Transport{}, t.TempDir())
	tests := []struct {
		name, script string
		want         int
	}{
		{"true", "true", 0},
		{"empty script", "", 0},
		{"false", "false", 1},
		{"exit 3", "exit 3", 3},
		{"exit 255", "exit 255", 255},
		{"not found", "no-such-command-golive", 127},
		{"killed by own signal", "kill -TERM $$", 128 + 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := conn.Run(context.Background(), transport.Command{Script: tt.script})
			if err != nil {
				t.Fatalf("Run: unexpected error %v (a non-zero exit is not an error)", err)
			}
			if res.ExitCode != tt.want {
				t.Errorf("ExitCode = %d, want %d", res.ExitCode, tt.want)
			}
			if res.Duration <= 0 {
				t.Errorf("Duration = %v, want > 0", res.Duration)
			}
		})
	}
}

func TestRunEnvAndDir(t *testing.T) {
	t.Setenv("GOLIVE_TEST_INHERITED", "inherited")
	t.Setenv("GOLIVE_TEST_OVERRIDDEN", "old")
	root := filepath.Join(t.TempDir(), "host", "dir") // Dial creates it
	conn := dial(t, &local.Transport{}, root)
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	env := map[string]string{
		"GOLIVE_RELEASE":         "1.4.2",
		"GOLIVE_TEST_OVERRIDDEN": "new",
		"SPACES":                 "a  b 'c' $d",
	}
	script := `printf '%s|%s|%s|%s|%s' "$GOLIVE_RELEASE" "$GOLIVE_TEST_INHERITED" "$GOLIVE_TEST_OVERRIDDEN" "$SPACES" "$(pwd -P)"`
	tests := []struct{ name, dir, wantDir string }{
		{"default is host dir", "", root},
		{"relative to host dir", "sub", filepath.Join(root, "sub")},
		{"absolute", other, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := conn.Run(context.Background(), transport.Command{Script: script, Env: env, Dir: tt.dir, Stdout: &out, Stderr: &out})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("Run = %+v, %v; output %q", res, err, out.String())
			}
			wantDir, err := filepath.EvalSymlinks(tt.wantDir)
			if err != nil {
				t.Fatal(err)
			}
			want := "1.4.2|inherited|new|a  b 'c' $d|" + wantDir
			if out.String() != want {
				t.Errorf("output = %q, want %q", out.String(), want)
			}
		})
	}
}

func TestRunCannotStart(t *testing.T) {
	t.Parallel()
	conn := dial(t, &local.Transport{}, t.TempDir())
	tests := []struct {
		name string
		cmd  transport.Command
	}{
		{"missing dir", transport.Command{Script: "true", Dir: "no/such/dir"}},
		{"bad env name", transport.Command{Script: "true", Env: map[string]string{"A=B": "x"}}},
		{"env name with digit first", transport.Command{Script: "true", Env: map[string]string{"1A": "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := conn.Run(context.Background(), tt.cmd)
			if err == nil {
				t.Fatalf("Run = %+v, nil; want an error", res)
			}
			if res.ExitCode != -1 {
				t.Errorf("ExitCode = %d, want -1", res.ExitCode)
			}
			if !strings.HasPrefix(err.Error(), "local test: run: ") {
				t.Errorf("error %q lacks the prefix naming the host", err)
			}
		})
	}
}

func TestRunOutput(t *testing.T) {
	t.Parallel()
	conn := dial(t, &local.Transport{}, t.TempDir())
	const script = "echo 1; echo 2 >&2; echo 3; echo 4 >&2"
	t.Run("one writer keeps order", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := conn.Run(context.Background(), transport.Command{Script: script, Stdout: &out, Stderr: &out}); err != nil {
			t.Fatal(err)
		}
		if got, want := out.String(), "1\n2\n3\n4\n"; got != want {
			t.Errorf("output = %q, want %q", got, want)
		}
	})
	t.Run("two writers", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if _, err := conn.Run(context.Background(), transport.Command{Script: script, Stdout: &stdout, Stderr: &stderr}); err != nil {
			t.Fatal(err)
		}
		if stdout.String() != "1\n3\n" || stderr.String() != "2\n4\n" {
			t.Errorf("stdout %q, stderr %q; want %q, %q", stdout.String(), stderr.String(), "1\n3\n", "2\n4\n")
		}
	})
	t.Run("large interleaved output", func(t *testing.T) {
		var out bytes.Buffer
		script := "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2"
		if _, err := conn.Run(context.Background(), transport.Command{Script: script, Stdout: &out, Stderr: &out}); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 2000000 {
			t.Errorf("got %d bytes, want 2000000", out.Len())
		}
	})
	t.Run("nil writers discard", func(t *testing.T) {
		res, err := conn.Run(context.Background(), transport.Command{Script: "echo out; echo err >&2; exit 5"})
		if err != nil || res.ExitCode != 5 {
			t.Errorf("Run = %+v, %v; want exit 5", res, err)
		}
	})
}

type failingWriter struct{}

var errWriterBroken = errors.New("writer broken")

func (failingWriter) Write([]byte) (int, error) { return 0, errWriterBroken }

// A broken writer must neither block the script (full pipe) nor hide its
// exit status.
func TestRunOutputWriterFails(t *testing.T) {
	t.Parallel()
	conn := dial(t, &local.Transport{}, t.TempDir())
	cmd := transport.Command{Script: "head -c 1000000 /dev/zero; exit 4", Stdout: failingWriter{}}
	res, err := runGuarded(t, context.Background(), conn, cmd)
	if !errors.Is(err, errWriterBroken) {
		t.Errorf("err = %v, want it to wrap %v", err, errWriterBroken)
	}
	if res.ExitCode != 4 {
		t.Errorf("ExitCode = %d, want 4", res.ExitCode)
	}
}

// Output reaches the writer while the script is still running.
func TestRunStreamsOutput(t *testing.T) {
	t.Parallel()
	conn := dial(t, &local.Transport{Grace: 200 * time.Millisecond}, t.TempDir())
	out := newLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-out.ready
		cancel()
	}()
	_, err := runGuarded(t, ctx, conn, transport.Command{Script: "echo ready; sleep 300", Stdout: out})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if out.String() != "ready\n" {
		t.Errorf("output = %q, want %q", out.String(), "ready\n")
	}
}

// A background process left running after a successful script must not
// make Run wait for it.
func TestRunLeftoverBackgroundProcess(t *testing.T) {
	requireProc(t)
	t.Parallel()
	conn := dial(t, &local.Transport{WaitDelay: 200 * time.Millisecond}, t.TempDir())
	var out bytes.Buffer
	res, err := runGuarded(t, context.Background(), conn, transport.Command{Script: "sleep 300 & echo $!", Stdout: &out})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v; want exit 0, nil", res, err)
	}
	for _, p := range pids(t, out.String()) {
		if proc, err := os.FindProcess(p); err == nil {
			proc.Kill()
		}
	}
}
