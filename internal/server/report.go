package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/release"
	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/timeline"
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
		events, err := st.Events(r.Context(), run.ID, 0)
		if err != nil {
			return err
		}
		var b strings.Builder
		md(&b)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", timeline.CSP)
		writeHTMLReport(w, run.ID, b.String(), events)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
	return nil
}

// writeHTMLReport writes the Markdown report md as an HTML page: all of it
// escaped inside <pre>, so nothing from a run (output, comments, reasons)
// can become markup, then the run's timeline (an inert SVG) drawn from
// its journal; the page's CSP forbids scripts besides.
func writeHTMLReport(w io.Writer, id, md string, events []store.Event) {
	timeline.WriteReportPage(w, id, md, events, timeline.Options{Now: time.Now()})
}
