package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/golive-dev/golive/internal/load"
	"github.com/golive-dev/golive/internal/store"
)

func newReport(e *env) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "report RUN",
		Short: "Write a run's release report (Markdown, or --json)",
		Long: `Report writes the record of a release for the people around it: what was
released where, by whom, under which ticket and approvals, how each stage and
host went, what failed and why, what was backed out and what needs attention,
how verification and the monitors went, and who was told. RUN is a run id or
"last". The plan file, when it is there, adds its owner, contacts and success
criteria.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			st, r, err := e.onRun(ctx, &f, args[0])
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := buildReport(ctx, st, r, &f)
			if err != nil {
				return err
			}
			if f.json {
				return e.printJSON(rep)
			}
			rep.markdown(e.stdio.Out)
			return nil
		},
	}
	f.register(c, false)
	f.registerRun(c)
	c.Flags().BoolVar(&f.json, "json", false, "machine-readable output")
	return c
}

// releaseReport is what `golive report` says about a run.
type releaseReport struct {
	Run             map[string]any    `json:"run"`
	Description     string            `json:"description,omitempty"`
	Owner           string            `json:"owner,omitempty"`
	Contacts        []string          `json:"contacts,omitempty"`
	SuccessCriteria string            `json:"success_criteria,omitempty"`
	Approvals       []map[string]any  `json:"approvals"`
	Stages          []reportStage     `json:"stages"`
	Hosts           map[string]string `json:"hosts"` // host -> last state
	Failures        []string          `json:"failures"`
	BackedOut       []string          `json:"backed_out"`
	NotBackedOut    []string          `json:"not_backed_out"`
	NeedsAttention  []string          `json:"needs_attention"`
	Checks          []string          `json:"checks"`
	Monitors        map[string][2]int `json:"monitors"` // name -> passes, failures
	Notifications   []string          `json:"notifications"`
	WhyStopped      []string          `json:"why_stopped,omitempty"` // see report_stopped.go

	// BackoutVerification: host -> "backed out, verified healthy at 1.0".
	BackoutVerification map[string]string `json:"backout_verification"`
}

type reportStage struct {
	Name     string    `json:"name"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`
	Result   string    `json:"result"`
}

func buildReport(ctx context.Context, st store.Store, r store.Run, f *runFlags) (*releaseReport, error) {
	events, err := st.Events(ctx, r.ID, 0)
	if err != nil {
		return nil, err
	}
	approvals, err := st.ListApprovals(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	rep := &releaseReport{Run: runJSON(r), Hosts: map[string]string{}, Monitors: map[string][2]int{}, Approvals: []map[string]any{},
		Failures: []string{}, BackedOut: []string{}, NotBackedOut: []string{}, NeedsAttention: []string{}, Checks: []string{}, Notifications: []string{}}
	if file, err := f.planFile(nil); err == nil {
		if res, err := load.Load(load.Options{File: file, Env: r.Env, AllEnvs: r.Env == ""}); err == nil && res.Plan != nil && res.Plan.Name == r.Plan {
			p := res.Plan
			rep.Description, rep.Owner, rep.Contacts, rep.SuccessCriteria = p.Description, p.Owner, p.Contacts, p.SuccessCriteria
		}
	}
	for _, a := range approvals {
		rep.Approvals = append(rep.Approvals, map[string]any{"who": a.Approver, "decision": a.Decision, "gate": orDefault(a.Gate, "run"), "comment": a.Comment, "time": a.Time})
	}
	stages := map[string]*reportStage{}
	for _, ev := range events {
		rep.add(ev, stages)
	}
	rep.BackoutVerification = backoutVerdicts(events)
	rep.WhyStopped = whyStopped(r, events)
	return rep, nil
}

// add folds one journal event into the report.
func (rep *releaseReport) add(ev store.Event, stages map[string]*reportStage) {
	where := strings.Trim(ev.Stage+"/"+ev.Host+"/"+ev.Step, "/")
	switch ev.Kind {
	case store.KindStage:
		s := stages[ev.Stage]
		if s == nil {
			rep.Stages = append(rep.Stages, reportStage{Name: ev.Stage, Started: ev.Time, Result: "started"})
			s = &rep.Stages[len(rep.Stages)-1]
			stages[ev.Stage] = s
		}
		if ev.Action != store.ActionStarted {
			s.Finished, s.Result = ev.Time, string(ev.Action)
		}
	case store.KindHost:
		if !isBackoutVerdict(ev) {
			rep.Hosts[ev.Host] = string(ev.Action)
		}
	case store.KindStep:
		switch ev.Action {
		case store.ActionFailed, store.ActionTimedOut, store.ActionBackoutFailed:
			line := fmt.Sprintf("%s: %s", where, ev.Action)
			if ev.ExitCode != nil {
				line += fmt.Sprintf(" (exit %d)", *ev.ExitCode)
			}
			if last := lastLineOf(ev.Output); last != "" {
				line += ": " + last
			} else if ev.Message != "" {
				line += ": " + ev.Message
			}
			rep.Failures = append(rep.Failures, line)
		case store.ActionBackedOut:
			rep.BackedOut = append(rep.BackedOut, where)
		case "not_backed_out":
			rep.NotBackedOut = append(rep.NotBackedOut, where)
		}
	case store.KindCheck:
		if ev.Action == store.ActionPassed || ev.Action == store.ActionFailed {
			rep.Checks = append(rep.Checks, fmt.Sprintf("%s: %s: %s", orDefault(where, "verify"), ev.Action, ev.Message))
		}
	case store.KindMonitor:
		c := rep.Monitors[ev.Step]
		switch ev.Action {
		case store.ActionPassed:
			c[0]++
		case store.ActionFailed:
			c[1]++
		}
		rep.Monitors[ev.Step] = c
	case store.KindNotify:
		rep.Notifications = append(rep.Notifications, fmt.Sprintf("%s: %s", ev.Action, ev.Message))
	case store.KindRun:
		if ev.Action == "needs_attention" {
			rep.NeedsAttention = append(rep.NeedsAttention, ev.Message)
		}
	}
}

func lastLineOf(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func (rep *releaseReport) markdown(w io.Writer) {
	r := rep.Run
	fmt.Fprintf(w, "# Release report: %v %v%s\n\n", r["plan"], r["release"], envSuffix(fmt.Sprint(r["environment"])))
	if rep.Description != "" {
		fmt.Fprintf(w, "%s\n\n", rep.Description)
	}
	fmt.Fprintf(w, "| | |\n| --- | --- |\n")
	row := func(k string, v any) {
		if t, ok := v.(time.Time); ok {
			v = fmtTime(t)
		}
		if s := fmt.Sprint(v); s != "" && s != "<nil>" {
			fmt.Fprintf(w, "| %s | %s |\n", k, strings.ReplaceAll(s, "|", "\\|"))
		}
	}
	row("run", r["id"])
	row("outcome", fmt.Sprintf("**%v**: %v", r["state"], r["reason"]))
	row("release", fmt.Sprintf("%v (previous: %v)", r["release"], orNone(fmt.Sprint(r["previous"]))))
	row("requested by", r["requester"])
	row("ticket", r["ticket"])
	row("owner", rep.Owner)
	row("contacts", strings.Join(rep.Contacts, ", "))
	row("success criteria", rep.SuccessCriteria)
	row("created", r["created"])
	row("started", r["started"])
	row("finished", r["finished"])
	list(w, "Why it stopped", rep.WhyStopped)
	section(w, "Approvals", func() {
		for _, a := range rep.Approvals {
			fmt.Fprintf(w, "- %v %v %v at %v %v\n", a["who"], a["decision"], a["gate"], fmtTime(a["time"].(time.Time)), quoteComment(a["comment"]))
		}
	}, len(rep.Approvals) > 0)
	section(w, "Stages", func() {
		for _, s := range rep.Stages {
			took := ""
			if !s.Finished.IsZero() {
				took = fmt.Sprintf(" in %s", s.Finished.Sub(s.Started).Round(time.Millisecond))
			}
			fmt.Fprintf(w, "- %s: %s%s\n", s.Name, s.Result, took)
		}
	}, len(rep.Stages) > 0)
	section(w, "Hosts", func() {
		hosts := make([]string, 0, len(rep.Hosts))
		for h := range rep.Hosts {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for _, h := range hosts {
			if v, ok := rep.BackoutVerification[h]; ok {
				fmt.Fprintf(w, "- %s: %s\n", h, v)
				continue
			}
			fmt.Fprintf(w, "- %s: %s\n", h, rep.Hosts[h])
		}
	}, len(rep.Hosts) > 0)
	list(w, "Failures", rep.Failures)
	list(w, "Needs attention", rep.NeedsAttention)
	list(w, "Backed out", rep.BackedOut)
	list(w, "Not backed out (no backout script)", rep.NotBackedOut)
	list(w, "Checks", rep.Checks)
	section(w, "Monitors", func() {
		for name, c := range rep.Monitors {
			fmt.Fprintf(w, "- %s: %d evaluations passed, %d failed\n", name, c[0], c[1])
		}
	}, len(rep.Monitors) > 0)
	list(w, "Notifications", rep.Notifications)
}

func quoteComment(c any) string {
	if s := fmt.Sprint(c); s != "" {
		return fmt.Sprintf("(%q)", s)
	}
	return ""
}

func section(w io.Writer, title string, body func(), show bool) {
	if !show {
		return
	}
	fmt.Fprintf(w, "\n## %s\n\n", title)
	body()
}

func list(w io.Writer, title string, items []string) {
	section(w, title, func() {
		for _, it := range items {
			fmt.Fprintf(w, "- %s\n", it)
		}
	}, len(items) > 0)
}
