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
	// The scripts' own deadline: a command that hangs fails the test after
	// it, with its script named, not at go test's timeout (which kills
	// the binary with a stack dump). Generous: the scripts run in
	// parallel with every other package of the suite, on 2 cores.
	deadline := time.Now().Add(8 * time.Minute)
	if d, ok := t.Deadline(); ok && d.Add(-time.Minute).Before(deadline) {
		deadline = d.Add(-time.Minute)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		Deadline:            deadline,
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
