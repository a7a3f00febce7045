package ui

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/check"
	"github.com/golive-dev/golive/internal/rollout"
)

// RenderRollout prints a rollout for a person: stages, batches, hosts and
// their steps with rendered commands and backouts.
func RenderRollout(w io.Writer, r *rollout.Rollout, st Style) error {
	b := bufio.NewWriter(w)
	p := &printer{w: b, st: st}
	env := ""
	if r.Env != "" {
		env = " into " + st.Bold(r.Env)
	}
	prev := r.Previous
	if prev == "" {
		prev = "none recorded"
	}
	p.line(0, "%s %s%s: release %s (previous: %s)", st.Bold("Plan"), st.Bold(r.Plan), env, st.Bold(r.Release), prev)
	p.line(0, "%s", st.Dim("Nothing is changed by this command; this is what `golive run` would do."))
	if len(r.Preflight)+len(r.Facts) > 0 {
		p.line(0, "")
		p.line(0, "%s (review: all must pass before anything changes)", st.Bold("Preflight"))
		for _, c := range r.Preflight {
			p.check(1, c)
		}
		for _, c := range r.Facts {
			p.check(1, c)
		}
	}
	if len(r.Current) > 0 {
		p.line(0, "%s (review: each host's targets.current must match the release recorded live there)", st.Bold("Drift"))
	}
	for i, s := range r.Stages {
		p.stage(i+1, len(r.Stages), s)
	}
	p.line(0, "")
	if len(r.Verify) > 0 {
		p.line(0, "%s (after the last stage)", st.Bold("Verify"))
		for _, c := range r.Verify {
			p.check(1, c)
		}
	}
	if len(r.Monitors) > 0 {
		p.line(0, "%s (from the first step to the end of verification)", st.Bold("Monitors"))
		for _, m := range r.Monitors {
			if c := m.Compare; c != nil {
				p.line(1, "%s %s: %s at %s, every %s: the current batch against the %s hosts, fail after %d ratio(s) above %g in a row (verdicts from %d sample(s)), pause after %d inconclusive",
					st.Green("compare"), m.Name, m.Query, m.URL, m.Interval, c.Baseline, m.FailureLimit, c.MaxRatio, c.MinSamples, m.InconclusiveLimit)
				continue
			}
			p.line(1, "%s %s: %s at %s, every %s, fail after %d false in a row: %s", st.Green("watch"), m.Name, m.Query, m.URL, m.Interval, m.FailureLimit, m.Condition)
		}
	}
	how := "automatic: on failure every touched host runs the backouts of its started steps, newest first"
	if !r.AutoBack {
		how = "manual: on failure the run stops in state failed and waits for `golive backout RUN`"
	}
	p.line(0, "%s %s", st.Bold("Backout"), how)
	return b.Flush()
}

type printer struct {
	w  io.Writer
	st Style
}

func (p *printer) line(indent int, format string, args ...any) {
	fmt.Fprintf(p.w, "%s%s\n", strings.Repeat("  ", indent), fmt.Sprintf(format, args...))
}

func (p *printer) stage(n, total int, s *rollout.Stage) {
	st := p.st
	p.line(0, "")
	var facts []string
	facts = append(facts, plural(s.Hosts, "host"), fmt.Sprintf("max_failed %d", s.MaxFailed))
	if s.Pause > 0 {
		facts = append(facts, "pause "+s.Pause.String())
	}
	if !s.HasHealth {
		facts = append(facts, st.Yellow("no health checks"))
	}
	p.line(0, "%s %d/%d %s  (%s)", st.Bold("Stage"), n, total, st.Cyan(s.Name), strings.Join(facts, ", "))
	if s.Gate > 0 {
		p.line(1, "%s wait for %s before this stage starts", st.Yellow("gate:"), plural(s.Gate, "approval"))
	}
	for _, b := range s.Batches {
		label := fmt.Sprintf("Batch %d", b.Index)
		if b.Canary {
			label += " (canary)"
		}
		var names []string
		for _, h := range b.Hosts {
			names = append(names, h.Name)
		}
		p.line(1, "%s: %s  %s", st.Bold(label), plural(len(b.Hosts), "host"), strings.Join(names, ", "))
		for _, h := range b.Hosts {
			p.host(h)
		}
		if s.Pause > 0 {
			p.line(2, "%s", st.Dim("then pause "+s.Pause.String()+" while health and monitors keep watching"))
		}
	}
}

func (p *printer) host(h *rollout.Host) {
	st := p.st
	where := h.Transport
	switch {
	case h.Transport == "local" && h.Dir != "":
		where = "local " + h.Dir
	case h.Address != "":
		where = fmt.Sprintf("%s %s", h.Transport, h.Address)
	}
	p.line(2, "%s %s", st.Bold(h.Name), st.Dim("("+where+")"))
	width := 0
	for _, s := range h.Steps {
		width = max(width, len(s.Name))
	}
	for i, s := range h.Steps {
		p.step(i+1, width, s)
	}
	for _, c := range h.Health {
		p.check(3, c)
	}
}

func (p *printer) step(n, width int, s *rollout.Step) {
	st := p.st
	pad := strings.Repeat(" ", width-len(s.Name))
	prefix := fmt.Sprintf("%d. %s%s  ", n, s.Name, pad)
	blank := strings.Repeat(" ", len(prefix))
	var opts []string
	if s.Timeout != rollout.DefaultStepTimeout {
		opts = append(opts, "timeout "+s.Timeout.String())
	}
	if s.Retries > 0 {
		opts = append(opts, fmt.Sprintf("retries %d", s.Retries))
	}
	if s.Local {
		opts = append(opts, "on the controller")
	}
	if s.Skip {
		opts = append(opts, st.Yellow("skipped: when is false"))
	}
	if s.From != "" {
		opts = append(opts, "from "+s.From)
	}
	action := ""
	switch {
	case s.Upload != nil:
		src := "artifact " + s.Upload.Artifact
		if s.Upload.Src != "" {
			src = s.Upload.Src
		}
		action = fmt.Sprintf("upload %s -> %s (mode %s)", src, s.Upload.To, s.Upload.Mode)
	default:
		action = "run    " + firstAndMore(s.Run)
	}
	p.line(3, "%s%s%s", prefix, action, optsSuffix(opts, st))
	for _, extra := range continuation(s.Run, s.Upload == nil) {
		p.line(3, "%s       %s", blank, extra)
	}
	if s.Backout != "" {
		p.line(3, "%s%s %s", blank, st.Dim("backout"), firstAndMore(s.Backout))
		for _, extra := range continuation(s.Backout, true) {
			p.line(3, "%s        %s", blank, extra)
		}
	} else if !s.Local {
		p.line(3, "%s%s", blank, st.Yellow("backout: none (reported as not backed out)"))
	}
}

func (p *printer) check(indent int, c *rollout.Check) {
	st := p.st
	var what string
	switch c.Kind {
	case "run":
		what = "run " + firstAndMore(c.Run)
	case "http":
		what = fmt.Sprintf("http GET %s expects %d", c.URL, c.Status)
		if c.Contains != "" {
			what += fmt.Sprintf(" containing %q", c.Contains)
		}
	case "tcp":
		what = "tcp connect " + c.Address
	case "confirm":
		what = fmt.Sprintf("sign-off: %s within %s, else back out", plural(c.Approvals, "approval"), c.Timeout)
	case rollout.KindFact:
		what = fmt.Sprintf("fact %s, want %s", rollout.FactLabel(c.Fact), check.FactWant(c.Fact))
	}
	where := ""
	if len(c.On) > 0 {
		where = " on " + strings.Join(c.On, ",")
	}
	if c.Local {
		where = " on the controller"
	}
	timing := ""
	switch c.Kind {
	case "confirm":
	case rollout.KindFact:
		timing = st.Dim(fmt.Sprintf(" (timeout %s, one script per host)", c.Timeout))
	default:
		timing = st.Dim(fmt.Sprintf(" (timeout %s, every %s)", c.Timeout, shortDur(c.Interval)))
	}
	p.line(indent, "%s %s%s: %s%s", st.Green("check"), c.Name, where, what, timing)
}

func optsSuffix(opts []string, st Style) string {
	if len(opts) == 0 {
		return ""
	}
	return "  " + st.Dim("["+strings.Join(opts, ", ")+"]")
}

// firstAndMore returns a script's first line.
func firstAndMore(script string) string {
	first, _, _ := strings.Cut(strings.TrimRight(script, "\n"), "\n")
	return first
}

// continuation returns a script's other lines.
func continuation(script string, show bool) []string {
	if !show {
		return nil
	}
	lines := strings.Split(strings.TrimRight(script, "\n"), "\n")
	if len(lines) <= 1 {
		return nil
	}
	return lines[1:]
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func shortDur(d time.Duration) string { return d.String() }
