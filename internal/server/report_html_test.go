package server

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/golive-dev/golive/internal/store"
)

// TestHTMLReportIsInert: whatever a run's report and journal hold (step
// output, comments, reasons, host and step names) stays text in the HTML
// page, the report's and the timeline's alike.
func TestHTMLReportIsInert(t *testing.T) {
	const evil = "</pre></svg><script>alert(1)</script><img src=x onerror=y>\"'\x1b]0;t\x07\xff"
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	events := []store.Event{
		{RunID: "r-1", Seq: 1, Time: t0, Kind: store.KindState, Action: "running"},
		{RunID: "r-1", Seq: 2, Time: t0, Kind: store.KindHost, Action: store.ActionStarted, Stage: evil, Batch: 1, Host: evil},
		{RunID: "r-1", Seq: 3, Time: t0, Kind: store.KindStep, Action: store.ActionStarted, Stage: evil, Batch: 1, Host: evil, Step: evil},
		{RunID: "r-1", Seq: 4, Time: t0.Add(time.Second), Kind: store.KindStep, Action: store.ActionFailed, Stage: evil, Batch: 1, Host: evil, Step: evil, Message: evil, ExitCode: store.ExitCode(3)},
		{RunID: "r-1", Seq: 5, Time: t0.Add(time.Second), Kind: store.KindState, Action: "failed", Message: evil},
	}
	var b strings.Builder
	writeHTMLReport(&b, "r-1</title><script>x()</script>", "# r\n```\n</pre><script>alert(1)</script><img src=x onerror=y>\n```\n", events)
	got := b.String()
	for _, bad := range []string{"<script", "<img", "</pre><", "</svg><", "\x1b", "\x07", "<style", " style="} {
		if strings.Contains(got, bad) {
			t.Errorf("HTML report holds %q:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Count(got, "</pre>") != 1 {
		t.Errorf("the hostile text is not shown escaped:\n%s", got)
	}
	if !strings.Contains(got, `<meta http-equiv="Content-Security-Policy" content="default-src 'none'">`) {
		t.Errorf("the page has no CSP of its own:\n%s", got)
	}
	// The timeline: one SVG, after the report, well-formed, with the
	// failed step and the failure's reason as text.
	i, j := strings.Index(got, "<svg "), strings.Index(got, "</svg>")
	if i < strings.Index(got, "</pre>") || j < i || strings.Count(got, "<svg ") != 1 {
		t.Fatalf("no timeline after the report:\n%s", got)
	}
	d := xml.NewDecoder(strings.NewReader(got[i : j+len("</svg>")]))
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the timeline is not well-formed XML: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text.Write(cd)
		}
	}
	for _, want := range []string{"step </pre></svg><script>alert(1)</script>", "exit 3", `\x1b]0;t\x07`} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the timeline's text lacks %q", want)
		}
	}
}
