package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/store"
)

// onRun opens the store and finds the run a command acts on.
func (e *env) onRun(ctx context.Context, f *runFlags, id string) (store.Store, store.Run, error) {
	return e.onRunMode(ctx, f, id, false)
}

// onRunRead is onRun for commands that only read (status, logs, report):
// a store that cannot be written here is opened read-only.
func (e *env) onRunRead(ctx context.Context, f *runFlags, id string) (store.Store, store.Run, error) {
	return e.onRunMode(ctx, f, id, true)
}

func (e *env) onRunMode(ctx context.Context, f *runFlags, id string, readOnly bool) (store.Store, store.Run, error) {
	file, err := f.planFile(nil)
	if err != nil {
		return nil, store.Run{}, err
	}
	st, err := e.openExistingStore(ctx, f.store, file, readOnly)
	if err != nil {
		return nil, store.Run{}, err
	}
	r, err := e.resolveRun(ctx, st, id, &f.planFlags)
	if err != nil {
		st.Close()
		return nil, store.Run{}, err
	}
	return st, r, nil
}

// prepareFor rebuilds the rollout of an existing run from the plan file,
// which must be the one the run started with.
func (e *env) prepareFor(ctx context.Context, f *runFlags, r store.Run) (*prepared, error) {
	if f.env == "" {
		f.env = r.Env
	}
	if len(f.set) == 0 {
		if file, err := f.planFile(nil); err == nil {
			if st, err := e.openStore(ctx, f.store, file); err == nil {
				f.set, err = e.runOverrides(ctx, st, r.ID, &f.planFlags) // the run's own --set
				st.Close()
				if err != nil {
					return nil, err
				}
			}
		}
	}
	pr, err := e.prepare(ctx, f, nil, r.Release, r.PreviousRelease, true, r.ID)
	if err != nil {
		return nil, err
	}
	if pr.plan.Name != r.Plan {
		pr.st.Close()
		return nil, withCode(ExitUsage, "run %s is of plan %q, not %q: give its plan with -f", r.ID, r.Plan, pr.plan.Name)
	}
	// The plan and overrides are compared with the artifacts the run was
	// created with: backing out does not need the same bytes, going on
	// does (checkArtifacts).
	hash, err := planHash(pr.plan.File, f.set, r.Artifacts)
	if err != nil {
		pr.st.Close()
		return nil, err
	}
	if hash != r.PlanHash {
		pr.st.Close()
		return nil, withCode(ExitNoGo, "no-go: the plan or its --set overrides changed since run %s started (hash %.12s, now %.12s): restore what it ran with", r.ID, r.PlanHash, hash)
	}
	pr.hash = hash
	return pr, nil
}

// checkArtifacts refuses to go on with a run whose artifacts are not the
// bytes it was created, reviewed and approved with: the approvals were
// given for those bytes.
func checkArtifacts(pr *prepared, r store.Run) error {
	switch r.State {
	case store.StatePending, store.StateWaiting, store.StateRunning, store.StatePaused:
		// resume goes on releasing: it may upload
	default:
		return nil // verifying or backing out: nothing is uploaded any more
	}
	if !r.Artifacts.Bound() {
		return nil // recorded by an older golive
	}
	diff := r.Artifacts.Diff(pr.sums)
	if diff == "" {
		return nil
	}
	if pr.artErr != nil {
		diff += " (" + pr.red.String(pr.artErr.Error()) + ")"
	}
	return withCode(ExitNoGo, "no-go: the artifacts changed since run %s was created: %s. Its approvals were given for the bytes it was created with and do not count for these; nothing was changed. Put those artifacts back, or start a new run for the new ones (`golive backout %s` undoes what this one did)", r.ID, diff, r.ID)
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
			ctx := c.Context()
			st, r, err := e.onRun(ctx, &f, args[0])
			if err != nil {
				return err
			}
			st.Close()
			pr, err := e.prepareFor(ctx, &f, r)
			if err != nil {
				return err
			}
			defer pr.st.Close()
			w := e.human(&f)
			prog := e.progress(pr, w)
			prog.setRun(r.ID)
			eng := e.newEngine(pr, &f, prog)
			if !accept {
				if err := checkArtifacts(pr, r); err != nil {
					return err
				}
			}
			var out *engine.Outcome
			switch {
			case accept:
				out, err = eng.Accept(ctx, r, pr.ro, e.actor(f.as))
			case r.State == store.StateWaiting || r.State == store.StatePending:
				prog.Close()
				return e.resumeWaiting(ctx, pr, eng, &f, r)
			default:
				out, err = eng.Resume(ctx, r, pr.ro)
			}
			prog.Close()
			if errors.Is(err, engine.ErrNotResumable) {
				return withCode(ExitUsage, "%s", err)
			}
			return e.finish(ctx, pr, &f, out, err)
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

// resumeWaiting reviews a run that waits to start, and starts it when
// nothing it waits for is missing any more.
func (e *env) resumeWaiting(ctx context.Context, pr *prepared, eng *engine.Engine, f *runFlags, r store.Run) error {
	w := e.human(f)
	rep := e.reviewRun(ctx, pr, eng, f, &r, true)
	e.renderReview(w, rep)
	switch {
	case rep.Go:
		prog := e.progress(pr, w)
		prog.setRun(r.ID)
		out, err := e.newEngine(pr, f, prog).Continue(ctx, r, pr.ro)
		prog.Close()
		return e.finish(ctx, pr, f, out, err)
	case rep.WaitOnly:
		return e.waitThenContinue(ctx, pr, eng, f, r, rep)
	}
	return withCode(ExitNoGo, "no-go: run %s keeps waiting; nothing was changed", r.ID)
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

Exit 1 when the run is now backed out cleanly (as for run: it failed and was
backed out), 4 when hosts still need attention.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			st, r, err := e.onRun(ctx, &f, args[0])
			if err != nil {
				return err
			}
			st.Close()
			switch r.State {
			case store.StateSucceeded, store.StateFailed, store.StateBackoutFailed, store.StateRunning, store.StateVerifying, store.StateBackingOut, store.StatePaused:
			default:
				return withCode(ExitUsage, "run %s is %s: there is nothing to back out", r.ID, r.State)
			}
			pr, err := e.prepareFor(ctx, &f, r)
			if err != nil {
				return err
			}
			defer pr.st.Close()
			prog := e.progress(pr, e.human(&f))
			prog.setRun(r.ID)
			out, err := e.newEngine(pr, &f, prog).Backout(ctx, r, pr.ro, "requested by "+store.CLIIdentity(e.actor(f.as)).String())
			prog.Close()
			return e.finish(ctx, pr, &f, out, err)
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
			ctx := c.Context()
			st, r, err := e.onRun(ctx, &f, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			actor := e.actor(f.as)
			if force {
				return e.forceAbort(ctx, st, r, actor, reason)
			}
			return e.abort(ctx, st, r, &f, actor, reason, noBackout)
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

func (e *env) abort(ctx context.Context, st store.Store, r store.Run, f *runFlags, actor, reason string, noBackout bool) error {
	w := e.stdio.Out
	why := "aborted by " + store.CLIIdentity(actor).String()
	if reason != "" {
		why += ": " + reason
	}
	switch r.State {
	case store.StatePending, store.StateWaiting:
		r2, err := st.UpdateRunState(ctx, r.ID, []store.State{r.State}, store.StateAborted, why)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "golive: run %s aborted (it was %s; nothing had been changed by it)\n", r2.ID, r.State)
		return nil
	case store.StateRunning, store.StateVerifying, store.StateBackingOut, store.StatePaused:
		// A paused run has changed targets and its controller has exited:
		// it is backed out below like a run whose controller is gone.
	default:
		return withCode(ExitUsage, "run %s is %s: it is not running", r.ID, r.State)
	}
	lock, err := st.GetLock(ctx, r.Plan, r.Env)
	if err == nil && lock.RunID == r.ID && !store.HolderGone(lock, time.Now(), store.ThisHolder(), store.PIDAlive) {
		if err := engine.RequestAbort(ctx, st, r.ID, actor, reason, noBackout); err != nil {
			return err
		}
		fmt.Fprintf(w, "golive: abort of run %s requested; its controller (%s) is terminating%s\n", r.ID, lock.Holder, map[bool]string{false: " and backing out", true: ""}[noBackout])
		return e.waitEnd(ctx, st, r.ID)
	}
	// Nobody is executing the run: do it here.
	if err := engine.RequestAbort(ctx, st, r.ID, actor, reason, noBackout); err != nil {
		return err
	}
	if noBackout {
		r2, err := st.UpdateRunState(ctx, r.ID, []store.State{r.State}, store.StateFailed, why+" (no backout); its controller was gone")
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "golive: run %s stopped without backout: it is failed and keeps the lock; `golive backout %s` or `golive resume %s --accept`\n", r2.ID, r2.ID, r2.ID)
		return silent(ExitIncomplete)
	}
	fmt.Fprintf(w, "golive: run %s has no live controller; backing it out here\n", r.ID)
	pr, err := e.prepareFor(ctx, f, r)
	if err != nil {
		return err
	}
	defer pr.st.Close()
	prog := e.progress(pr, w)
	prog.setRun(r.ID)
	out, err := e.newEngine(pr, f, prog).Backout(ctx, r, pr.ro, why)
	prog.Close()
	err = e.finish(ctx, pr, f, out, err)
	if exitCode(err) == ExitFailed {
		return nil // backed out cleanly: the abort did what was asked
	}
	return err
}

// waitEnd follows an aborted run until its controller stops working on
// it, and exits as the contract says: 0 when it was backed out cleanly
// (or finished before the abort took effect), 4 when targets need
// attention. If the controller dies meanwhile, it says so and exits 4.
func (e *env) waitEnd(ctx context.Context, st store.Store, id string) error {
	here := store.ThisHolder()
	for {
		r, err := st.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if r.State.Terminal() {
			fmt.Fprintf(e.stdio.Out, "golive: run %s %s: %s\n", r.ID, r.State, r.Reason)
			switch r.State {
			case store.StateBackedOut, store.StateSucceeded:
				return nil
			case store.StateAborted:
				return nil
			}
			return silent(ExitIncomplete)
		}
		lock, lerr := st.GetLock(ctx, r.Plan, r.Env)
		if lerr != nil || lock.RunID != r.ID || store.HolderGone(lock, time.Now(), here, store.PIDAlive) {
			return withCode(ExitIncomplete, "run %s is %s but its controller is gone: run `golive backout %s` to finish", r.ID, r.State, r.ID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// touchedRun reports whether any step of the run started.
func touchedRun(ctx context.Context, st store.Store, id string) bool {
	events, _ := st.Events(ctx, id, 0)
	for _, ev := range events {
		if ev.Kind == store.KindStep && ev.Action == store.ActionStarted {
			return true
		}
	}
	return false
}

func (e *env) forceAbort(ctx context.Context, st store.Store, r store.Run, actor, reason string) error {
	if reason == "" {
		return fmt.Errorf("%w: abort --force needs --reason TEXT (it is recorded)", errUsage)
	}
	from := []store.State{store.StatePending, store.StateWaiting, store.StateRunning, store.StatePaused, store.StateVerifying,
		store.StateFailed, store.StateBackingOut, store.StateBackoutFailed}
	r2, err := st.UpdateRunState(ctx, r.ID, from, store.StateAborted, fmt.Sprintf("force-aborted by %s: %s (targets were not touched by this)", store.CLIIdentity(actor), reason))
	switch {
	case errors.Is(err, store.ErrStateConflict) && r.State == store.StateAborted:
		r2 = r // already aborted: still release a lock it may hold
	case errors.Is(err, store.ErrStateConflict):
		return withCode(ExitUsage, "run %s is already %s", r.ID, r.State)
	case err != nil:
		return err
	}
	if l, err := st.GetLock(ctx, r.Plan, r.Env); err == nil && l.RunID == r.ID {
		if err := st.ReleaseLock(ctx, r.Plan, r.Env, r.ID); err != nil {
			return err
		}
	}
	st.AppendEvent(ctx, store.Event{RunID: r.ID, Kind: store.KindRun, Action: "force_aborted", Actor: actor, Message: reason})
	fmt.Fprintf(e.stdio.Out, "golive: run %s force-aborted (was %s); lock released. Check its targets by hand.\n", r2.ID, r.State)
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
