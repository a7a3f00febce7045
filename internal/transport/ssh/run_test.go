package ssh_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/transport"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
)

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	tests := []struct {
		script string
		want   int
	}{
		{"true", 0},
		{"exit 3", 3},
		{"false", 1},
		{"kill -s KILL $$", 137},
		{"nonexistent-command-xyz", 127},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			res, err := runGuarded(t, context.Background(), conn, transport.Command{Script: tt.script})
			if err != nil || res.ExitCode != tt.want {
				t.Errorf("Run = %+v, %v; want exit %d, nil", res, err, tt.want)
			}
		})
	}
}

func TestRunEnvQuoting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	env := map[string]string{
		"SINGLE":  `it's 'quoted'`,
		"DOUBLE":  `say "hi"`,
		"SPACES":  "a  b\tc ",
		"DOLLAR":  "$HOME ${PATH} $(id) `id` $$",
		"NEWLINE": "line1\nline2\n",
		"BACK":    `back\slash\n`,
		"EMPTY":   "",
		"GLOB":    "* ? [a]",
	}
	var script strings.Builder
	for name := range env {
		fmt.Fprintf(&script, "printf '%s=%%s\\0' \"$%s\"\n", name, name)
	}
	var out, errOut bytes.Buffer
	res, err := runGuarded(t, context.Background(), conn, transport.Command{Script: script.String(), Env: env, Stdout: &out, Stderr: &errOut})
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

func TestRunInvalidEnvName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	_, err := conn.Run(context.Background(), transport.Command{Script: "true", Env: map[string]string{"A;rm": "x"}})
	if err == nil || !strings.Contains(err.Error(), "not a valid variable name") {
		t.Errorf("err = %v, want invalid name", err)
	}
}

func TestRunDirectories(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	h.Dir = "deploy/app" // relative to the remote home, created by Dial
	conn := dial(t, &sshtr.Transport{}, h)
	want := filepath.Join(ts.home, "deploy/app")
	if fi, err := os.Stat(want); err != nil || !fi.IsDir() {
		t.Fatalf("Dial did not create %s: %v", want, err)
	}
	if err := os.Mkdir(filepath.Join(want, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, want string
	}{
		{"", want},
		{"sub", filepath.Join(want, "sub")},
		{ts.home, ts.home},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		res, err := runGuarded(t, context.Background(), conn, transport.Command{Script: "pwd", Dir: tt.dir, Stdout: &out})
		if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != tt.want {
			t.Errorf("Dir %q: Run = %+v, %v, output %q; want %s", tt.dir, res, err, out.String(), tt.want)
		}
	}
	res, err := conn.Run(context.Background(), transport.Command{Script: "true", Dir: "missing"})
	if err == nil || res.ExitCode != -1 || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing Dir: Run = %+v, %v; want an error naming the directory", res, err)
	}
}

func TestRunStreamsOutput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	h := f.host(ts)
	conn := dial(t, &sshtr.Transport{}, h)
	out := newLineWriter()
	done := make(chan error, 1)
	go func() {
		_, err := conn.Run(context.Background(), transport.Command{
			Script: `echo ready; while [ ! -e go ]; do sleep 0.02; done; echo done`,
			Stdout: out,
		})
		done <- err
	}()
	out.waitReady(t) // the first line arrives while the script still runs
	if err := os.WriteFile(filepath.Join(h.Dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil || out.String() != "ready\ndone\n" {
			t.Errorf("Run: %v, output %q", err, out.String())
		}
	case <-time.After(hangGuard):
		t.Fatal("Run hung")
	}
}

func TestRunOutputStreams(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	conn := dial(t, &sshtr.Transport{}, f.host(ts))
	script := `echo 1; echo 2 >&2; echo 3; echo 4 >&2`

	var both bytes.Buffer
	if _, err := conn.Run(context.Background(), transport.Command{Script: script, Stdout: &both, Stderr: &both}); err != nil {
		t.Fatal(err)
	}
	if got := both.String(); got != "1\n2\n3\n4\n" {
		t.Errorf("same writer: output %q, want the order kept", got)
	}
	var out, errOut bytes.Buffer
	if _, err := conn.Run(context.Background(), transport.Command{Script: script, Stdout: &out, Stderr: &errOut}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "1\n3\n" || errOut.String() != "2\n4\n" {
		t.Errorf("separate writers: stdout %q, stderr %q", out.String(), errOut.String())
	}
}

func TestRunConcurrentOnOneConn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	conn := dial(t, &sshtr.Transport{MaxSessions: 4}, f.host(ts))
	const n = 12
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			var res transport.Result
			res, errs[i] = conn.Run(context.Background(), transport.Command{
				Script: `sleep 0.2; echo "$N"`,
				Env:    map[string]string{"N": fmt.Sprint(i)},
				Stdout: &outs[i],
			})
			if errs[i] == nil && res.ExitCode != 0 {
				errs[i] = fmt.Errorf("exit %d", res.ExitCode)
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || outs[i].String() != fmt.Sprintf("%d\n", i) {
			t.Errorf("run %d: %v, output %q", i, errs[i], outs[i].String())
		}
	}
}

func TestRunAfterClose(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ts := f.server(serverOpts{})
	conn, err := (&sshtr.Transport{}).Dial(context.Background(), f.host(ts))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Run(context.Background(), transport.Command{Script: "true"}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	if err := conn.Close(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}
