package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// A non-zero exit is a status, not an error; a script killed by its own
// signal N exits 128+N.
func testExitCodes(t *testing.T, h Harness) {
	conn, _ := dial(t, h, shortGrace)
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
		{"killed by own TERM", "kill -TERM $$", 128 + 15},
		{"killed by own KILL", "kill -s KILL $$", 128 + 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := RunGuarded(t, context.Background(), conn, transport.Command{Script: tt.script})
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

// A command that cannot be started is an error with ExitCode -1.
// (Whether the error names a missing directory is not checked: the local
// transport reports "fork/exec /bin/sh: no such file or directory".)
func testCannotStart(t *testing.T, h Harness) {
	conn, _ := dial(t, h, shortGrace)
	tests := []struct {
		name string
		cmd  transport.Command
		want string
	}{
		{"missing dir", transport.Command{Script: "true", Dir: "no/such/dir"}, ""},
		{"bad env name", transport.Command{Script: "true", Env: map[string]string{"A=B": "x"}}, "not a valid variable name"},
		{"env name with digit first", transport.Command{Script: "true", Env: map[string]string{"1A": "x"}}, "not a valid variable name"},
		{"env name with shell syntax", transport.Command{Script: "true", Env: map[string]string{"A;rm": "x"}}, "not a valid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := RunGuarded(t, context.Background(), conn, tt.cmd)
			if err == nil {
				t.Fatalf("Run = %+v, nil; want an error", res)
			}
			if res.ExitCode != -1 {
				t.Errorf("ExitCode = %d, want -1", res.ExitCode)
			}
			if !strings.HasPrefix(err.Error(), h.ErrorPrefix+"run: ") {
				t.Errorf("error %q lacks the prefix %q naming the host", err, h.ErrorPrefix+"run: ")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// Command.Env reaches the script verbatim, whatever the shell would make
// of the value.
func testEnvQuoting(t *testing.T, h Harness) {
	conn, _ := dial(t, h, shortGrace)
	env := map[string]string{
		"GOLIVE_RELEASE": "1.4.2",
		"SINGLE":         `it's 'quoted'`,
		"DOUBLE":         `say "hi"`,
		"SPACES":         "a  b\tc ",
		"DOLLAR":         "$HOME ${PATH} $(id) `id` $$ $d",
		"NEWLINE":        "line1\nline2\n",
		"BACK":           `back\slash\n`,
		"EMPTY":          "",
		"GLOB":           "* ? [a]",
	}
	var script strings.Builder
	for name := range env {
		fmt.Fprintf(&script, "printf '%s=%%s\\0' \"$%s\"\n", name, name)
	}
	var out, errOut bytes.Buffer
	res, err := RunGuarded(t, context.Background(), conn, transport.Command{Script: script.String(), Env: env, Stdout: &out, Stderr: &errOut})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Run = %+v, %v; stderr %q", res, err, errOut.String())
	}
	got := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00") {
		name, value, _ := strings.Cut(kv, "=")
		got[name] = value
	}
	for name, want := range env {
		if got[name] != want {
			t.Errorf("$%s = %q, want %q", name, got[name], want)
		}
	}
}

// Command.Dir: "" is the host directory, a relative one resolves against
// it, an absolute one is used as it is.
func testWorkingDirectory(t *testing.T, h Harness) {
	conn, root := dial(t, h, shortGrace)
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	tests := []struct{ name, dir, want string }{
		{"default is host dir", "", root},
		{"relative to host dir", "sub", filepath.Join(root, "sub")},
		{"absolute", other, other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			res, err := RunGuarded(t, context.Background(), conn, transport.Command{Script: "pwd -P", Dir: tt.dir, Stdout: &out, Stderr: &out})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("Run = %+v, %v; output %q", res, err, out.String())
			}
			want, err := filepath.EvalSymlinks(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(out.String(), "\n"); got != want {
				t.Errorf("Dir %q: working directory %q, want %q", tt.dir, got, want)
			}
		})
	}
}

func testOutput(t *testing.T, h Harness) {
	conn, _ := dial(t, h, shortGrace)
	const script = "echo 1; echo 2 >&2; echo 3; echo 4 >&2"
	t.Run("one writer keeps order", func(t *testing.T) {
		var out bytes.Buffer
		if _, err := RunGuarded(t, context.Background(), conn, transport.Command{Script: script, Stdout: &out, Stderr: &out}); err != nil {
			t.Fatal(err)
		}
		if got, want := out.String(), "1\n2\n3\n4\n"; got != want {
			t.Errorf("output = %q, want %q", got, want)
		}
	})
	t.Run("two writers", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if _, err := RunGuarded(t, context.Background(), conn, transport.Command{Script: script, Stdout: &stdout, Stderr: &stderr}); err != nil {
			t.Fatal(err)
		}
		if stdout.String() != "1\n3\n" || stderr.String() != "2\n4\n" {
			t.Errorf("stdout %q, stderr %q; want %q, %q", stdout.String(), stderr.String(), "1\n3\n", "2\n4\n")
		}
	})
	t.Run("large interleaved output", func(t *testing.T) {
		var out bytes.Buffer
		script := "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2"
		if _, err := RunGuarded(t, context.Background(), conn, transport.Command{Script: script, Stdout: &out, Stderr: &out}); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 2000000 {
			t.Errorf("got %d bytes, want 2000000", out.Len())
		}
	})
	t.Run("nil writers discard", func(t *testing.T) {
		res, err := RunGuarded(t, context.Background(), conn, transport.Command{Script: "echo out; echo err >&2; exit 5"})
		if err != nil || res.ExitCode != 5 {
			t.Errorf("Run = %+v, %v; want exit 5", res, err)
		}
	})
}

type failingWriter struct{}

var errWriterBroken = errors.New("writer broken")

func (failingWriter) Write([]byte) (int, error) { return 0, errWriterBroken }

// A broken writer must neither block the script (full pipe or window) nor
// hide its exit status.
func testOutputWriterFails(t *testing.T, h Harness) {
	conn, _ := dial(t, h, shortGrace)
	cmd := transport.Command{Script: "head -c 1000000 /dev/zero; exit 4", Stdout: failingWriter{}}
	res, err := RunGuarded(t, context.Background(), conn, cmd)
	if !errors.Is(err, errWriterBroken) {
		t.Errorf("err = %v, want it to wrap %v", err, errWriterBroken)
	}
	if res.ExitCode != 4 {
		t.Errorf("ExitCode = %d, want 4", res.ExitCode)
	}
}

// Output reaches the writer while the script is still running.
func testStreamsOutput(t *testing.T, h Harness) {
	conn, dir := dial(t, h, shortGrace)
	out := NewLineWriter()
	done := make(chan error, 1)
	go func() {
		_, err := conn.Run(context.Background(), transport.Command{
			Script: `echo ready; while [ ! -e go ]; do sleep 0.02; done; echo done`,
			Stdout: out,
		})
		done <- err
	}()
	out.WaitReady(t) // the first line arrives while the script still runs
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || out.String() != "ready\ndone\n" {
			t.Errorf("Run: %v, output %q", err, out.String())
		}
	case <-time.After(HangGuard):
		t.Fatal("Run hung")
	}
}

// After Close, every method returns ErrClosed.
func testClosed(t *testing.T, h Harness) {
	conn, _ := dial(t, h, shortGrace)
	if err := conn.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := conn.Close(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := conn.Run(context.Background(), transport.Command{Script: "true"}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	if _, err := conn.Upload(context.Background(), transport.Upload{}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Upload after Close = %v, want ErrClosed", err)
	}
}
