package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
)

func newRehearse(e *env) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "rehearse [FILE] -r VERSION --env ENV",
		Short: "Release, verify, back out, and check the previous release is healthy again",
		Long: `Rehearse tests the release and its backout in an environment such as staging:
it releases VERSION exactly as run does, verifies it, backs it out, then runs
the health and verify checks of the previous release to show it is healthy
again. A clean rehearsal is recorded; controls.rehearsed_in: ENV in another
environment is satisfied only by one for the same release and plan content.
Exit 0 for a clean rehearsal, 1 when it failed (and was backed out), 3 no-go,
4 when targets need attention.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if f.release == "" {
				return fmt.Errorf("%w: rehearse needs the release: -r VERSION", errUsage)
			}
			return e.rehearse(c.Context(), &f, args)
		},
	}
	f.register(c, true)
	f.registerRun(c)
	f.registerSSH(c)
	c.Flags().StringVar(&f.ticket, "ticket", "", "change ticket id")
	c.Flags().BoolVar(&f.wait, "wait", false, "wait for gates and sign-offs instead of stopping")
	c.Flags().IntVar(&f.parallel, "parallel", 50, "hosts worked on at the same time")
	return c
}

func (e *env) rehearse(ctx context.Context, f *runFlags, args []string) error {
	pr, err := e.prepare(ctx, f, args, f.release, "", false, "")
	if err != nil {
		return err
	}
	defer pr.st.Close()
	w := e.human(f)
	prog := e.progress(pr, w)
	defer prog.Close()
	eng := e.newEngine(pr, f, prog)
	rep := e.reviewRun(ctx, pr, eng, f, nil, true)
	e.renderReview(w, rep)
	if !rep.Go {
		return withCode(ExitNoGo, "no-go: a rehearsal needs a go now; nothing was changed")
	}
	actor := e.actor(f.as)
	var run store.Run
	out, err := eng.Start(ctx, engineRequest(pr, f, actor, func(r store.Run) {
		run = r
		recordOverrides(ctx, pr.st, r.ID, f.set, pr.secrets)
		fmt.Fprintf(w, "golive: rehearsal %s: %s %s%s, previous %s, by %s\n", r.ID, r.Plan, r.Release, envSuffix(r.Env), orNone(r.PreviousRelease), r.RequesterIdentity())
		prog.setRun(r.ID)
	}))
	if err != nil || out.Run.State != store.StateSucceeded {
		prog.Close()
		return e.finish(ctx, pr, f, out, err)
	}
	fmt.Fprintf(w, "golive: rehearsal %s: %s released and verified; backing it out\n", run.ID, run.Release)
	out, err = eng.Backout(ctx, out.Run, pr.ro, "rehearsal: backing out after a successful release")
	prog.Close()
	if err != nil || out.Run.State != store.StateBackedOut {
		return e.finish(ctx, pr, f, out, err)
	}
	problems := e.checkPrevious(ctx, pr, eng, out.Run)
	verdict, msg := store.ActionPassed, "rehearsal clean: released, verified, backed out, previous release healthy"
	if len(problems) > 0 {
		verdict, msg = store.ActionFailed, "rehearsal: the previous release is not healthy after the backout: "+strings.Join(problems, "; ")
	}
	pr.st.AppendEvent(ctx, store.Event{RunID: run.ID, Kind: review.KindRehearsal, Action: verdict, Actor: actor, Message: pr.red.String(msg)})
	fmt.Fprintf(w, "golive: %s\n", pr.red.String(msg))
	if len(problems) > 0 {
		return silent(ExitIncomplete)
	}
	return nil
}

// checkPrevious runs the checks of the release that was live before.
func (e *env) checkPrevious(ctx context.Context, pr *prepared, eng interface {
	CheckLive(context.Context, store.Run, *rollout.Rollout) []string
}, run store.Run) []string {
	if run.PreviousRelease == "" {
		fmt.Fprintln(e.human(pr.flags), "golive: no release was live before: nothing to check after the backout")
		return nil
	}
	secrets, _, err := e.secrets(&pr.flags.planFlags)
	if err != nil {
		return []string{err.Error()}
	}
	ro, err := rollout.Build(rollout.Input{Plan: pr.plan, Release: run.PreviousRelease, RunID: run.ID, Env: e.environMap(), Secrets: secrets})
	if err != nil {
		return []string{err.Error()}
	}
	return eng.CheckLive(ctx, run, ro)
}
