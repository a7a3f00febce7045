package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/review"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/termsafe"
	"github.com/golive-dev/golive/internal/ui"
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

func (e *env) runRelease(ctx context.Context, f *runFlags, args []string, lockWait time.Duration) error {
	file, err := f.planFile(args)
	if err != nil {
		return err
	}
	w := e.human(f)
	prog := e.progress(w)
	defer prog.Close()
	res, err := e.service(f).Start(ctx, release.StartOptions{Plan: f.planInput(file), Release: f.release, Ticket: f.ticket,
		By: e.identity(f), Wait: f.wait, LockWait: lockWait, Parallel: f.parallel, Watch: e.watch(w, prog, "run")})
	return e.released(res, f, prog, err)
}

// released prints how a call that may leave a run waiting ended (run,
// resume) and decides the exit code. The progress display ends first, so
// that what it shows (the new run's id) comes before.
func (e *env) released(res *release.Result, f *runFlags, prog *progressSink, err error) error {
	prog.Close()
	var re *release.Error
	var ended *release.WaitEndedError
	switch {
	case errors.As(err, &re) && re.Kind == release.NoGo && re.Report != nil && f.json:
		e.printJSON(map[string]any{"state": "no-go", "review": re.Report})
		return err
	case errors.As(err, &ended):
		fmt.Fprintf(e.human(f), "golive: %s\n", ended)
		return silent(ExitNoGo)
	case err == nil && res != nil && res.Outcome == nil && len(res.Waiting) > 0:
		e.printWaiting(res, f)
		return silent(ExitNoGo)
	}
	return e.finish(res, f, err)
}

// printWaiting says what a run waits for and how it goes on.
func (e *env) printWaiting(res *release.Result, f *runFlags) {
	w, run, rep := e.human(f), res.Run, res.Review
	fmt.Fprintf(w, "golive: run %s is waiting for: %s\n", run.ID, strings.Join(rep.Reasons, "; "))
	if a := res.Plan.Controls.Approvals; release.WaitsForApprovals(rep) && a != nil && a.Authenticated {
		fmt.Fprint(w, "  approve it through golive serve (controls.approvals.authenticated), then ")
	} else if release.WaitsForApprovals(rep) {
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

// finish prints the outcome of a run and decides the exit code.
func (e *env) finish(res *release.Result, f *runFlags, err error) error {
	var locked *release.LockedError
	var storeFailed *engine.StoreError
	var lost *engine.LockLostError
	switch {
	case errors.As(err, &lost):
		id, why := "", lost.Err.Error()
		if res != nil {
			if res.Run.ID != "" {
				id = " " + res.Run.ID
			}
			if res.Redactor != nil {
				why = res.Redactor.String(why)
			}
		}
		// Another controller executes the run now: this one was fenced.
		return withCode(ExitIncomplete, "run%s was taken over by another controller (%s); this one stopped and changes nothing more", id, why)
	case errors.As(err, &locked):
		l := locked.Lock
		state, by := "", l.Requester
		if r := locked.Holder; r != nil {
			state, by = fmt.Sprintf(" (%s)", r.State), r.RequesterIdentity().String()
		}
		return withCode(ExitNoGo, "no-go: environment %s of %s is locked by run %s%s, started by %s at %s (%s); wait with --lock-wait, or resume/backout/abort that run",
			orDefault(l.Env, "(default)"), l.Plan, l.RunID, state, by, l.AcquiredAt.Local().Format(time.RFC3339), l.Holder)
	case errors.As(err, &storeFailed) && res != nil:
		e.printStoreFailed(res, storeFailed)
		return &reported{err}
	case err != nil && (res == nil || res.Outcome == nil):
		return err
	}
	out := res.Outcome
	e.printOutcome(e.human(f), out, res.Redactor)
	if f.json {
		e.printJSON(outcomeJSON(out))
	}
	if err != nil {
		fmt.Fprintf(e.stdio.Err, "golive: %s\n", res.Redactor.String(err.Error()))
	}
	e.printHostSummary(e.human(f), res)
	if f.backoutAsked {
		return silent(exitForBackout(out, res.Touched))
	}
	return silent(exitFor(out, res.Touched))
}

// printStoreFailed says what a store failure mid-run left and what to do.
func (e *env) printStoreFailed(res *release.Result, se *engine.StoreError) {
	where := ""
	if p := res.StorePath; p != "" {
		where = " (" + p + ")"
	}
	fmt.Fprintf(e.stdio.Err, `golive: run %[1]s stopped: the state store%[2]s failed: %[3]s
  golive cannot journal what it does, so it started nothing more and terminated what ran;
  the run is left as the store last recorded it and keeps the environment locked: its
  targets may be half-done. Fix the store (free disk space, make it writable), then
  `+"`golive resume %[1]s`"+` continues the run or `+"`golive backout %[1]s`"+` backs it out.
`, se.RunID, where, res.Redactor.String(se.Err.Error()))
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
func (e *env) printHostSummary(w io.Writer, res *release.Result) {
	events := res.Events
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
	live := res.Live
	if live == nil {
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
			fmt.Fprintf(tw, "\t%s", res.Redactor.String(orDefault(verdicts[h], "-")))
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
