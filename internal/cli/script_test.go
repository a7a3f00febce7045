package cli

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/golive-dev/golive/internal/store"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"golive": func() {
			// Only in this test binary: act as the OS user the script names,
			// so that scripts can play several people. The golive binary has
			// no such switch: it asks the kernel for its real uid.
			if u := os.Getenv("GOLIVE_TEST_OS_USER"); u != "" {
				store.ProcessOSUser = func() string { return u }
			}
			os.Exit(Run(os.Args[1:]))
		},
	})
}

// TestScripts runs the CLI scenarios in testdata/script/*.txtar: commands,
// their output and exit codes, as a user at a terminal would see them.
func TestScripts(t *testing.T) {
	d, ok := t.Deadline()
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		Deadline:            scriptsDeadline(time.Now(), d, ok),
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("NO_COLOR", "1")
			e.Setenv("GOLIVE_USER", "tester")
			e.Setenv("GOLIVE_TEST_OS_USER", "tester") // the OS user golive records; scripts may change it
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitCode,
		},
	})
}

// scriptsDeadline is the scripts' own deadline: a command that hangs
// fails the test after it, with its script named, not at go test's timeout
// (which kills the binary with a stack dump). Generous: the scripts run in
// parallel with every other package of the suite, on 2 cores. Under a
// go test -timeout it ends before that timeout by a minute, or by a
// quarter of the time left when that is less: with -timeout 60s (as the
// mutation runs give a fast batch of scripts) the scripts get 45 s, not
// a deadline that has passed already.
func scriptsDeadline(now, testDeadline time.Time, hasDeadline bool) time.Time {
	deadline := now.Add(8 * time.Minute)
	if hasDeadline {
		margin := min(time.Minute, testDeadline.Sub(now)/4)
		if d := testDeadline.Add(-margin); d.Before(deadline) {
			deadline = d
		}
	}
	return deadline
}

// cmdExitCode is the script command `exitcode N program [args...]`: it runs
// program like exec and fails unless it exits with exactly N. Its stdout
// and stderr are checked afterwards as exec's are.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode (give the code that is wanted)")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil || want < 0 || want > 255 {
		ts.Fatalf("exitcode: %q is not an exit code", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// TestScriptsDeadline: the scripts' deadline lies before go test's by a
// minute, or by a quarter of the time left; never at or before the start
// (a mutation run's 60 s timeout once failed every script at once).
func TestScriptsDeadline(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		timeout time.Duration
		set     bool
		want    time.Duration
	}{
		{0, false, 8 * time.Minute},
		{20 * time.Minute, true, 8 * time.Minute},
		{5 * time.Minute, true, 4 * time.Minute},
		{60 * time.Second, true, 45 * time.Second},
		{20 * time.Second, true, 15 * time.Second},
	} {
		if got := scriptsDeadline(now, now.Add(c.timeout), c.set).Sub(now); got != c.want {
			t.Errorf("go test deadline in %s (set %v): the scripts get %s, want %s", c.timeout, c.set, got, c.want)
		}
	}
}
