package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/notify"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/termsafe"
	"github.com/golive-dev/golive/internal/ui"
	"github.com/golive-dev/golive/internal/window"
)

func newRun(e *env) *cobra.Command {
	var f runFlags
	var lockWait time.Duration
	c := &cobra.Command{
		Use:   "run [FILE] -r VERSION",
		Short: "Release the plan: stages, batches, hosts, steps, health; back out on failure",
		Long: `Run releases VERSION: stages in order, batches in order, the hosts of a batch
in parallel, each host's steps and then its health checks. When a stage
exceeds max_failed, a verify check fails or the run is aborted, golive
terminates what runs and backs out every touched host, newest first.

Exit: 0 released, 1 failed and backed out cleanly, 2 invalid plan or usage,
3 no-go (environment locked, artifacts do not match, controls not met),
4 backout incomplete or not done: targets need attention.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if f.release == "" {
				return fmt.Errorf("%w: run needs the release: -r VERSION", errUsage)
			}
			return e.runRelease(c.Context(), &f, args, lockWait)
		},
	}
	f.register(c, true)
	f.registerRun(c)
	f.registerSSH(c)
	c.Flags().StringVar(&f.ticket, "ticket", "", "change ticket id")
	c.Flags().BoolVar(&f.json, "json", false, "print the outcome as JSON")
	c.Flags().BoolVar(&f.wait, "wait", false, "block until what the run waits for arrives")
	c.Flags().IntVar(&f.parallel, "parallel", 50, "hosts worked on at the same time")
	c.Flags().DurationVar(&lockWait, "lock-wait", 0, "wait up to this long for the environment lock (e.g. 5m)")
	return c
}

// prepared is everything a command needs to execute a plan's rollout.
type prepared struct {
	plan      *plan.Plan
	ro        *rollout.Rollout
	st        store.Store
	red       *redact.Redactor
	hash      string // planHash of the plan, --set and sums
	sums      store.ArtifactSums
	secrets   map[string]string
	artifacts map[string]artifact.File
	artErr    error
	window    *window.Window
	flags     *runFlags
	notify    *notify.Notifier
}

// prepare loads the plan, opens the store and builds the rollout for
// release with previous; runID is "" for a new run.
func (e *env) prepare(ctx context.Context, f *runFlags, args []string, release, previous string, known bool, runID string) (*prepared, error) {
	p, err := e.loadPlan(&f.planFlags, args)
	if err != nil {
		return nil, err
	}
	st, err := e.openStore(ctx, f.store, p.File)
	if err != nil {
		return nil, err
	}
	pr := &prepared{plan: p, st: st, flags: f}
	if !known {
		if previous, err = st.PreviousRelease(ctx, p.Name, p.Env); err != nil {
			st.Close()
			return nil, err
		}
	}
	secrets, red, err := e.secrets(&f.planFlags)
	if err != nil {
		st.Close()
		return nil, err
	}
	pr.red, pr.secrets = red, secrets
	// Every write to the journal from here on hides the secrets.
	pr.st = store.Redacted(st, red.String)
	pr.ro, err = rollout.Build(rollout.Input{Plan: p, Release: release, Previous: previous, RunID: runID, Env: e.environMap(), Secrets: secrets})
	if err != nil {
		st.Close()
		return nil, withCode(ExitUsage, "%s", red.String(err.Error()))
	}
	if pr.window, err = review.Window(p.Window); err != nil {
		st.Close()
		return nil, withCode(ExitUsage, "%s", err)
	}
	pr.notify = notify.New(pr.ro, pr.st, red, p.Owner, p.Contacts)
	pr.artifacts, pr.artErr = artifact.Verify(pr.ro, func(path string) string { return load.Path(p, path) })
	pr.sums = review.Sums(pr.artifacts)
	if pr.hash, err = planHash(p.File, f.set, pr.sums); err != nil {
		st.Close()
		return nil, err
	}
	return pr, nil
}

func (e *env) newEngine(pr *prepared, f *runFlags, obs engine.Observer) *engine.Engine {
	return engine.New(engine.Options{
		Store:      pr.st,
		Transports: e.transports(f),
		Observer:   observers{obs, pr.notify, e.intr},
		Abandon:    e.intr.abandonCh(),
		Redactor:   pr.red,
		Parallel:   f.parallel,
		Artifacts:  pr.artifacts,
		PlanDir:    filepath.Dir(pr.plan.File),
		Resolve:    func(path string) string { return load.Path(pr.plan, path) },
		Wait:       f.wait,
		Approvals:  pr.plan.Controls.Approvals,
		Window:     pr.window,
		OnClose:    review.OnClose(pr.plan.Window),
	})
}

func (e *env) runRelease(ctx context.Context, f *runFlags, args []string, lockWait time.Duration) error {
	pr, err := e.prepare(ctx, f, args, f.release, "", false, "")
	if err != nil {
		return err
	}
	defer pr.st.Close()
	w := e.human(f)
	prog := e.progress(pr, w)
	defer prog.Close()
	eng := e.newEngine(pr, f, prog)
	actor := e.actor(f.as)
	rep := e.reviewRun(ctx, pr, eng, f, nil, true)
	e.renderReview(w, rep)
	if rep.Go {
		pr.notify.Send("go", nil, nil)
	} else {
		pr.notify.Send("no_go", nil, rep.Reasons)
	}
	if !rep.Go && !rep.WaitOnly {
		pr.notify.Close(notifyWait)
		if f.json {
			e.printJSON(map[string]any{"state": "no-go", "review": rep})
		}
		return withCode(ExitNoGo, "no-go: nothing was changed")
	}
	req := engineRequest(pr, f, actor, func(r store.Run) {
		recordOverrides(ctx, pr.st, r.ID, f.set, pr.secrets)
		prog.printf("golive: run %s: %s %s%s, previous %s, by %s\n", r.ID, r.Plan, r.Release, envSuffix(r.Env), orNone(r.PreviousRelease), r.RequesterIdentity())
		prog.setRun(r.ID)
	})
	req.LockWait = lockWait
	if rep.Go {
		out, err := eng.Start(ctx, req)
		prog.Close()
		return e.finish(ctx, pr, f, out, err)
	}
	run, err := eng.Create(ctx, req, store.StateWaiting, "waiting for "+strings.Join(rep.Reasons, "; "))
	if err != nil {
		return err
	}
	pr.notify.Send("waiting", &run, nil)
	defer pr.notify.Close(notifyWait)
	return e.waitThenContinue(ctx, pr, eng, f, run, rep)
}

func waitsForApprovals(rep *review.Report) bool {
	for _, it := range rep.Items {
		if it.Kind == "approvals" && !it.OK {
			return true
		}
	}
	return false
}

func engineRequest(pr *prepared, f *runFlags, actor string, created func(store.Run)) engine.Request {
	return engine.Request{Rollout: pr.ro, Requester: actor, Ticket: f.ticket, PlanHash: pr.hash, Artifacts: pr.sums, Created: created}
}

// reviewRun reviews the release of pr (for run, when it exists). A run's
// own lock is not a reason to refuse; a new run waits for the lock itself.
func (e *env) reviewRun(ctx context.Context, pr *prepared, eng *engine.Engine, f *runFlags, run *store.Run, skipLock bool) *review.Report {
	return review.Review(ctx, e.reviewInput(pr, eng, f, run, skipLock))
}

func (e *env) reviewInput(pr *prepared, eng *engine.Engine, f *runFlags, run *store.Run, skipLock bool) review.Input {
	ticket := f.ticket
	if run != nil {
		ticket = run.Ticket
	}
	return review.Input{Plan: pr.plan, Rollout: pr.ro, Store: pr.st, Engine: eng, Dialer: e.dialer(pr, f), Parallel: f.parallel, Artifacts: pr.artifacts, ArtErr: pr.artErr,
		Ticket: ticket, Requester: e.actor(f.as), PlanHash: pr.hash, Now: time.Now(), Run: run, SkipLock: skipLock,
		Redact: pr.red.String}
}

// waitThenContinue handles a run waiting for approvals or the window:
// without --wait it says what the run waits for and exits 3; with --wait
// it polls until the wait is over, then releases.
func (e *env) waitThenContinue(ctx context.Context, pr *prepared, eng *engine.Engine, f *runFlags, run store.Run, rep *review.Report) error {
	w := e.human(f)
	if !f.wait {
		fmt.Fprintf(w, "golive: run %s is waiting for: %s\n", run.ID, strings.Join(rep.Reasons, "; "))
		if a := pr.plan.Controls.Approvals; waitsForApprovals(rep) && a != nil && a.Authenticated {
			fmt.Fprint(w, "  approve it through golive serve (controls.approvals.authenticated), then ")
		} else if waitsForApprovals(rep) {
			fmt.Fprintf(w, "  approve it with `golive approve %s`, then ", run.ID)
		} else {
			fmt.Fprint(w, "  ")
		}
		fmt.Fprintf(w, "continue it with `golive resume %s` (or use run --wait)\n", run.ID)
		if f.json {
			out := runJSON(run)
			out["waiting_for"] = rep.Reasons
			e.printJSON(out)
		}
		return silent(ExitNoGo)
	}
	fmt.Fprintf(w, "golive: run %s waits for: %s\n", run.ID, strings.Join(rep.Reasons, "; "))
	err := eng.WaitReady(ctx, func(now time.Time) (bool, bool, *time.Time, string) {
		// An operator may abort or reject the run while it waits.
		if cur, err := pr.st.GetRun(ctx, run.ID); err == nil && cur.State != store.StateWaiting {
			return false, false, nil, fmt.Sprintf("run is %s: %s", cur.State, cur.Reason)
		}
		in := e.reviewInput(pr, eng, f, &run, true)
		in.Now = now
		p := review.Pending(ctx, in)
		return p.Go, p.WaitOnly, p.NextOpen, strings.Join(p.Reasons, "; ")
	})
	switch {
	case ctx.Err() != nil:
		return withCode(ExitNoGo, "stopped waiting; run %s is still waiting: `golive resume %s` continues it", run.ID, run.ID)
	case err != nil:
		if r2, uerr := pr.st.UpdateRunState(ctx, run.ID, []store.State{store.StateWaiting}, store.StateAborted, err.Error()); uerr == nil {
			fmt.Fprintf(w, "golive: run %s aborted: %s\n", run.ID, r2.Reason)
		} else {
			fmt.Fprintf(w, "golive: run %s stopped waiting: %s\n", run.ID, err)
		}
		return silent(ExitNoGo)
	}
	// The wait may have been long: the artifacts must still be the bytes
	// the run was created (and approved) with.
	pr.artifacts, pr.artErr = artifact.Verify(pr.ro, func(path string) string { return load.Path(pr.plan, path) })
	pr.sums = review.Sums(pr.artifacts)
	if err := checkArtifacts(pr, run); err != nil {
		return err
	}
	out, err := eng.Continue(ctx, run, pr.ro)
	return e.finish(ctx, pr, f, out, err)
}

// logger writes warnings (such as an unverified ssh host key) to stderr.
func (e *env) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stdio.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// notifyWait is how long golive waits, at its end, for release
// communications still being delivered.
const notifyWait = 15 * time.Second

// observers tells several observers about each event; nil ones are skipped.
type observers []engine.Observer

func (os observers) Observe(ev store.Event) {
	for _, o := range os {
		if o != nil && !isNilNotifier(o) {
			o.Observe(ev)
		}
	}
}

func isNilNotifier(o engine.Observer) bool {
	n, ok := o.(*notify.Notifier)
	return ok && n == nil
}

// finish prints the outcome of a run and decides the exit code.
func (e *env) finish(ctx context.Context, pr *prepared, f *runFlags, out *engine.Outcome, err error) error {
	defer pr.notify.Close(notifyWait)
	var locked *store.LockedError
	var busy *engine.HolderBusyError
	var storeFailed *engine.StoreError
	var lost *engine.LockLostError
	switch {
	case errors.As(err, &lost):
		id := ""
		if out != nil {
			id = " " + out.Run.ID
		}
		// Another controller executes the run now: this one was fenced.
		return withCode(ExitIncomplete, "run%s was taken over by another controller (%s); this one stopped and changes nothing more",
			id, pr.red.String(lost.Err.Error()))
	case errors.As(err, &locked):
		l := locked.Lock
		state, by := "", l.Requester
		if r, gerr := pr.st.GetRun(ctx, l.RunID); gerr == nil {
			state, by = fmt.Sprintf(" (%s)", r.State), r.RequesterIdentity().String()
		}
		return withCode(ExitNoGo, "no-go: environment %s of %s is locked by run %s%s, started by %s at %s (%s); wait with --lock-wait, or resume/backout/abort that run",
			orDefault(l.Env, "(default)"), l.Plan, l.RunID, state, by, l.AcquiredAt.Local().Format(time.RFC3339), l.Holder)
	case errors.As(err, &busy):
		return withCode(ExitNoGo, "%s", busy)
	case errors.As(err, &storeFailed):
		e.printStoreFailed(pr, storeFailed)
		return &reported{err}
	case err != nil && out == nil:
		return err
	}
	e.printOutcome(e.human(f), out, pr.red)
	if f.json {
		e.printJSON(outcomeJSON(out))
	}
	events, _ := pr.st.Events(ctx, out.Run.ID, 0)
	touched := touchedRun(ctx, pr.st, out.Run.ID)
	if err != nil {
		fmt.Fprintf(e.stdio.Err, "golive: %s\n", pr.red.String(err.Error()))
	}
	e.printHostSummary(ctx, e.human(f), pr, events)
	return silent(exitFor(out, touched))
}

// printStoreFailed says what a store failure mid-run left and what to do.
func (e *env) printStoreFailed(pr *prepared, se *engine.StoreError) {
	where := ""
	if p := store.PathOf(pr.st); p != "" {
		where = " (" + p + ")"
	}
	fmt.Fprintf(e.stdio.Err, `golive: run %[1]s stopped: the state store%[2]s failed: %[3]s
  golive cannot journal what it does, so it started nothing more and terminated what ran;
  the run is left as the store last recorded it and keeps the environment locked: its
  targets may be half-done. Fix the store (free disk space, make it writable), then
  `+"`golive resume %[1]s`"+` continues the run or `+"`golive backout %[1]s`"+` backs it out.
`, se.RunID, where, pr.red.String(se.Err.Error()))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (e *env) printOutcome(w io.Writer, out *engine.Outcome, red *redact.Redactor) {
	r := out.Run
	fmt.Fprintf(w, "golive: run %s %s: %s\n", r.ID, strings.ToUpper(string(r.State)), red.String(r.Reason))
	for _, nb := range out.NotBackedOut {
		fmt.Fprintf(w, "  not backed out (no backout script): %s\n", nb)
	}
	for _, a := range out.Attention {
		fmt.Fprintf(w, "  NEEDS ATTENTION: %s\n", red.String(a))
	}
	switch r.State {
	case store.StateFailed:
		fmt.Fprintf(w, "  automatic backout is off: run `golive backout %s` or accept with `golive resume %s --accept`\n", r.ID, r.ID)
	case store.StateBackoutFailed:
		fmt.Fprintf(w, "  fix the hosts above, then run `golive backout %s` again to finish\n", r.ID)
	case store.StateBackingOut:
		fmt.Fprintf(w, "  the backout was abandoned halfway; the journal says what is left: `golive backout %s` finishes it\n", r.ID)
	}
}

// printHostSummary prints, per touched host, the release live on it now
// and how long the run worked on it.
func (e *env) printHostSummary(ctx context.Context, w io.Writer, pr *prepared, events []store.Event) {
	first, last := map[string]time.Time{}, map[string]time.Time{}
	var order []string
	for _, ev := range events {
		if ev.Host == "" || (ev.Kind != store.KindStep && ev.Kind != store.KindHost && ev.Kind != store.KindCheck) {
			continue
		}
		if _, seen := first[ev.Host]; !seen {
			first[ev.Host] = ev.Time
			order = append(order, ev.Host)
		}
		last[ev.Host] = ev.Time
	}
	if len(order) == 0 {
		return
	}
	live, err := pr.st.Live(ctx, pr.ro.Plan, pr.ro.Env)
	if err != nil {
		return
	}
	if len(order) > 50 {
		count := map[string]int{}
		for _, h := range order {
			count[orDefault(live[h].Release, "(none recorded)")]++
		}
		fmt.Fprintf(w, "%d hosts touched; live now:", len(order))
		for rel, n := range count {
			fmt.Fprintf(w, " %s on %d", rel, n)
		}
		fmt.Fprintln(w)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	verdicts := backoutVerdicts(events)
	if len(verdicts) == 0 {
		fmt.Fprintln(tw, "HOST\tLIVE NOW\tTOOK")
	} else {
		fmt.Fprintln(tw, "HOST\tLIVE NOW\tTOOK\tBACKOUT")
	}
	for _, h := range order {
		fmt.Fprintf(tw, "%s\t%s\t%s", h, orDefault(live[h].Release, "(none recorded)"), last[h].Sub(first[h]).Round(time.Millisecond))
		if len(verdicts) > 0 {
			fmt.Fprintf(tw, "\t%s", pr.red.String(orDefault(verdicts[h], "-")))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// human is where output for a person goes: stdout, or stderr when stdout
// carries --json.
func (e *env) human(f *runFlags) io.Writer {
	if f.json {
		return e.stdio.Err
	}
	return e.stdio.Out
}

// renderReview prints a go/no-go report: through the escaping writer, or,
// on a colour terminal, raw (for the colours) with every value cleaned.
func (e *env) renderReview(w io.Writer, rep *review.Report) {
	if e.colour(w) {
		ui.RenderReview(termsafe.Raw(w), termsafe.Clean(rep), ui.Style{Colour: true})
		return
	}
	ui.RenderReview(w, rep, ui.Style{})
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdio.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func outcomeJSON(o *engine.Outcome) map[string]any {
	r := o.Run
	return map[string]any{
		"id": r.ID, "plan": r.Plan, "environment": r.Env, "release": r.Release, "previous": r.PreviousRelease,
		"state": r.State, "reason": r.Reason, "requester": r.Requester, "ticket": r.Ticket,
		"needs_attention": nonNil(o.Attention), "not_backed_out": nonNil(o.NotBackedOut),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
