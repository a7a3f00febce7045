package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/store"
)

// Version is golive's version, set at build time with
// -ldflags "-X github.com/golive-dev/golive/internal/cli.Version=1.2.3".
var Version = ""

// Stdio is where a command reads and writes.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// env is what every command gets: the streams, the process environment and
// the context.
type env struct {
	ctx     context.Context
	stdio   Stdio
	environ []string
	getenv  func(string) string
	// intr handles signals when golive runs as its own process (Run);
	// nil in-process.
	intr *interrupts
}

// Main runs golive with args and returns the exit code.
func Main(ctx context.Context, args []string, stdio Stdio) int {
	return mainWith(ctx, args, stdio, nil)
}

func mainWith(ctx context.Context, args []string, stdio Stdio, intr *interrupts) int {
	e := &env{ctx: ctx, stdio: stdio, environ: os.Environ(), getenv: os.Getenv, intr: intr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(stdio.Err, "golive: %s\n", strings.TrimPrefix(msg, "usage: "))
		}
	}
	return exitCode(err)
}

func versionString() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "golive",
		Short: "golive executes deployment plans: review, release, watch, back out, verify",
		Long: `golive turns a deployment plan (golive.yaml) into a rollout that is reviewed,
on time, watched, and backed out cleanly when it goes wrong.

Exit codes: 0 success, 1 run failed and was backed out, 2 usage error or
invalid plan, 3 no-go, 4 backout incomplete (targets need attention).`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w: %s (see %s --help)", errUsage, err, c.CommandPath())
	})
	root.AddCommand(
		newValidate(e), newPlan(e), newSchema(e),
		newRun(e), newResume(e), newBackout(e), newAbort(e),
		newStatus(e), newHistory(e), newLogs(e),
		newReview(e), newApprove(e, store.DecisionApprove), newApprove(e, store.DecisionReject), newRehearse(e),
		newReport(e),
	)
	root.AddCommand(notYet(e)...)
	for _, c := range root.Commands() {
		c.Args = wrapArgs(c.Args)
	}
	return root
}

// wrapArgs makes argument-count errors usage errors.
func wrapArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	if check == nil {
		return nil
	}
	return func(c *cobra.Command, args []string) error {
		if err := check(c, args); err != nil {
			if errors.Is(err, errUsage) {
				return err
			}
			return fmt.Errorf("%w: %s: %s", errUsage, c.CommandPath(), err)
		}
		return nil
	}
}
