package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/approval"
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
			if !live && (len(f.set) > 0 || f.secretsFile != "") {
				return fmt.Errorf("%w: status: --set and --secrets-file are for --live (reading a run renders no plan values)", errUsage)
			}
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
				out["reason"] = sts.Reason()
				out["kind"], _ = release.RunKind(events)
				if o := overrideLine(events); o != "" {
					out["override"] = o
				}
				if t := sts.RunApprovals; t != nil {
					out["approval_tally"] = tallyJSON(*t)
				}
				if t := sts.OverrideApproval; t != nil {
					out["override_tally"] = tallyJSON(*t)
				}
				return e.printJSON(out)
			}
			w := tabwriter.NewWriter(e.stdio.Out, 0, 0, 2, ' ', 0)
			fmt.Fprintf(w, "run\t%s\n", r.ID)
			kind, _ := release.RunKind(events)
			fmt.Fprintf(w, "kind\t%s\n", kind)
			if o := overrideLine(events); o != "" {
				fmt.Fprintf(w, "BREAK-GLASS\t%s\n", o)
			}
			fmt.Fprintf(w, "plan\t%s%s\n", r.Plan, envSuffix(r.Env))
			fmt.Fprintf(w, "release\t%s (previous: %s)\n", r.Release, orNone(r.PreviousRelease))
			if gone {
				fmt.Fprintf(w, "state\t%s, but its controller is gone: run `golive resume %s` or `golive backout %s`\n", r.State, r.ID, r.ID)
			} else {
				fmt.Fprintf(w, "state\t%s\n", r.State)
			}
			fmt.Fprintf(w, "reason\t%s\n", sts.Reason())
			if t := sts.RunApprovals; t != nil {
				fmt.Fprintf(w, "approved\t%s\n", t.Summary())
			}
			if t := sts.OverrideApproval; t != nil {
				fmt.Fprintf(w, "break-glass\t%s\n", t.Summary())
			}
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
	f.registerRead(c)
	// status --live renders the plan's targets.current: its values.
	c.Flags().StringArrayVar(&f.set, "set", nil, "with --live: override a var: NAME=VALUE (repeatable)")
	c.Flags().StringVar(&f.secretsFile, "secrets-file", "", "with --live: file of NAME=VALUE lines for ${{ secrets.NAME }}")
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

// tallyJSON is where a run's approvals stand now, for status --json.
func tallyJSON(t approval.Tally) map[string]any {
	names := []string{}
	for _, a := range t.Approved {
		names = append(names, a.Identity().String())
	}
	m := map[string]any{"required": t.Required, "approved_by": names, "missing": t.Missing(), "satisfied": t.Satisfied()}
	if t.Rejected != nil {
		m["rejected_by"] = t.Rejected.Identity().String()
	}
	return m
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

// runJSON is a run in golive's one JSON shape (release.RunJSON).
func runJSON(r store.Run) map[string]any {
	return release.RunJSON(r)
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
			runs, err := e.service(&f).RunsWithKind(ctx, release.RunsOptions{Plan: f.planInput(file), Limit: limit})
			if err != nil {
				return err
			}
			if f.json {
				out := []map[string]any{}
				for _, r := range runs {
					m := runJSON(r.Run)
					m["kind"] = r.Kind
					if r.Override != "" {
						m["override_reason"] = r.Override
					}
					out = append(out, m)
				}
				return e.printJSON(out)
			}
			printHistory(e.stdio.Out, runs)
			return nil
		},
	}
	f.registerRead(c)
	c.Flags().BoolVar(&f.json, "json", false, "machine-readable output")
	c.Flags().IntVar(&limit, "limit", 20, "at most this many runs")
	return c
}

func printHistory(out io.Writer, runs []release.RunInfo) {
	if len(runs) == 0 {
		fmt.Fprintln(out, "no runs yet")
		return
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tKIND\tPLAN\tENV\tRELEASE\tPREVIOUS\tSTATE\tBY\tCREATED\tREASON")
	for _, r := range runs {
		reason := r.Reason
		if len(reason) > 60 {
			reason = strings.ToValidUTF8(reason[:57], "") + "..."
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Plan, orDefault(r.Env, "-"), r.Release,
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
			return e.printLogs(ctx, st, r.ID, logFilter{host: host, step: step, follow: follow, json: f.json})
		},
	}
	f.registerRead(c)
	c.Flags().BoolVar(&f.json, "json", false, "one JSON object a line per event (the API's event shape)")
	c.Flags().StringVar(&host, "host", "", "only events of this host")
	c.Flags().StringVar(&step, "step", "", "only events of this step (or check)")
	c.Flags().BoolVar(&follow, "follow", false, "keep printing new events until the run ends")
	return c
}

// logFilter is what logs prints, and how.
type logFilter struct {
	host, step   string
	follow, json bool
}

func (e *env) printLogs(ctx context.Context, st store.Store, id string, lf logFilter) error {
	host, step, follow := lf.host, lf.step, lf.follow
	enc := json.NewEncoder(e.stdio.Out)
	return release.FollowJournal(ctx, st, id, 0, follow, 0, func(ev store.Event) error {
		if (host != "" && ev.Host != host) || (step != "" && ev.Step != step) {
			return nil
		}
		if lf.json {
			return enc.Encode(release.EventOf(ev))
		}
		fmt.Fprintln(e.stdio.Out, formatEvent(ev))
		if ev.Output != "" && ev.Action != store.ActionStarted {
			for _, line := range strings.Split(strings.TrimRight(ev.Output, "\n"), "\n") {
				fmt.Fprintf(e.stdio.Out, "    | %s\n", line)
			}
		}
		return nil
	})
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
