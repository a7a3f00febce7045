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

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/termsafe"
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
	// red hides the secrets once a command has loaded them; stdio.Out and
	// stdio.Err write through it, so nothing printed to the terminal can
	// carry a secret, whatever prints it.
	red *redact.Redactor
	// intr handles signals when golive runs as its own process (Run);
	// nil in-process.
	intr *interrupts
}

// Main runs golive with args and returns the exit code.
func Main(ctx context.Context, args []string, stdio Stdio) int {
	return mainWith(ctx, args, stdio, nil)
}

func mainWith(ctx context.Context, args []string, stdio Stdio, intr *interrupts) int {
	// Everything golive prints for a person or a program goes through
	// these: control characters in step output, names, reasons and claimed
	// identities are escaped, so nothing can rewrite the operator's screen
	// (JSON stays JSON; see termsafe), and every secret is redacted on the
	// way out, also for golive's own styled output (termsafe.Raw).
	red := redact.New()
	redOut, redErr := red.Writer(stdio.Out), red.Writer(stdio.Err)
	defer redErr.Flush()
	defer redOut.Flush()
	out, errw := termsafe.NewWriter(redOut), termsafe.NewWriter(redErr)
	defer errw.Flush()
	defer out.Flush()
	stdio.Out, stdio.Err = out, errw
	e := &env{ctx: ctx, stdio: stdio, environ: os.Environ(), getenv: os.Getenv, red: red, intr: intr}
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

// Commit and Date describe the build when the release build sets them with
// -ldflags -X; otherwise they come from the build's VCS stamp.
var (
	Commit = ""
	Date   = ""
)

// versionString is "VERSION (commit C, built D)": the version from -ldflags,
// else the module version (`go install ...@v1.2.3`), else "dev"; the commit
// and date from -ldflags, else from the VCS information Go stamps into
// binaries built in a git checkout.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	return versionFrom(Version, Commit, Date, info, ok)
}

// versionFrom is versionString from the -ldflags values and the build
// information (ok: there is some).
func versionFrom(v, commit, date string, info *debug.BuildInfo, ok bool) string {
	dirty := false
	if ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				if date == "" {
					date = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	var parts []string
	if commit != "" {
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if dirty {
			commit += ", modified"
		}
		parts = append(parts, "commit "+commit)
	}
	if date != "" {
		parts = append(parts, "built "+date)
	}
	if len(parts) > 0 {
		v += " (" + strings.Join(parts, ", ") + ")"
	}
	return v
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
		// Run-time values are checked before any command does anything.
		PersistentPreRunE: func(c *cobra.Command, _ []string) error { return e.checkValues(c) },
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w: %s (see %s --help)", errUsage, err, c.CommandPath())
	})
	root.AddCommand(
		newValidate(e), newPlan(e), newSchema(e),
		newRun(e), newResume(e), newBackout(e), newAbort(e),
		newStatus(e), newHistory(e), newLogs(e),
		newReview(e), newApprove(e, store.DecisionApprove), newApprove(e, store.DecisionReject), newRehearse(e),
		newReport(e), newInit(e),
	)
	root.AddCommand(newServe(e), newToken(e), newStore(e))
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
