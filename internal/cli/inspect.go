package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

func newStatus(e *env) *cobra.Command {
	var f runFlags
	var live bool
	c := &cobra.Command{
		Use:   "status [RUN]",
		Short: "Show a run: state, reason, who, when, lock, hosts",
		Long: `Status shows a run: state, reason, who, when, lock, hosts, approvals.

With --live it shows instead, for every host of the plan, the release
targets.current finds there beside the release golive recorded as live
and the run that recorded it; a difference is marked DRIFT. It changes
nothing. Exit 0 (also when there is drift), 2 when the plan has no
targets.current.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if live {
				if len(args) > 0 {
					return fmt.Errorf("%w: status --live shows hosts, not a run: give no RUN", errUsage)
				}
				return e.statusLive(c.Context(), &f)
			}
			id := "last"
			if len(args) == 1 {
				id = args[0]
			}
			sts, err := e.service(&f).Status(c.Context(), f.runRef(id))
			if err != nil {
				return err
			}
			r, events, approvals, notCounted, gone := sts.Run, sts.Events, sts.Approvals, sts.NotCounted, sts.ControllerGone
			lease := sts.Lease
			sum := summarize(events)
			if f.json {
				out := runJSON(r)
				out["hosts"] = sum.hosts
				out["needs_attention"] = nonNil(sum.attention)
				out["backout_verification"] = backoutVerdicts(events)
				if lock := sts.Lock; lock != nil {
					out["lock"] = map[string]any{"holder": lock.Holder.String(), "heartbeat": lock.HeartbeatAt}
				}
				if lease.Epoch > 0 {
					out["lease"] = map[string]any{"holder": lease.Holder, "epoch": lease.Epoch, "expires": lease.Expires}
				}
				out["controller_gone"] = gone
				out["approvals"] = approvalsJSON(approvals, notCounted)
				return e.printJSON(out)
			}
			w := tabwriter.NewWriter(e.stdio.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "run\t%s\n", r.ID)
			fmt.Fprintf(w, "plan\t%s%s\n", r.Plan, envSuffix(r.Env))
			fmt.Fprintf(w, "release\t%s (previous: %s)\n", r.Release, orNone(r.PreviousRelease))
			if gone {
				fmt.Fprintf(w, "state\t%s, but its controller is gone: run `golive resume %s` or `golive backout %s`\n", r.State, r.ID, r.ID)
			} else {
				fmt.Fprintf(w, "state\t%s\n", r.State)
			}
			fmt.Fprintf(w, "reason\t%s\n", r.Reason)
			fmt.Fprintf(w, "requester\t%s\n", r.RequesterIdentity())
			if r.Ticket != "" {
				fmt.Fprintf(w, "ticket\t%s\n", r.Ticket)
			}
			fmt.Fprintf(w, "created\t%s\n", fmtTime(r.CreatedAt))
			if !r.StartedAt.IsZero() {
				fmt.Fprintf(w, "started\t%s\n", fmtTime(r.StartedAt))
			}
			if !r.FinishedAt.IsZero() {
				fmt.Fprintf(w, "finished\t%s (took %s)\n", fmtTime(r.FinishedAt), r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond))
			}
			if lock := sts.Lock; lock != nil {
				fmt.Fprintf(w, "lock\theld by %s, heartbeat %s\n", lock.Holder, fmtTime(lock.HeartbeatAt))
			}
			if lease.Epoch > 0 && !r.State.Terminal() {
				verb := "until"
				if lease.Expired(time.Now()) {
					verb = "expired"
				}
				fmt.Fprintf(w, "lease\t%s (epoch %d), %s %s\n", lease.Holder, lease.Epoch, verb, fmtTime(lease.Expires))
			}
			fmt.Fprintf(w, "hosts\t%s\n", sum.hostLine())
			label := "backout"
			for _, l := range verdictLines(backoutVerdicts(events)) {
				fmt.Fprintf(w, "%s\t%s\n", label, l)
				label = ""
			}
			w.Flush()
			for _, a := range sum.attention {
				fmt.Fprintf(e.stdio.Out, "NEEDS ATTENTION: %s\n", a)
			}
			printAudit(e.stdio.Out, approvals, notCounted, events)
			return nil
		},
	}
	f.register(c, false)
	f.registerRun(c)
	c.Flags().BoolVar(&f.json, "json", false, "machine-readable output")
	c.Flags().BoolVar(&live, "live", false, "probe every host (targets.current): found beside recorded release")
	f.registerSSH(c)
	return c
}

// printAudit lists the decisions people made on the run: approvals and
// rejections (with who vouches for the name, and why one does not count),
// aborts, pauses and overrides, with who and when.
func printAudit(w io.Writer, approvals []store.Approval, notCounted map[int64]string, events []store.Event) {
	if len(approvals) > 0 {
		fmt.Fprintln(w, "approvals:")
		for _, a := range approvals {
			c := ""
			if a.Comment != "" {
				c = fmt.Sprintf(": %q", a.Comment)
			}
			fmt.Fprintf(w, "  %s  %-8s %s by %s%s\n", fmtTime(a.Time), a.Decision, orDefault(a.Gate, "run"), a.Identity(), c)
			if why := notCounted[a.ID]; why != "" {
				fmt.Fprintf(w, "      does not count: %s\n", why)
			}
		}
	}
	var audit []store.Event
	for _, ev := range events {
		switch ev.Action {
		case "abort_requested", "force_aborted", "paused", "gate_passed", "window_closed", "resumed", store.ActionStolen, actionOverrides:
			audit = append(audit, ev)
		}
	}
	if len(audit) > 0 {
		fmt.Fprintln(w, "audit:")
		for _, ev := range audit {
			fmt.Fprintf(w, "  %s\n", formatEvent(ev))
		}
	}
}

// approvalsJSON lists approvals for status --json, with why one does not
// count.
func approvalsJSON(approvals []store.Approval, notCounted map[int64]string) []map[string]any {
	list := []map[string]any{}
	for _, a := range approvals {
		m := approvalJSON(a, "approver")
		if why := notCounted[a.ID]; why != "" {
			m["not_counted"] = why
		}
		list = append(list, m)
	}
	return list
}

// approvalJSON is an approval for --json output; whoKey names the
// claimed name's key ("approver" in status, "who" in report).
func approvalJSON(a store.Approval, whoKey string) map[string]any {
	m := map[string]any{whoKey: a.Approver, "by": a.Identity().String(), "identity": a.Identity(),
		"decision": a.Decision, "gate": orDefault(a.Gate, "run"), "comment": a.Comment, "time": a.Time}
	if a.Artifacts.Bound() {
		m["artifacts"] = a.Artifacts.Map()
	}
	return m
}

func fmtTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") }

func runJSON(r store.Run) map[string]any {
	out := map[string]any{
		"id": r.ID, "plan": r.Plan, "environment": r.Env, "release": r.Release, "previous": r.PreviousRelease,
		"state": r.State, "reason": r.Reason, "requester": r.Requester, "ticket": r.Ticket, "plan_hash": r.PlanHash,
		"created": r.CreatedAt, "requested_by": r.RequesterIdentity().String(), "requester_identity": r.RequesterIdentity(),
	}
	if r.Artifacts.Bound() {
		out["artifacts"] = r.Artifacts.Map()
	}
	if !r.StartedAt.IsZero() {
		out["started"] = r.StartedAt
	}
	if !r.FinishedAt.IsZero() {
		out["finished"] = r.FinishedAt
	}
	return out
}

// runSummary is what the journal says about a run's hosts.
type runSummary struct {
	hosts     map[string]string // host -> last state
	attention []string
}

func summarize(events []store.Event) runSummary {
	s := runSummary{hosts: map[string]string{}}
	for _, ev := range events {
		switch {
		case isBackoutVerdict(ev): // told apart: see backoutVerdicts
		case ev.Kind == store.KindHost && ev.Host != "":
			s.hosts[ev.Host] = string(ev.Action)
		case ev.Kind == store.KindRun && ev.Action == "needs_attention":
			s.attention = append(s.attention, ev.Message)
		}
	}
	return s
}

func (s runSummary) hostLine() string {
	if len(s.hosts) == 0 {
		return "none touched"
	}
	count := map[string]int{}
	for _, st := range s.hosts {
		count[st]++
	}
	var parts []string
	for st, n := range count {
		parts = append(parts, fmt.Sprintf("%d %s", n, st))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func newHistory(e *env) *cobra.Command {
	var f runFlags
	var limit int
	c := &cobra.Command{
		Use:   "history [FILE]",
		Short: "List the runs of the plan (newest first)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			file, err := f.planFile(args)
			if err != nil {
				return err
			}
			if _, err := os.Stat(e.storePath(f.store, file)); err != nil && !strings.Contains(e.storePath(f.store, file), "://") {
				if f.json {
					return e.printJSON([]any{})
				}
				fmt.Fprintln(e.stdio.Out, "no runs yet")
				return nil
			}
			runs, err := e.service(&f).Runs(ctx, release.RunsOptions{Plan: f.planInput(file), Limit: limit})
			if err != nil {
				return err
			}
			if f.json {
				out := []map[string]any{}
				for _, r := range runs {
					out = append(out, runJSON(r))
				}
				return e.printJSON(out)
			}
			printHistory(e.stdio.Out, runs)
			return nil
		},
	}
	f.register(c, false)
	f.registerRun(c)
	c.Flags().BoolVar(&f.json, "json", false, "machine-readable output")
	c.Flags().IntVar(&limit, "limit", 20, "at most this many runs")
	return c
}

func printHistory(out io.Writer, runs []store.Run) {
	if len(runs) == 0 {
		fmt.Fprintln(out, "no runs yet")
		return
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tPLAN\tENV\tRELEASE\tPREVIOUS\tSTATE\tBY\tCREATED\tREASON")
	for _, r := range runs {
		reason := r.Reason
		if len(reason) > 60 {
			reason = strings.ToValidUTF8(reason[:57], "") + "..."
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Plan, orDefault(r.Env, "-"), r.Release,
			orDefault(r.PreviousRelease, "-"), r.State, r.RequesterIdentity(), r.CreatedAt.Local().Format("2006-01-02 15:04"), reason)
	}
	w.Flush()
}

func newLogs(e *env) *cobra.Command {
	var f runFlags
	var host, step string
	var follow bool
	c := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a run's journal: every event with output tails",
		Args:  exactArgs(1, "RUN"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			st, r, err := e.onRunRead(ctx, &f, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			return e.printLogs(ctx, st, r.ID, host, step, follow)
		},
	}
	f.register(c, false)
	f.registerRun(c)
	c.Flags().StringVar(&host, "host", "", "only events of this host")
	c.Flags().StringVar(&step, "step", "", "only events of this step (or check)")
	c.Flags().BoolVar(&follow, "follow", false, "keep printing new events until the run ends")
	return c
}

func (e *env) printLogs(ctx context.Context, st store.Store, id, host, step string, follow bool) error {
	var after int64
	// A store that announces new events (PostgreSQL: LISTEN/NOTIFY) wakes
	// the follower; it still re-reads now and then in case a notification
	// was lost with a connection. Others are polled.
	var wake <-chan struct{}
	poll := 300 * time.Millisecond
	if f := store.FollowerOf(st); f != nil && follow {
		if ch, err := f.Notify(ctx, id); err == nil {
			wake, poll = ch, 5*time.Second
		}
	}
	for {
		events, err := st.Events(ctx, id, after)
		if err != nil {
			return err
		}
		for _, ev := range events {
			after = ev.Seq
			if (host != "" && ev.Host != host) || (step != "" && ev.Step != step) {
				continue
			}
			fmt.Fprintln(e.stdio.Out, formatEvent(ev))
			if ev.Output != "" && ev.Action != store.ActionStarted {
				for _, line := range strings.Split(strings.TrimRight(ev.Output, "\n"), "\n") {
					fmt.Fprintf(e.stdio.Out, "    | %s\n", line)
				}
			}
		}
		if !follow {
			return nil
		}
		r, err := st.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if r.State.Terminal() && len(events) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(poll):
		}
	}
}

func formatEvent(ev store.Event) string {
	var where []string
	for _, s := range []string{ev.Stage, ev.Host, ev.Step} {
		if s != "" {
			where = append(where, s)
		}
	}
	line := fmt.Sprintf("%s  %-5d %-8s %-15s %s", ev.Time.Local().Format("15:04:05.000"), ev.Seq, ev.Kind, ev.Action, strings.Join(where, " "))
	if ev.ExitCode != nil {
		line += fmt.Sprintf(" exit %d", *ev.ExitCode)
	}
	if ev.Duration > 0 {
		line += fmt.Sprintf(" (%s)", ev.Duration.Round(time.Millisecond))
	}
	switch {
	case ev.Kind == store.KindRun && ev.Action == actionOverrides:
		line += ": --set " + overridesShown(ev.Message, nil)
	case ev.Message != "":
		line += ": " + ev.Message
	}
	if ev.Actor != "" {
		line += " [by " + ev.ActorIdentity().String() + "]"
	}
	return strings.TrimRight(line, " ")
}
