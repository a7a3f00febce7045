// Package golivetest drives the real golive binary from tests: it builds
// it once and runs it as a subprocess (to its end, or in the background
// to be killed with SIGKILL), keeping its output for failure messages.
// The crash tests and the end-to-end tests share it.
package golivetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Build builds cmd/golive into dir and returns the binary's path.
func Build(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("`go` is not on PATH, so the golive binary cannot be built")
	}
	bin := filepath.Join(dir, "golive")
	args := []string{"build", "-o", bin}
	if pkgs := os.Getenv("GOLIVE_BUILD_COVERPKG"); pkgs != "" {
		// scripts/mutants -focus: which lines the binary runs, written to
		// $GOCOVERDIR, count for the test that runs it. Without main
		// among the covered packages the binary writes nothing.
		args = append(args, "-cover", "-coverpkg=github.com/golive-dev/golive/cmd/golive,"+pkgs)
	}
	build := exec.Command(goTool, append(args, "github.com/golive-dev/golive/cmd/golive")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building golive: %w", err)
	}
	return bin, nil
}

// CLI runs golive for one test, always with -f Plan and --store Store, in
// Dir, as GOLIVE_USER User, without colour and without the caller's other
// GOLIVE_* variables.
type CLI struct {
	T                           testing.TB
	Bin, Dir, Plan, Store, User string
	Timeout                     time.Duration // one command that should end by itself
	ExtraEnv                    []string      // added to the environment (e.g. GOLIVE_SECRET_X=...)
}

// Env is the environment golive runs with.
func (c *CLI) Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOLIVE_") || strings.HasPrefix(kv, "NO_COLOR=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "GOLIVE_USER="+c.User, "NO_COLOR=1")
	return append(env, c.ExtraEnv...)
}

// Command is golive with args (plus -f and --store), not started.
func (c *CLI) Command(ctx context.Context, args ...string) *exec.Cmd {
	args = append(args, "-f", c.Plan, "--store", c.Store)
	cmd := exec.CommandContext(ctx, c.Bin, args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs golive with args to its end.
func (c *CLI) Run(args ...string) Result {
	c.T.Helper()
	return c.Start(args...).Wait()
}

// MustExit runs golive and fails the test unless it exits with code.
func (c *CLI) MustExit(code int, args ...string) Result {
	c.T.Helper()
	r := c.Run(args...)
	if r.Code != code {
		c.T.Fatalf("want exit %d\n%s", code, r)
	}
	return r
}

// Result is how a finished golive command ended.
type Result struct {
	Args           []string
	Code           int
	Took           time.Duration
	Stdout, Stderr string
}

func (r Result) String() string {
	return fmt.Sprintf("golive %s: exit %d after %v\n--- stdout:\n%s--- stderr:\n%s",
		strings.Join(r.Args, " "), r.Code, r.Took.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Output is stdout and stderr together.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// Proc is golive running in the background.
type Proc struct {
	c              *CLI
	args           []string
	cmd            *exec.Cmd
	started        time.Time
	stdout, stderr SyncBuffer
	done           chan struct{}
	err            error // of Wait, once done is closed
}

// Start starts golive with args without waiting; the test's cleanup kills
// it if it still runs.
func (c *CLI) Start(args ...string) *Proc {
	c.T.Helper()
	p := &Proc{c: c, args: args, done: make(chan struct{}), started: time.Now()}
	p.cmd = c.Command(context.Background(), args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		c.T.Fatalf("start golive: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait() // reaps it: the test leaves no zombie
		close(p.done)
	}()
	c.T.Cleanup(func() {
		if !p.Exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended (and been reaped).
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Result is what the process printed so far (Code not set).
func (p *Proc) Result() Result {
	return Result{Args: p.args, Took: time.Since(p.started), Stdout: p.stdout.String(), Stderr: p.stderr.String()}
}

// Output describes the process and what it printed so far.
func (p *Proc) Output() string {
	return fmt.Sprintf("golive %s (pid %d)\n--- stdout:\n%s--- stderr:\n%s", strings.Join(p.args, " "), p.Pid(), p.stdout.String(), p.stderr.String())
}

// Wait waits for golive to exit by itself (killing it after the CLI's
// Timeout) and returns how it ended.
func (p *Proc) Wait() Result {
	p.c.T.Helper()
	timeout := p.c.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		p.c.T.Fatalf("golive did not exit within %v (killed)\n%s", timeout, p.Result())
	}
	r := p.Result()
	if p.err != nil {
		ee, ok := p.err.(*exec.ExitError)
		if !ok || !ee.Exited() {
			p.c.T.Fatalf("golive: %v\n%s", p.err, r)
		}
		r.Code = ee.ExitCode()
	}
	p.c.T.Logf("golive %s: exit %d after %v", strings.Join(p.args, " "), r.Code, r.Took.Round(time.Millisecond))
	return r
}

// Kill sends SIGKILL and waits until the process has been reaped.
func (p *Proc) Kill() {
	p.c.T.Helper()
	if p.Exited() {
		p.c.T.Fatalf("golive exited before the test could kill it\n%s", p.Output())
	}
	if err := p.cmd.Process.Kill(); err != nil {
		p.c.T.Fatalf("kill golive: %v", err)
	}
	<-p.done
	p.c.T.Logf("killed golive %s (pid %d) with SIGKILL", strings.Join(p.args, " "), p.Pid())
}

// SyncBuffer is a bytes.Buffer safe to read while a process writes it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Signal sends sig to the process (which must not have exited).
func (p *Proc) Signal(sig os.Signal) {
	p.c.T.Helper()
	if p.Exited() {
		p.c.T.Fatalf("golive exited before the test could send %v\n%s", sig, p.Output())
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.c.T.Fatalf("signal golive: %v", err)
	}
	p.c.T.Logf("sent %v to golive %s (pid %d)", sig, strings.Join(p.args, " "), p.Pid())
}
