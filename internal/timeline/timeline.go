// Package timeline draws the timeline of a run from its journal: one SVG
// picture, one row per host (one per batch beyond Options.MaxRows), a bar
// per step from its journal times, coloured by outcome and marked besides
// (✔ ✘ ↻ ↺ and patterns: colour is never the only signal), backouts in a
// lane of their own, hatched, batch boundaries, gates and the moment the
// run failed with its reason, and a time axis.
//
// The SVG is self-contained and inert: no script, no <style> element and
// no style attributes (presentation attributes only), so it shows under a
// Content-Security-Policy of default-src 'none'. Every string from the
// journal (hosts, steps, reasons, output) is escaped.
package timeline

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// Options shape the picture.
type Options struct {
	// Width of the picture in pixels (default 1000, at least 480).
	Width int
	// MaxRows: up to this many hosts get a row each; beyond, each batch
	// gets one row (default 60).
	MaxRows int
	// Now ends the bars of a run still going (zero: its last event).
	Now time.Time
	// Title heads the picture (default "Timeline"); escaped.
	Title string
}

const (
	defaultWidth   = 1000
	defaultMaxRows = 60
	minWidth       = 480
)

// Render writes the timeline of a run whose journal is events (in Seq
// order, as store.Journal.Events returns them) to w as one <svg> element.
func Render(w io.Writer, events []store.Event, opt Options) error {
	if opt.Width <= 0 {
		opt.Width = defaultWidth
	}
	opt.Width = max(opt.Width, minWidth)
	if opt.MaxRows <= 0 {
		opt.MaxRows = defaultMaxRows
	}
	if opt.Title == "" {
		opt.Title = "Timeline"
	}
	m := build(events, opt.Now)
	p := newPicture(m, opt)
	_, err := io.WriteString(w, p.svg())
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	return nil
}

// look is how an outcome is drawn.
type look struct {
	fill    string
	pattern string // "" or the id of a pattern laid over the fill
	mark    string // the sign that says the same as the colour
	word    string
}

var looks = map[outcome]look{
	ok:            {fill: "#1e8449", mark: "✔", word: "ok"},
	failed:        {fill: "#c0392b", pattern: "gl-cross", mark: "✘", word: "failed"},
	retried:       {fill: "#d68910", pattern: "gl-dots", mark: "↻", word: "retried"},
	terminated:    {fill: "#717d7e", pattern: "gl-hlines", mark: "⊘", word: "terminated"},
	skipped:       {fill: "#ffffff", mark: "–", word: "skipped"},
	running:       {fill: "#2e6fd8", pattern: "gl-vlines", mark: "…", word: "running"},
	backedOut:     {fill: "#7d3c98", pattern: "gl-hatch", mark: "↺", word: "backed out"},
	backoutFailed: {fill: "#922b21", pattern: "gl-cross", mark: "✘", word: "backout failed"},
	notBackedOut:  {fill: "#f4d03f", mark: "!", word: "no backout"},
}

// outcomeNames name outcomes in the SVG's data-outcome attributes.
var outcomeNames = map[outcome]string{
	running: "running", ok: "ok", failed: "failed", retried: "retried", terminated: "terminated", skipped: "skipped",
	backedOut: "backed_out", backoutFailed: "backout_failed", notBackedOut: "not_backed_out",
}

// lane names the lane of a bar in data-bar: step, check or backout.
func (s span) lane() string {
	switch {
	case s.backout:
		return "backout"
	case s.check:
		return "check"
	}
	return "step"
}

// legendOrder is the legend's order.
var legendOrder = []outcome{ok, failed, retried, terminated, running, skipped, backedOut, backoutFailed, notBackedOut}

// what a bar's tooltip calls its outcome, by the journal's word.
func (s span) word() string {
	if s.out == running {
		return "running (no end journaled yet)"
	}
	if s.action != "" {
		return strings.ReplaceAll(string(s.action), "_", " ")
	}
	return looks[s.out].word
}

// tooltip is a bar's <title>: step, host ("": the bar's own), times,
// outcome, exit code.
func (s span) tooltip(host string, t0 time.Time) string {
	var b strings.Builder
	what := "step"
	if s.check {
		what = "check"
	}
	if s.backout && !s.check {
		what = "backout of step"
	}
	if host == "" { // the verify row: each check says where it ran
		host = cmp.Or(s.host, "the controller")
	}
	fmt.Fprintf(&b, "%s %s on %s: %s", what, s.name, host, s.word())
	if s.exit != nil {
		fmt.Fprintf(&b, ", exit %d", *s.exit)
	}
	fmt.Fprintf(&b, "\n%s → %s (+%s, took %s)", s.start.UTC().Format("15:04:05.000"), s.end.UTC().Format("15:04:05.000"), dur(s.start.Sub(t0)), dur(s.end.Sub(s.start)))
	if s.msg != "" {
		fmt.Fprintf(&b, "\n%s", s.msg)
	}
	return b.String()
}
