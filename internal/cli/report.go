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
	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/timeline"
)

func newReport(e *env) *cobra.Command {
	var f runFlags
	var asHTML bool
	c := &cobra.Command{
		Use:   "report RUN",
		Short: "Write a run's release report (Markdown, --json or --html)",
		Long: `Report writes the record of a release for the people around it: what was
released where, by whom, under which ticket and approvals, how each stage and
host went, what failed and why, what was backed out and what needs attention,
how verification and the monitors went, and who was told. RUN is a run id or
"last". The plan file, when it is there, adds its owner, contacts and success
criteria. --html writes it as one HTML page (nothing loaded, nothing run) with
the run's timeline: a row per host, a bar per step, backouts, gates and the
moment it failed.`,
		Args: exactArgs(1, "RUN"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			if f.json && asHTML {
				return fmt.Errorf("%w: --json and --html: choose one", errUsage)
			}
			st, r, err := e.onRunRead(ctx, &f, args[0])
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
			if asHTML {
				return reportHTML(ctx, e.stdio.Out, st, r, rep)
			}
			rep.markdown(e.stdio.Out)
			return nil
		},
	}
	f.registerRead(c)
	c.Flags().BoolVar(&f.json, "json", false, "machine-readable output")
	c.Flags().BoolVar(&asHTML, "html", false, "an HTML page: the report and the run's timeline")
	return c
}

// reportHTML writes the report as an HTML page with the run's timeline.
func reportHTML(ctx context.Context, w io.Writer, st store.Store, r store.Run, rep *releaseReport) error {
	events, err := st.Events(ctx, r.ID, 0)
	if err != nil {
		return err
	}
	var md strings.Builder
	rep.markdown(&md)
	return timeline.WriteReportPage(w, r.ID, md.String(), events, timeline.Options{Now: time.Now()})
}

// releaseReport is what `golive report` says about a run.
type releaseReport struct {
	Run             map[string]any    `json:"run"`
	Kind            string            `json:"kind"`               // release, rehearsal, rollback, redeploy, override
	Override        string            `json:"override,omitempty"` // a break-glass run's loud line
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
	Overrides       string            `json:"overrides,omitempty"`   // --set NAME="VALUE" ..., secrets redacted
	WhyStopped      []string          `json:"why_stopped,omitempty"` // see report_stopped.go

	// BackoutVerification: host -> "backed out, verified healthy at 1.0".
	BackoutVerification map[string]string `json:"backout_verification"`

	outputs map[int]string // Failures index -> output tail, for the Markdown
}

type reportStage struct {
	Name     string    `json:"name"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`
	Took     string    `json:"took,omitempty"` // as the plan writes durations: "1.5s"
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
		rep.Approvals = append(rep.Approvals, approvalJSON(a, "who"))
	}
	stages := map[string]*reportStage{}
	for _, ev := range events {
		rep.add(ev, stages)
	}
	rep.Kind, _ = release.RunKind(events)
	rep.Override = overrideLine(events)
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
			s.Took = release.DurationJSON(s.Finished.Sub(s.Started))
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
			if ev.Output != "" {
				if rep.outputs == nil {
					rep.outputs = map[int]string{}
				}
				rep.outputs[len(rep.Failures)] = ev.Output
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
		switch ev.Action {
		case "needs_attention":
			rep.NeedsAttention = append(rep.NeedsAttention, ev.Message)
		case actionOverrides:
			rep.Overrides = overridesShown(ev.Message, nil)
		}
	}
}

func lastLineOf(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// markdown writes the report as Markdown. Every value from the run (names,
// ticket, reasons, comments, output) is escaped: it cannot start a
// heading, a list, a link, a table cell or HTML, and output sits in
// fenced blocks no line of it can close.
func (rep *releaseReport) markdown(w io.Writer) {
	r := rep.Run
	v := func(k string) string { return fmt.Sprint(r[k]) }
	fmt.Fprintf(w, "# Release report: %s %s%s\n\n", mdInline(v("plan")), mdInline(v("release")), mdInline(envSuffix(v("environment"))))
	if rep.Override != "" {
		fmt.Fprintf(w, "> **%s**\n\n", mdInline(rep.Override))
	}
	if rep.Description != "" {
		fmt.Fprintf(w, "%s\n\n", mdInline(rep.Description))
	}
	fmt.Fprintf(w, "| | |\n| --- | --- |\n")
	row := func(k string, v any) {
		if t, ok := v.(time.Time); ok {
			v = fmtTime(t)
		}
		if s := fmt.Sprint(v); s != "" && s != "<nil>" {
			fmt.Fprintf(w, "| %s | %s |\n", k, mdInline(s))
		}
	}
	row("run", r["id"])
	row("kind", rep.Kind)
	fmt.Fprintf(w, "| outcome | **%s**: %s |\n", mdInline(v("state")), mdInline(v("reason")))
	row("release", fmt.Sprintf("%v (previous: %v)", r["release"], orNone(v("previous"))))
	row("requested by", r["requested_by"])
	row("ticket", r["ticket"])
	row("overrides", rep.Overrides)
	row("owner", rep.Owner)
	row("contacts", strings.Join(rep.Contacts, ", "))
	row("success criteria", rep.SuccessCriteria)
	row("created", r["created"])
	row("started", r["started"])
	row("finished", r["finished"])
	list(w, "Why it stopped", rep.WhyStopped)
	section(w, "Approvals", func() {
		for _, a := range rep.Approvals {
			fmt.Fprintf(w, "- %s %s %s at %s %s\n", mdInline(fmt.Sprint(a["by"])), mdInline(fmt.Sprint(a["decision"])), mdInline(fmt.Sprint(a["gate"])),
				fmtTime(a["time"].(time.Time)), mdInline(quoteComment(a["comment"])))
		}
	}, len(rep.Approvals) > 0)
	section(w, "Stages", func() {
		for _, s := range rep.Stages {
			took := ""
			if !s.Finished.IsZero() {
				took = fmt.Sprintf(" in %s", s.Finished.Sub(s.Started).Round(time.Millisecond))
			}
			fmt.Fprintf(w, "- %s: %s%s\n", mdInline(s.Name), mdInline(s.Result), took)
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
				fmt.Fprintf(w, "- %s: %s\n", mdInline(h), mdInline(v))
				continue
			}
			fmt.Fprintf(w, "- %s: %s\n", mdInline(h), mdInline(rep.Hosts[h]))
		}
	}, len(rep.Hosts) > 0)
	section(w, "Failures", func() {
		for i, f := range rep.Failures {
			fmt.Fprintf(w, "- %s\n", mdInline(f))
			if out := rep.outputs[i]; out != "" {
				fmt.Fprintf(w, "\n%s\n", mdFenced(lastLines(out, 20)))
			}
		}
	}, len(rep.Failures) > 0)
	list(w, "Needs attention", rep.NeedsAttention)
	list(w, "Backed out", rep.BackedOut)
	list(w, "Not backed out (no backout script)", rep.NotBackedOut)
	list(w, "Checks", rep.Checks)
	section(w, "Monitors", func() {
		names := make([]string, 0, len(rep.Monitors))
		for name := range rep.Monitors {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			c := rep.Monitors[name]
			fmt.Fprintf(w, "- %s: %d evaluations passed, %d failed\n", mdInline(name), c[0], c[1])
		}
	}, len(rep.Monitors) > 0)
	list(w, "Notifications", rep.Notifications)
}

func quoteComment(c any) string {
	if s := fmt.Sprint(c); s != "" {
		return `("` + s + `")`
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
			fmt.Fprintf(w, "- %s\n", mdInline(it))
		}
	}, len(items) > 0)
}

// mdSpecial are the characters that can start Markdown inline syntax
// (emphasis, code spans, links and images, HTML and autolinks, table
// cells, strikethrough); they are backslash-escaped in values. An
// underscore inside a word (backed_out) starts nothing and is kept.
const mdSpecial = "\\`*_[]<>|~"

// mdInline makes s one line of literal Markdown text: line breaks become
// a visible \n (so a value cannot start a heading, list or table row of its
// own) and the special characters are escaped.
func mdInline(s string) string {
	var b strings.Builder
	rs := []rune(strings.ReplaceAll(s, "\r\n", "\n"))
	for i, r := range rs {
		switch {
		case r == '_' && i > 0 && i < len(rs)-1 && isAlnum(rs[i-1]) && isAlnum(rs[i+1]):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 128 && strings.ContainsRune(mdSpecial, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// mdFenced puts text in a fenced code block whose fence is longer than any
// run of backticks in it, so that no line of it can close the block.
func mdFenced(text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + "text\n" + strings.TrimRight(text, "\n") + "\n" + fence
}

// lastLines is the last n lines of out.
func lastLines(out string, n int) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// overrideLine is a break-glass run's loud line from its journal, or "".
func overrideLine(events []store.Event) string {
	for _, ev := range events {
		if ev.Kind == store.KindRun && ev.Action == release.ActionOverrideWindow {
			return ev.Message
		}
	}
	return ""
}
