package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
)

// service is the release core (internal/release) as this command uses
// it: stores opened as --store says (notes printed), secrets from the
// environment and --secrets-file, diagnostics to stderr, signals able to
// abandon a backout. The commands keep their flags and printing; the core
// does the release.
func (e *env) service(f *runFlags) *release.Service {
	return &release.Service{
		OpenStore: func(ctx context.Context, planFile string, m release.StoreMode) (store.Store, error) {
			if m.Existing {
				return e.openExistingStore(ctx, f.store, planFile, m.ReadOnly)
			}
			return e.openStore(ctx, f.store, planFile)
		},
		Secrets: func() (map[string]string, *redact.Redactor, error) { return e.secrets(&f.planFlags) },
		Diags:   e.printDiags,
		Environ: e.environMap(),
		SSH: release.SSHOptions{InsecureIgnoreHostKeys: f.insecure, KeepAlive: f.sshKeepAlive,
			ConnectTimeout: f.sshConnectTimeout},
		Logger:   e.logger(),
		Abandon:  e.intr.abandonCh(),
		Observer: e.intr,
	}
}

// identity is who acts at this command: the claimed name (--as, else
// $GOLIVE_USER, else the OS user) and the OS user beside it.
func (e *env) identity(f *runFlags) store.Identity { return store.CLIIdentity(e.actor(f.as)) }

// planInput is the plan the flags name (file as planFile chose it).
func (f *runFlags) planInput(file string) release.PlanInput {
	return release.PlanInput{File: file, Env: f.env, Set: f.set}
}

// runRef is the run id (or "last") of the plan the flags name.
func (f *runFlags) runRef(id string) release.RunRef {
	file, _ := f.planFile(nil) // without arguments it cannot fail
	return release.RunRef{Plan: f.planInput(file), ID: id}
}

// watch shows a call on w: the review report, the new run's id (as
// noun: "run" or "rehearsal"), the live progress, the core's notes.
func (e *env) watch(w io.Writer, prog *progressSink, noun string) release.Watch {
	return release.Watch{
		Ready: func(p release.Prepared) {
			prog.ro = p.Rollout
			if p.RunID != "" {
				prog.setRun(p.RunID)
			}
		},
		Observer: prog,
		Reviewed: func(rep *review.Report) { e.renderReview(w, rep) },
		Created: func(r store.Run) {
			line := fmt.Sprintf("golive: %s %s: %s %s%s, previous %s, by %s\n", noun, r.ID, r.Plan, r.Release, envSuffix(r.Env), orNone(r.PreviousRelease), r.RequesterIdentity())
			if noun == "run" {
				prog.printf("%s", line)
			} else {
				io.WriteString(w, line)
			}
			prog.setRun(r.ID)
		},
		Waits: func(r store.Run, reasons []string) {
			fmt.Fprintf(w, "golive: run %s waits for: %s\n", r.ID, strings.Join(reasons, "; "))
		},
		Executed: prog.Close,
		Note:     func(s string) { fmt.Fprintf(w, "golive: %s\n", s) },
	}
}

func envSuffix(env string) string { return release.EnvSuffix(env) }
