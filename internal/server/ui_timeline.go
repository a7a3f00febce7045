package server

import (
	"html/template"
	"log/slog"
	"strings"
	"time"

	"github.com/golive-dev/golive/internal/store"
	"github.com/golive-dev/golive/internal/timeline"
)

// timelineSVG is the run page's timeline picture: one <svg> element made
// from the run's journal by package timeline, which escapes every name and
// colours with presentation attributes only (the page's CSP allows no
// inline style). Bars of a run still going end at the server's now.
func timelineSVG(events []store.Event) template.HTML {
	if len(events) == 0 {
		return ""
	}
	var b strings.Builder
	if err := timeline.Render(&b, events, timeline.Options{Now: time.Now(), Title: "Each host's steps, from the journal"}); err != nil {
		slog.Warn("timeline not drawn", "err", err)
		return ""
	}
	return template.HTML(b.String()) // escaped by package timeline
}
