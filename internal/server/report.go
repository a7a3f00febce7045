package server

import (
	"context"
	"html"
	"io"
	"net/http"
	"strings"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
)

// Reporter builds a run's release report (what `golive report` writes):
// the value printed by --json and a writer of the Markdown.
type Reporter func(ctx context.Context, planFile string, st store.Store, r store.Run) (any, func(io.Writer), error)

// report is the run's release report: JSON, or Markdown or HTML as the
// Accept header asks.
func (s *Server) report(w http.ResponseWriter, r *http.Request) error {
	run, p, err := s.findRun(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.cfg.Report == nil {
		return errf(http.StatusNotFound, codeNotFound, "this server makes no reports")
	}
	st, err := s.svc.OpenStore(r.Context(), p.File, release.StoreMode{Existing: true, ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	rep, md, err := s.cfg.Report(r.Context(), p.File, st, run)
	if err != nil {
		return err
	}
	accept := r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, "text/markdown"):
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		md(w)
	case strings.Contains(accept, "text/html"):
		var b strings.Builder
		md(&b)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		writeHTMLReport(w, run.ID, b.String())
	default:
		writeJSON(w, http.StatusOK, rep)
	}
	return nil
}

// writeHTMLReport writes the Markdown report md as an HTML page: all of it
// escaped inside <pre>, so nothing from a run (output, comments, reasons)
// can become markup; the page's CSP forbids scripts besides.
func writeHTMLReport(w io.Writer, id, md string) {
	io.WriteString(w, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>golive report "+html.EscapeString(id)+"</title>\n<pre>"+html.EscapeString(md)+"</pre>\n")
}
