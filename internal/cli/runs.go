package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// onRunRead finds the run a command that only reads acts on (status,
// logs, report): a store that cannot be written here is opened read-only.
// The store is left open for the caller.
func (e *env) onRunRead(ctx context.Context, f *runFlags, id string) (store.Store, store.Run, error) {
	ref := f.runRef(id)
	st, err := e.openExistingStore(ctx, f.store, ref.Plan.File, true)
	if err != nil {
		return nil, store.Run{}, err
	}
	r, err := e.service(f).FindRun(ctx, st, ref)
	if err != nil {
		st.Close()
		return nil, store.Run{}, err
	}
	return st, r, nil
}

func newResume(e *env) *cobra.Command {
	var f runFlags
	var accept bool
	c := &cobra.Command{
		Use:   "resume RUN",
		Short: "Continue a run whose controller stopped, from its journal",
		Long: `Resume continues a run from what its journal says: finished stages and hosts
are not run again, a step that started but did not finish runs again (steps
must be idempotent), a run that was backing out goes on backing out. RUN is a
run id or "last". With --accept, a failed run (automatic backout off) is
accepted as it is instead of backed out.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(c *cobra.Command, args []string) error {
			w := e.human(&f)
			prog := e.progress(w)
			defer prog.Close()
			res, err := e.service(&f).Resume(c.Context(), release.ResumeOptions{Run: f.runRef(args[0]), By: e.identity(&f),
				Accept: accept, Wait: f.wait, Parallel: f.parallel, Watch: e.watch(w, prog, "run")})
			return e.released(res, &f, prog, err)
		},
	}
	f.register(c, false)
	f.registerRun(c)
	f.registerSSH(c)
	c.Flags().BoolVar(&accept, "accept", false, "accept a failed run as it is instead of backing it out")
	c.Flags().BoolVar(&f.wait, "wait", false, "block until what the run waits for (approvals, the window) arrives")
	c.Flags().IntVar(&f.parallel, "parallel", 50, "hosts worked on at the same time")
	return c
}

func newBackout(e *env) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "backout RUN",
		Short: "Back out what a run changed, newest first; safe to run again",
		Long: `Backout undoes what the journal says RUN touched: on every touched host the
backouts of its started steps, newest first, newest stage first. Steps already
backed out are not backed out again, so after fixing an unreachable host you
can run it again to finish the job. A host counts as backed out once the
release restored on it passes its stage's health checks (backout.verify);
hosts not yet verified healthy are checked again each time.

Exit 0 when the run is now backed out cleanly (the backout did what was
asked, as abort does), 4 when hosts still need attention.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(c *cobra.Command, args []string) error {
			w := e.human(&f)
			prog := e.progress(w)
			defer prog.Close()
			res, err := e.service(&f).Backout(c.Context(), release.BackoutOptions{Run: f.runRef(args[0]), By: e.identity(&f),
				Parallel: f.parallel, Watch: e.watch(w, prog, "run")})
			f.backoutAsked = true
			return e.finish(res, &f, err)
		},
	}
	f.register(c, false)
	f.registerRun(c)
	f.registerSSH(c)
	c.Flags().IntVar(&f.parallel, "parallel", 50, "hosts worked on at the same time")
	return c
}

func newAbort(e *env) *cobra.Command {
	var f runFlags
	var noBackout, force bool
	var reason string
	c := &cobra.Command{
		Use:   "abort RUN",
		Short: "Stop a run: its controller terminates what runs and backs out",
		Long: `Abort asks the controller executing RUN to stop: it notices within a second,
terminates what runs and backs out (not with --no-backout). A run that is only
waiting is cancelled. A run whose controller is gone is backed out by this
command. --force --reason TEXT clears a stuck run without touching any target.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(c *cobra.Command, args []string) error {
			if force {
				return e.forceAbort(c.Context(), &f, args[0], reason)
			}
			return e.abort(c.Context(), &f, args[0], reason, noBackout)
		},
	}
	f.register(c, false)
	f.registerRun(c)
	f.registerSSH(c)
	c.Flags().BoolVar(&noBackout, "no-backout", false, "stop without backing out")
	c.Flags().BoolVar(&force, "force", false, "clear a stuck run (needs --reason); touches no target")
	c.Flags().StringVar(&reason, "reason", "", "why")
	return c
}

func (e *env) abort(ctx context.Context, f *runFlags, id, reason string, noBackout bool) error {
	w := e.stdio.Out
	prog := e.progress(w)
	defer prog.Close()
	res, err := e.service(f).Abort(ctx, release.AbortOptions{Run: f.runRef(id), By: e.identity(f), Reason: reason,
		NoBackout: noBackout, Follow: true, Parallel: f.parallel, Watch: e.watch(w, prog, "run")})
	switch {
	case res != nil && res.Backout != nil:
		err = e.finish(res.Backout, f, err)
		if exitCode(err) == ExitFailed {
			return nil // backed out cleanly: the abort did what was asked
		}
		return err
	case err != nil:
		return err
	case res.Cancelled:
		fmt.Fprintf(w, "golive: run %s aborted (it was %s; nothing had been changed by it)\n", res.Run.ID, res.Was)
	case res.StoppedNoBackout:
		r := res.Run
		fmt.Fprintf(w, "golive: run %s stopped without backout: it is failed and keeps the lock; `golive backout %s` or `golive resume %s --accept`\n", r.ID, r.ID, r.ID)
		return silent(ExitIncomplete)
	case res.Requested:
		// Followed to its end: 0 when it was backed out cleanly (or
		// finished before the abort took effect), 4 when targets need
		// attention.
		r := res.Run
		fmt.Fprintf(w, "golive: run %s %s: %s\n", r.ID, r.State, r.Reason)
		switch r.State {
		case store.StateBackedOut, store.StateSucceeded, store.StateAborted:
			return nil
		}
		return silent(ExitIncomplete)
	}
	return nil
}

func (e *env) forceAbort(ctx context.Context, f *runFlags, id, reason string) error {
	if reason == "" {
		return fmt.Errorf("%w: abort --force needs --reason TEXT (it is recorded)", errUsage)
	}
	was, now, err := e.service(f).ForceAbort(ctx, release.ForceAbortOptions{Run: f.runRef(id), By: e.identity(f), Reason: reason,
		Note: func(s string) { fmt.Fprintf(e.stdio.Err, "golive: %s\n", s) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdio.Out, "golive: run %s force-aborted (was %s); lock released. Check its targets by hand.\n", now.ID, was.State)
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%w: %s needs %s (a run id or \"last\")", errUsage, c.Name(), what)
		}
		return nil
	}
}
