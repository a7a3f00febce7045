package timeline

import (
	"html"
	"io"
	"strings"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/termsafe"
)

// CSP is the Content-Security-Policy of the report page: nothing may be
// loaded or run (the page is text and an inline SVG of presentation
// attributes).
const CSP = "default-src 'none'"

// WriteReportPage writes a run's release report as one HTML page (what
// `golive report --html` prints and the API serves for text/html): the
// Markdown report md, all of it escaped inside <pre>, then the run's
// timeline drawn from its journal events. The page carries its CSP in a
// <meta> element, for a file opened from disk; a server sends it as a
// header as well. Nothing from a run (output, comments, reasons, names)
// can become markup.
func WriteReportPage(w io.Writer, runID, md string, events []store.Event, opt Options) error {
	var b strings.Builder
	if opt.Title == "" {
		opt.Title = "Timeline of run " + runID
	}
	b.WriteString("<!doctype html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n")
	b.WriteString(`<meta http-equiv="Content-Security-Policy" content="` + CSP + `">` + "\n")
	b.WriteString(`<meta name="viewport" content="width=device-width, initial-scale=1">` + "\n")
	b.WriteString("<title>golive report " + html.EscapeString(termsafe.Line(runID)) + "</title>\n")
	b.WriteString("<pre>" + html.EscapeString(termsafe.String(md)) + "</pre>\n")
	if err := Render(&b, events, opt); err != nil {
		return err
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return nil
}
