package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/golive-dev/golive/internal/artifact"
	"github.com/golive-dev/golive/internal/engine"
	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/plan"
	"github.com/golive-dev/golive/internal/redact"
	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/transport"
	"github.com/golive-dev/golive/internal/transport/local"
	sshtr "github.com/golive-dev/golive/internal/transport/ssh"
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
	hash      string
	artifacts map[string]artifact.File
}

// prepare loads the plan, opens the store and builds the rollout for
// release with previous; runID is "" for a new run.
func (e *env) prepare(ctx context.Context, f *runFlags, args []string, release, previous string, known bool, runID string) (*prepared, error) {
	p, err := e.loadPlan(&f.planFlags, args)
	if err != nil {
		return nil, err
	}
	if err := refuseUnenforced(p); err != nil {
		return nil, err
	}
	st, err := e.openStore(ctx, f.store, p.File)
	if err != nil {
		return nil, err
	}
	pr := &prepared{plan: p, st: st}
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
	pr.red = red
	pr.ro, err = rollout.Build(rollout.Input{Plan: p, Release: release, Previous: previous, RunID: runID, Env: e.environMap(), Secrets: secrets})
	if err != nil {
		st.Close()
		return nil, withCode(ExitUsage, "%s", red.String(err.Error()))
	}
	if pr.hash, err = planHash(p); err != nil {
		st.Close()
		return nil, err
	}
	pr.artifacts, err = artifact.Verify(pr.ro, func(path string) string { return load.Path(p, path) })
	if err != nil {
		st.Close()
		return nil, withCode(ExitNoGo, "no-go: %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return pr, nil
}

// refuseUnenforced is a no-go for plans that rely on release controls or
// monitors this golive cannot enforce yet: running them would pretend.
func refuseUnenforced(p *plan.Plan) error {
	var what []string
	if p.Window != nil {
		what = append(what, "window")
	}
	c := p.Controls
	if c.Ticket != nil && c.Ticket.Required {
		what = append(what, "controls.ticket")
	}
	if c.Approvals != nil && c.Approvals.Required > 0 {
		what = append(what, "controls.approvals")
	}
	if c.RehearsedIn != "" {
		what = append(what, "controls.rehearsed_in")
	}
	for _, s := range p.Stages {
		if s.Gate != nil {
			what = append(what, "stage "+s.Name+" gate")
		}
	}
	for _, v := range p.Verify {
		if v.Confirm != nil {
			what = append(what, "verify confirm")
		}
	}
	if len(p.Monitors) > 0 {
		what = append(what, "monitors")
	}
	if len(what) == 0 {
		return nil
	}
	return withCode(ExitNoGo, "no-go: this plan uses %s, which this golive cannot enforce yet; refusing to run rather than ignore them", strings.Join(what, ", "))
}

func (e *env) newEngine(pr *prepared, f *runFlags, obs engine.Observer) *engine.Engine {
	return engine.New(engine.Options{
		Store: pr.st,
		Transports: map[string]transport.Transport{
			"local": &local.Transport{},
			"ssh":   &sshtr.Transport{InsecureIgnoreHostKeys: f.insecure, Logger: e.logger()},
		},
		Observer:  obs,
		Redactor:  pr.red,
		Parallel:  f.parallel,
		Artifacts: pr.artifacts,
		PlanDir:   filepath.Dir(pr.plan.File),
		Resolve:   func(path string) string { return load.Path(pr.plan, path) },
	})
}

func (e *env) runRelease(ctx context.Context, f *runFlags, args []string, lockWait time.Duration) error {
	pr, err := e.prepare(ctx, f, args, f.release, "", false, "")
	if err != nil {
		return err
	}
	defer pr.st.Close()
	if len(pr.plan.Notify) > 0 {
		fmt.Fprintln(e.stdio.Err, "golive: warning: notify is not implemented yet; no messages will be sent")
	}
	w := e.human(f)
	prog := e.progress(pr, w)
	eng := e.newEngine(pr, f, prog)
	if err := e.preflight(ctx, eng, pr, w); err != nil {
		return err
	}
	actor := e.actor(f.as)
	out, err := eng.Start(ctx, engine.Request{
		Rollout: pr.ro, Requester: actor, Ticket: f.ticket, PlanHash: pr.hash, LockWait: lockWait,
		Created: func(r store.Run) {
			fmt.Fprintf(w, "golive: run %s: %s %s%s, previous %s, by %s\n", r.ID, r.Plan, r.Release, envSuffix(r.Env), orNone(r.PreviousRelease), actor)
			prog.setRun(r.ID)
		},
	})
	prog.Close()
	return e.finish(ctx, pr, f, out, err)
}

// preflight runs the plan's preflight checks; any failure is a no-go and
// nothing changes on any target.
func (e *env) preflight(ctx context.Context, eng *engine.Engine, pr *prepared, w io.Writer) error {
	if len(pr.ro.Preflight) == 0 {
		return nil
	}
	failed := 0
	for _, r := range eng.Preflight(ctx, pr.ro) {
		where := ""
		if r.Host != "" {
			where = " on " + r.Host
		}
		mark := "✔"
		if !r.OK {
			mark = "✘"
			failed++
		}
		fmt.Fprintf(w, "%s preflight %q%s: %s\n", mark, r.Check, where, pr.red.String(r.Detail))
	}
	if failed > 0 {
		return withCode(ExitNoGo, "no-go: %d preflight check(s) failed; nothing was changed", failed)
	}
	return nil
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
func (e *env) finish(ctx context.Context, pr *prepared, f *runFlags, out *engine.Outcome, err error) error {
	var locked *store.LockedError
	var busy *engine.HolderBusyError
	switch {
	case errors.As(err, &locked):
		l := locked.Lock
		state := ""
		if r, gerr := pr.st.GetRun(ctx, l.RunID); gerr == nil {
			state = fmt.Sprintf(" (%s)", r.State)
		}
		return withCode(ExitNoGo, "no-go: environment %s of %s is locked by run %s%s, started by %s at %s (%s); wait with --lock-wait, or resume/backout/abort that run",
			orDefault(l.Env, "(default)"), l.Plan, l.RunID, state, l.Requester, l.AcquiredAt.Local().Format(time.RFC3339), l.Holder)
	case errors.As(err, &busy):
		return withCode(ExitNoGo, "%s", busy)
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
	fmt.Fprintln(tw, "HOST\tLIVE NOW\tTOOK")
	for _, h := range order {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", h, orDefault(live[h].Release, "(none recorded)"), last[h].Sub(first[h]).Round(time.Millisecond))
	}
	tw.Flush()
}

// progressSink adapts ui.Progress, whose run id is known only once the
// run is created.
type progressSink struct {
	p   *ui.Progress
	ro  *rollout.Rollout
	w   io.Writer
	tty bool
}

func (e *env) progress(pr *prepared, w io.Writer) *progressSink {
	return &progressSink{ro: pr.ro, w: w, tty: e.colour(w)}
}

func (s *progressSink) setRun(id string) {
	o := ui.ProgressOptions{TTY: s.tty, Style: ui.Style{Colour: s.tty}}
	if f, ok := s.w.(*os.File); ok && s.tty {
		if w, h, err := term.GetSize(int(f.Fd())); err == nil {
			o.Width, o.Height = w, h
		}
	}
	s.p = ui.NewProgress(s.w, s.ro, id, o)
}

func (s *progressSink) Observe(ev store.Event) {
	if s.p != nil {
		s.p.Observe(ev)
	}
}

func (s *progressSink) Close() {
	if s.p != nil {
		s.p.Close()
	}
}

// human is where output for a person goes: stdout, or stderr when stdout
// carries --json.
func (e *env) human(f *runFlags) io.Writer {
	if f.json {
		return e.stdio.Err
	}
	return e.stdio.Out
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
