package cli

import (
	"os"
	"testing"

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
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("NO_COLOR", "1")
			e.Setenv("GOLIVE_USER", "tester")
			e.Setenv("GOLIVE_TEST_OS_USER", "tester") // the OS user golive records; scripts may change it
			return nil
		},
	})
}
