package server

import (
	"strings"
	"testing"
)

// TestHTMLReportIsInert: whatever a run's report holds (step output,
// comments, reasons) stays text in the HTML page.
func TestHTMLReportIsInert(t *testing.T) {
	var b strings.Builder
	writeHTMLReport(&b, "r-1</title><script>x()</script>", "# r\n```\n</pre><script>alert(1)</script><img src=x onerror=y>\n```\n")
	got := b.String()
	for _, bad := range []string{"<script", "<img", "</pre><"} {
		if strings.Contains(got, bad) {
			t.Errorf("HTML report holds %q:\n%s", bad, got)
		}
	}
	if !strings.Contains(got, "&lt;script&gt;alert(1)&lt;/script&gt;") || strings.Count(got, "</pre>") != 1 {
		t.Errorf("the hostile text is not shown escaped:\n%s", got)
	}
}
