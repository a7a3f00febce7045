package ui

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/rollout"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/termsafe"
)

// FailureOutputLines is how many of a failure's last output lines the
// failures section shows.
const FailureOutputLines = 10

// lineCols are the widths of line mode's columns: label (stage, "run" or
// "verify"), batch ("batch 2/3"), host and step.
type lineCols struct{ label, batch, host, step int }

func newLineCols(r *rollout.Rollout) lineCols {
	c := lineCols{label: len("verify"), batch: len("batch 1/1")}
	for _, s := range r.Stages {
		c.label = max(c.label, runeLen(s.Name))
		c.batch = max(c.batch, len(fmt.Sprintf("batch %d/%d", len(s.Batches), len(s.Batches))))
		for _, b := range s.Batches {
			for _, h := range b.Hosts {
				c.host = max(c.host, runeLen(h.Name))
				for _, st := range h.Steps {
					c.step = max(c.step, runeLen(st.Name))
				}
				for _, ch := range h.Health {
					c.step = max(c.step, runeLen(ch.Name))
				}
			}
		}
	}
	for _, ch := range r.Verify {
		c.step = max(c.step, runeLen(ch.Name))
	}
	return c
}

// writeLine writes the line of event e: a timestamp, aligned columns
// (stage, batch, host, step; the ones an event does not have are blank or,
// at the end, left out) and what happened.
func (p *Progress) writeLine(now time.Time, e store.Event) {
	label := e.Stage
	switch {
	case e.Kind == store.KindState || e.Kind == store.KindRun:
		label = "run"
	case e.Kind == store.KindCheck && e.Stage == "":
		label = "verify"
	case label == "":
		label = "run"
	}
	batch := ""
	if e.Kind == store.KindBatch || e.Host != "" {
		batch = p.batchText(e)
	}
	cols := []string{pad(oneLine(label), p.cols.label), pad(batch, p.cols.batch), pad(oneLine(e.Host), p.cols.host), pad(oneLine(e.Step), p.cols.step)}
	switch {
	case e.Host != "" || e.Step != "":
	case batch != "":
		cols = cols[:2]
	default:
		cols = cols[:1]
	}
	line := now.Format("15:04:05") + " " + strings.Join(cols, "  ") + "  " + p.outcome(e)
	p.write(strings.TrimRight(line, " ") + "\n")
}

// batchText is "batch 2/3" for e's batch, from the event or the rollout.
func (p *Progress) batchText(e store.Event) string {
	sv := p.byName[e.Stage]
	if sv == nil {
		if e.Batch > 0 {
			return fmt.Sprintf("batch %d", e.Batch)
		}
		return ""
	}
	b := e.Batch
	if hv := sv.hostIdx[e.Host]; b == 0 && hv != nil {
		b = hv.batch
	}
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("batch %d/%d", b, len(sv.batches))
}

// outcome says what event e means, in a few words.
func (p *Progress) outcome(e store.Event) string {
	msg := ""
	if e.Message != "" {
		msg = ": " + oneLine(e.Message)
	}
	switch e.Kind {
	case store.KindState:
		return string(e.Action) + msg
	case store.KindStage:
		return "stage " + p.stageOutcome(e) + msg
	case store.KindBatch:
		return p.batchOutcome(e) + msg
	case store.KindHost:
		if isBackoutVerdict(e.Action) { // "host backed out, verified healthy at 1.0"
			return "host backed out, " + oneLine(e.Message)
		}
		return "host " + actionText(e.Action) + msg
	case store.KindStep:
		return stepOutcome(e) + msg
	case store.KindCheck:
		return "check " + actionText(e.Action) + durText(e.Duration) + msg
	case store.KindRun:
		return actionText(e.Action) + msg
	}
	return string(e.Kind) + " " + actionText(e.Action) + msg
}

func (p *Progress) stageOutcome(e store.Event) string {
	sv := p.byName[e.Stage]
	if e.Action == store.ActionFinished {
		return "done"
	}
	if e.Action != store.ActionStarted || sv == nil {
		return actionText(e.Action)
	}
	return fmt.Sprintf("started (%s, %s)", plural(len(sv.hosts), "host"), batches(len(sv.batches)))
}

func (p *Progress) batchOutcome(e store.Event) string {
	sv := p.byName[e.Stage]
	if e.Action == store.ActionFinished {
		return "done"
	}
	if e.Action != store.ActionStarted || sv == nil || e.Batch < 1 || e.Batch > len(sv.batches) {
		return actionText(e.Action)
	}
	b := sv.batches[e.Batch-1]
	kind := ""
	if b.Canary {
		kind = "canary, "
	}
	return fmt.Sprintf("started (%s%s)", kind, plural(len(b.Hosts), "host"))
}

func stepOutcome(e store.Event) string {
	d := durText(e.Duration)
	switch e.Action {
	case store.ActionFinished:
		return "ok" + d
	case store.ActionFailed:
		return "FAILED" + exitText(e.ExitCode, " ") + d
	case store.ActionTimedOut:
		return "TIMED OUT" + exitText(e.ExitCode, " ") + d
	case store.ActionRetried:
		return "failed" + exitText(e.ExitCode, " ") + ", retrying" + d
	case store.ActionBackoutFailed:
		return "BACKOUT FAILED" + exitText(e.ExitCode, " ") + d
	case store.ActionTerminated:
		return "terminated" + d
	}
	return actionText(e.Action) + d
}

// actionText is an action for a person: failures in capitals, so that they
// stand out without colour.
func actionText(a store.Action) string {
	switch a {
	case store.ActionFinished:
		return "ok"
	case store.ActionFailed:
		return "FAILED"
	case store.ActionTimedOut:
		return "TIMED OUT"
	case store.ActionBackoutFailed:
		return "BACKOUT FAILED"
	case actionNeedsAttention:
		return "NEEDS ATTENTION"
	}
	return strings.ReplaceAll(string(a), "_", " ")
}

// durText is " (0.4s)", or "" for no duration.
func durText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " (" + shortDuration(d) + ")"
}

// shortDuration is 0.4s, 12.0s, 1m05s or 1h02m03s.
func shortDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	}
	return fmt.Sprintf("%dm%02ds", m, s)
}

// writeFailures writes the failures section, if anything failed: for each
// failure where it happened, the exit code and the last lines of output.
func (p *Progress) writeFailures() {
	if len(p.fails) == 0 {
		return
	}
	st := p.o.Style
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", st.Bold(st.Red("Failures")))
	for _, f := range p.fails {
		where := strings.Trim(oneLine(f.stage)+" / "+oneLine(f.host), " /")
		if where == "" {
			where = "run"
		}
		head := fmt.Sprintf("  %s  %s%s%s", st.Bold(where), f.what, exitText(f.exit, "  "), durText(f.dur))
		if f.exit == nil && strings.HasPrefix(f.what, "step ") {
			head += "  no exit code"
		}
		if f.message != "" {
			head += ": " + oneLine(f.message)
		}
		b.WriteString(head + "\n")
		for _, l := range lastLines(f.output, FailureOutputLines) {
			fmt.Fprintf(&b, "    %s %s\n", st.Dim("|"), l)
		}
	}
	p.write(b.String())
}

var ansiRE = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-_])`)

// lastLines returns the last n non-empty-tailed lines of output, cleaned of
// escape sequences and control characters; a line rewritten with \r shows
// its last version.
func lastLines(output string, n int) []string {
	output = strings.TrimRight(ansiRE.ReplaceAllString(output, ""), "\n\r \t")
	if output == "" {
		return nil
	}
	lines := strings.Split(output, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		lines[i] = strings.TrimRight(dropControls(l, false), " ")
	}
	return lines
}

// oneLine cleans s for one line of output: no escape sequences, line breaks
// or other control characters.
func oneLine(s string) string {
	if s == "" {
		return s
	}
	return strings.TrimSpace(dropControls(ansiRE.ReplaceAllString(s, ""), true))
}

// dropControls removes control characters; with spaces it turns line breaks
// and tabs into spaces. Tabs are kept otherwise.
func dropControls(s string, spaces bool) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' && !spaces:
			return r
		case r == '\n' || r == '\r' || r == '\t':
			if spaces {
				return ' '
			}
			return -1
		case termsafe.Escaped(r):
			return -1
		}
		return r
	}, s)
}

func batches(n int) string {
	if n == 1 {
		return "1 batch"
	}
	return fmt.Sprintf("%d batches", n)
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// pad pads s with spaces to width runes.
func pad(s string, width int) string {
	if n := runeLen(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}
