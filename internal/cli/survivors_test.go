package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// Tests written against mutants that survived the suite (issue 16): each
// fails on the bug named in its comment.

// TestMarkdownUnderscoreInsideWords: an underscore between letters or
// digits (backed_out, a_z, A_Z, 0_9) starts nothing in Markdown and is
// kept; one at a word's edge is escaped.
func TestMarkdownUnderscoreInsideWords(t *testing.T) {
	for in, want := range map[string]string{
		"a_z A_Z 0_9 backed_out": "a_z A_Z 0_9 backed_out",
		"_x x_ x_-":              `\_x x\_ x\_-`,
		"word_":                  `word\_`,
		"a _x":                   `a \_x`,
	} {
		if got := mdInline(in); got != want {
			t.Errorf("mdInline(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMarkdownFenceLongerThanBackticks: output holding a run of backticks
// is fenced with a longer run, so no line of it can close the block.
func TestMarkdownFenceLongerThanBackticks(t *testing.T) {
	for text, fence := range map[string]string{
		"plain output line":        "```",
		"```\nrm -rf /":            "````",
		"a `` b\n`````\nlong line": "``````",
	} {
		got := mdFenced(text)
		if !strings.HasPrefix(got, fence+"text\n") || !strings.HasSuffix(got, "\n"+fence) || strings.HasPrefix(got, fence+"`") {
			t.Errorf("mdFenced(%q) = %q, want fences of %d backticks", text, got, len(fence))
		}
	}
}

// TestHistoryReasonCutAfter60: history shows a reason of up to 60 bytes
// whole and cuts a longer one to 57 and "...".
func TestHistoryReasonCutAfter60(t *testing.T) {
	sixty := strings.Repeat("r", 60)
	for reason, want := range map[string]string{
		sixty:       sixty,
		sixty + "x": strings.Repeat("r", 57) + "...",
	} {
		var b bytes.Buffer
		printHistory(&b, []release.RunInfo{{Run: store.Run{ID: "r-1", Plan: "p", Release: "1.0", State: store.StateFailed, Reason: reason}, Kind: "release"}})
		if !strings.HasSuffix(strings.TrimRight(b.String(), "\n "), " "+want) {
			t.Errorf("reason of %d bytes: history is\n%s\nwant it to end in %q", len(reason), b.String(), want)
		}
	}
}
