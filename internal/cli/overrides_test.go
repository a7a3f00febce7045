package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/redact"
)

func TestOverridesRoundTrip(t *testing.T) {
	secrets := map[string]string{"TOKEN": "tok-123456", "LONG": "tok-123456-and-more", "EMPTY": ""}
	set := []string{"motd=a\nb=c\n", "plain=x", "auth=Bearer tok-123456-and-more;tok-123456", "empty="}
	msg := encodeOverrides(set, secrets)
	if strings.Contains(msg, "tok-123456") {
		t.Fatalf("a secret is stored: %s", msg)
	}
	got, err := decodeOverrides(msg, secrets)
	if err != nil || !slices.Equal(got, set) {
		t.Fatalf("decode = %q, %v; want %q", got, err, set)
	}
	if _, err := decodeOverrides(msg, map[string]string{"TOKEN": "tok-123456"}); err == nil || !strings.Contains(err.Error(), "--set auth holds secret LONG") {
		t.Errorf("decode without a secret: %v", err)
	}
	shown := overridesShown(msg, nil)
	if want := `motd="a\nb=c\n" plain="x" auth="Bearer ***;***" empty=""`; shown != want {
		t.Errorf("shown = %s, want %s", shown, want)
	}
}

// TestOverridesOldFormat: journals of older golives hold one NAME=VALUE a
// line; they are still read, and shown redacted.
func TestOverridesOldFormat(t *testing.T) {
	got, err := decodeOverrides("a=1\nb=two words", nil)
	if err != nil || !slices.Equal(got, []string{"a=1", "b=two words"}) {
		t.Errorf("decode old = %q, %v", got, err)
	}
	if s := overridesShown("key=pw-secret-1", redact.New("pw-secret-1")); s != `key="***"` {
		t.Errorf("shown old = %s", s)
	}
}

// TestMarkdownEscapesValues: a ticket, reason, names or comment holding
// newlines and Markdown cannot make headings, links, HTML or table cells.
func TestMarkdownEscapesValues(t *testing.T) {
	hostile := "x\n# Forged\n<img src=x onerror=alert(1)> [a](http://e) | cell `code` *b* _i_\r\n## Also"
	rep := &releaseReport{
		Run: map[string]any{"id": "r-1", "plan": "p\n# T", "release": "1.0", "environment": "", "state": "failed",
			"reason": hostile, "requested_by": hostile, "ticket": hostile, "previous": "", "created": time.Now()},
		Approvals: []map[string]any{{"by": hostile, "decision": "approve", "gate": "run", "comment": hostile, "time": time.Now()}},
		Stages:    []reportStage{{Name: hostile, Result: "failed"}},
		Hosts:     map[string]string{hostile: "failed"},
		Failures:  []string{hostile}, NeedsAttention: []string{hostile}, Checks: []string{hostile},
		Monitors: map[string][2]int{hostile: {1, 2}}, Notifications: []string{hostile},
		outputs: map[int]string{0: "```\n# Forged in output\n`````\n"},
	}
	var b bytes.Buffer
	rep.markdown(&b)
	headings, problems := mdStructure(b.String())
	for _, h := range headings {
		if strings.Contains(h, "Forged") || strings.Contains(h, "Also") {
			problems = append(problems, "heading "+h)
		}
	}
	if len(problems) > 0 {
		t.Errorf("problems %q in\n%s", problems, b.String())
	}
	if !strings.Contains(b.String(), "``````text\n") {
		t.Errorf("fence not longer than the output's backtick run:\n%s", b.String())
	}
	for _, row := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(row, "| ") && strings.Count(strings.ReplaceAll(row, `\|`, ""), "|") != 3 {
			t.Errorf("a value added table cells: %s", row)
		}
	}
}
