package server

import (
	"html/template"

	"github.com/golive-dev/golive/internal/store"
)

// timelineSVG is the run page's timeline picture: one <svg> element made
// from the run's journal. It is the slot for package internal/timeline
// (built beside this UI): at the merge it becomes
//
//	var b strings.Builder
//	if err := timeline.Render(&b, events, timeline.Options{}); err != nil {
//		return ""
//	}
//	return template.HTML(b.String()) // the package escapes every name itself
//
// Until then the page shows no timeline. The page's CSP allows no inline
// style, so the SVG must colour with presentation attributes (fill=,
// stroke=) or classes, not style="...".
func timelineSVG(events []store.Event) template.HTML { return "" }
