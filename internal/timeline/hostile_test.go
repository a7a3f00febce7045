package timeline_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/timeline"
)

// hostile is text that must stay text: markup, quotes that would end an
// attribute, control characters (NUL, ESC sequences, BEL), a bidi
// override, a character XML forbids and bytes that are not UTF-8.
const hostile = "<script>alert(1)</script>\"' onload=\"x()\" &amp; ]]> \x00\x1b]0;pwned\x07\x1b[2J \u202egnp.exe \uffff \xff\xfe\xc3"

// checkInert fails unless svg holds none of hostile's markup or raw
// control characters and is valid UTF-8 (render has parsed it as XML).
func checkInert(t *testing.T, svg string) {
	t.Helper()
	if !utf8.ValidString(svg) {
		t.Errorf("the SVG is not valid UTF-8")
	}
	for _, bad := range []string{"<script", "</script", `onload="`, "]]>", "\x00", "\x1b", "\x07", "\u202e", "\uffff"} {
		if strings.Contains(svg, bad) {
			t.Errorf("the SVG holds %q", bad)
		}
	}
	for _, r := range svg {
		if r < 0x20 && r != '\n' && r != '\t' {
			t.Errorf("the SVG holds control character %U", r)
		}
	}
}

// A journal whose every string is hostile (what a store written by
// someone else could hold) still draws an inert, well-formed SVG in which
// the text is there, escaped.
func TestHostileJournal(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	h := hostile
	evs := []store.Event{
		{Time: at(0), Kind: store.KindState, Action: "running", Message: h},
		{Time: at(0), Kind: store.KindApproval, Action: "approval_requested", Step: "stage:" + h, Message: h},
		{Time: at(1), Kind: store.KindApproval, Action: "gate_passed", Step: "stage:" + h, Message: h},
		{Time: at(1), Kind: store.KindBatch, Action: store.ActionStarted, Stage: h, Batch: 1},
		{Time: at(1), Kind: store.KindHost, Action: store.ActionStarted, Stage: h, Batch: 1, Host: h},
		{Time: at(1), Kind: store.KindStep, Action: store.ActionStarted, Stage: h, Batch: 1, Host: h, Step: h},
		{Time: at(9), Kind: store.KindStep, Action: store.ActionFailed, Stage: h, Batch: 1, Host: h, Step: h, ExitCode: store.ExitCode(2), Message: h, Output: h},
		{Time: at(9), Kind: store.KindHost, Action: store.ActionFailed, Stage: h, Batch: 1, Host: h, Message: h},
		{Time: at(9), Kind: store.KindRun, Action: "abort_requested", Message: h, Actor: h},
		{Time: at(10), Kind: store.KindState, Action: "failed", Message: h},
		{Time: at(10), Kind: store.KindStep, Action: "backout_started", Stage: h, Host: h, Step: h},
		{Time: at(12), Kind: store.KindStep, Action: store.ActionBackoutFailed, Stage: h, Host: h, Step: h, Message: h},
		{Time: at(12), Kind: store.KindCheck, Action: store.ActionStarted, Step: h},
		{Time: at(13), Kind: store.KindCheck, Action: store.ActionFailed, Step: h, Message: h},
		{Time: at(13), Kind: store.KindState, Action: "backout_failed", Message: h},
	}
	for i := range evs {
		evs[i].RunID, evs[i].Seq = "r-1", int64(i+1)
	}
	for _, opt := range []timeline.Options{{Title: h}, {Title: h, MaxRows: 1}} {
		root, svg := render(t, evs, opt)
		checkInert(t, svg)
		text := root.text()
		// The hostile text is shown, as text, with its controls visible.
		for _, want := range []string{"<script>alert(1)</script>", `\x1b]0;pwned\x07`, `\u202e`, `\xff`} {
			if !strings.Contains(text, want) {
				t.Errorf("MaxRows %d: the text lacks %q", opt.MaxRows, want)
			}
		}
		if len(root.all(with("data-marker", "failed"))) != 1 || len(root.all(with("data-marker", "abort requested"))) != 1 {
			t.Errorf("MaxRows %d: the failure or the abort is not marked", opt.MaxRows)
		}
	}
}

// A real run whose failing step writes hostile output: its reason (the
// output's last line) reaches the picture only as text.
func TestHostileOutputOfRealRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, []string{"h1"}, `stages:
  - name: web
    on: web
    steps:
      - {name: s, run: 'printf "<script>alert(1)</script>\" onload=\"x\033]0;t\007 \377\376\n"; exit 4', backout: 'true'}
`)
	run := f.run()
	if run.State != store.StateBackedOut {
		t.Fatalf("state = %s (%s)", run.State, run.Reason)
	}
	root, svg := render(t, f.events(run), timeline.Options{})
	checkInert(t, svg)
	if !strings.Contains(root.text(), "<script>alert(1)</script>") {
		t.Errorf("the failure's output is not shown as text:\n%s", root.text())
	}
}
