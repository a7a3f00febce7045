package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/golive-dev/golive/internal/transport"
)

// pollInterval is how often an interrupted run checks whether its process
// group has exited before the grace period ends.
const pollInterval = 20 * time.Millisecond

// Run runs cmd.Script with /bin/sh -c in a new process group and waits for
// it. See the package documentation for how it stops an interrupted script.
func (c *conn) Run(ctx context.Context, cmd transport.Command) (transport.Result, error) {
	res := transport.Result{ExitCode: -1}
	fail := func(err error) (transport.Result, error) {
		return res, fmt.Errorf("local %s: run: %w", c.name, err)
	}
	if err := c.check(ctx); err != nil {
		return fail(err)
	}
	if err := cmd.Validate(); err != nil {
		return fail(err)
	}
	stdout, stderr := transport.Outputs(cmd.Stdout, cmd.Stderr)
	ec := command()
	ec.Stdin = strings.NewReader(cmd.Payload())
	ec.Dir = c.resolve(cmd.Dir)
	if fi, err := os.Stat(ec.Dir); err != nil || !fi.IsDir() {
		return fail(fmt.Errorf("working directory %s does not exist", ec.Dir))
	}
	ec.Env = environ()
	ec.Stdout, ec.Stderr = stdout.Writer(), stderr.Writer()
	ec.WaitDelay = c.waitDelay

	start := time.Now()
	if err := ec.Start(); err != nil {
		return fail(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- ec.Wait() }()

	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		c.terminate(ec.Process.Pid, waited)
		res.Duration = time.Since(start)
		return fail(transport.ContextError(ctx))
	}
	res.Duration = time.Since(start)
	var exit *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		// ErrWaitDelay: the shell succeeded, but something it left
		// behind kept the output open past WaitDelay.
		res.ExitCode = 0
	case errors.As(err, &exit):
		res.ExitCode = exitCode(exit)
	default:
		return fail(err)
	}
	if err := errors.Join(stdout.Failed(), stderr.Failed()); err != nil {
		return res, fmt.Errorf("local %s: run: output: %w", c.name, err)
	}
	return res, nil
}

// terminate stops the process group pgid of an interrupted run: SIGTERM,
// then SIGKILL when the group has not exited within the grace period. It
// returns once the leader has been reaped (waited has delivered) and either
// the group has exited or SIGKILL has been sent.
func (c *conn) terminate(pgid int, waited <-chan error) {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	grace := time.NewTimer(c.grace)
	defer grace.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	reaped := false
	for {
		select {
		case <-waited:
			reaped, waited = true, nil
		case <-tick.C:
		case <-grace.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			if !reaped {
				<-waited
			}
			// The group leader may be gone already while others in the
			// group are still dying: wait (briefly) until none is alive.
			for i := 0; i < 100 && groupAlive(pgid); i++ {
				time.Sleep(pollInterval)
			}
			return
		}
		if reaped && !groupAlive(pgid) {
			return
		}
	}
}

// exitCode is the status of a finished process, 128+N for signal N.
func exitCode(exit *exec.ExitError) int {
	if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return exit.ExitCode()
}

// environ is the controller's environment without its secrets. The
// command's own Env is exported by transport.Runner from the payload, so
// it is in no process's initial environment but the script's children.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		// Secrets reach a script only where the plan puts them
		// (${{ secrets.X }}), never through the inherited environment.
		if !strings.HasPrefix(kv, "GOLIVE_SECRET_") {
			env = append(env, kv)
		}
	}
	return env
}
