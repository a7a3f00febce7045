package timeline

import (
	"fmt"
	"strings"
	"time"
)

// rows draws the rows: per batch a header and a row per host, or, past
// MaxRows, per stage a header and a row per batch (or run of batches).
func (p *picture) rows() {
	if p.aggr {
		p.aggregated()
	} else {
		for _, b := range p.m.batches {
			p.batchHeader(b)
			for _, r := range b.rows {
				p.hostRow(r)
			}
		}
	}
	if v := p.m.verify; v != nil {
		p.header("verify", "the run's verify checks", time.Time{}, time.Time{})
		p.hostRow(v)
	}
}

func batchName(b *batch) string {
	if b.index == 0 {
		return b.stage
	}
	return fmt.Sprintf("%s · batch %d", b.stage, b.index)
}

func hostsText(n int) string {
	if n == 1 {
		return "1 host"
	}
	return fmt.Sprintf("%d hosts", n)
}

func (p *picture) batchHeader(b *batch) {
	text := fmt.Sprintf("%s · %s", batchName(b), hostsText(len(b.rows)))
	p.header(text, "stage "+b.stage+", batch "+fmt.Sprint(b.index), b.start, b.end)
}

// header draws a header row: a rule across, its text in the label
// column and, when known, a bracket from start to end.
func (p *picture) header(text, title string, start, end time.Time) {
	y := p.y
	pf(&p.body, `<path data-header="%s" d="M4,%.1fH%.1f" stroke="%s" stroke-width="1"/>`+"\n", line(text), y+0.5, p.w-4, mutedColour)
	pf(&p.body, `<text x="8" y="%.1f" font-weight="bold" fill="%s">%s<title>%s</title></text>`+"\n",
		y+14, mutedColour, line(clip(text, fits(p.x0-8))), esc(title))
	if !start.IsZero() {
		if end.IsZero() {
			end = p.m.t1
		}
		x1, x2 := p.x(start), max(p.x(end), p.x(start)+1)
		pf(&p.body, `<path d="M%.1f,%.1fv6H%.1fv-6" fill="none" stroke="%s" stroke-width="1.5"><title>%s</title></path>`+"\n",
			x1, y+8, x2, mutedColour, esc(fmt.Sprintf("%s: %s → %s (took %s)", title, start.UTC().Format("15:04:05.000"), end.UTC().Format("15:04:05.000"), dur(end.Sub(start)))))
	}
	p.y += headH
}

// stripeRow shades every other row, for the eye to follow it across.
func (p *picture) stripeRow() {
	if p.rowsDrawn%2 == 1 {
		pf(&p.body, `<rect x="4" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", p.y, p.w-8, p.rowH, stripe)
	}
	p.rowsDrawn++
}

// hostRow draws a host: its name, a bar per step and check, its
// backouts in the lane under them, and how it ended.
func (p *picture) hostRow(r *row) {
	p.stripeRow()
	y := p.y
	if r == p.m.verify {
		p.body.WriteString(`<g data-row="verify">` + "\n")
	} else {
		pf(&p.body, `<g data-row="host" data-host="%s">`+"\n", line(r.host))
	}
	where := r.host
	if r.stage != "" {
		where = fmt.Sprintf("%s in stage %s, batch %d", r.host, r.stage, r.batch)
	}
	pf(&p.body, `<text x="14" y="%.1f">%s<title>%s</title></text>`+"\n", y+rowPad+laneH-3, line(clip(r.host, fits(p.x0-16))), esc(where))
	host := r.host
	if r == p.m.verify {
		host = ""
	}
	for _, s := range r.spans {
		p.bar(host, s, y)
	}
	text, bad := r.summary()
	title := text
	if r.why != "" {
		title += "\n" + r.why
	}
	colour := inkColour
	if bad {
		colour = failColour
	}
	pf(&p.body, `<text x="%.1f" y="%.1f" fill="%s" data-summary="">%s<title>%s</title></text>`+"\n", p.x1+10, y+rowPad+laneH-3, colour, line(clip(text, fits(p.w-p.x1-14))), esc(title))
	p.body.WriteString("</g>\n")
	p.y += p.rowH
}

// bar draws one step, check or backout of a host in its lane.
func (p *picture) bar(host string, s span, y float64) {
	x1, x2 := p.x(s.start), p.x(s.end)
	top, h, size := y+rowPad, laneH, fontSize
	switch {
	case s.backout:
		top, h, size = y+rowPad+laneH+1, backH, 9
	case s.check:
		top, h = y+rowPad+3, laneH-6
	}
	w := max(x2-x1, 2)
	l := looks[s.out]
	pf(&p.body, `<g data-bar="%s" data-outcome="%s"><title>%s</title>`, s.lane(), outcomeNames[s.out], esc(s.tooltip(host, p.m.t0)))
	p.swatch(&p.body, x1, top, w, h, s.out)
	p.barText(s, l, x1, w, top, h, size)
	p.body.WriteString("</g>\n")
}

// barText writes a bar's mark (and its name when it fits) inside it, or
// its mark beside it when the bar is too narrow and the mark matters.
func (p *picture) barText(s span, l look, x, w, top, h float64, size int) {
	ink, halo := "#ffffff", l.fill
	if s.out == skipped || s.out == notBackedOut {
		ink = inkColour
	}
	base := top + h/2 + float64(size)*0.36
	text := l.mark
	if n := fits(w-14) - 1; n >= 3 && !s.check {
		text += " " + clip(s.name, n)
	}
	if w >= 13 && (h >= 8) {
		pf(&p.body, `<text x="%.1f" y="%.1f" font-size="%d" fill="%s" stroke="%s" stroke-width="2.5" paint-order="stroke">%s</text>`,
			x+3, base, size, ink, halo, line(text))
		return
	}
	switch s.out {
	case ok, running, skipped:
		return
	}
	ink = l.fill
	if s.out == notBackedOut {
		ink = inkColour
	}
	pf(&p.body, `<text x="%.1f" y="%.1f" font-size="%d" fill="%s" stroke="#ffffff" stroke-width="2.5" paint-order="stroke">%s</text>`,
		x+w+1, base, size, ink, l.mark)
}

// summary is how a host ended, in words and marks, and whether that is
// bad news.
func (r *row) summary() (string, bool) {
	var parts []string
	bad := false
	switch {
	case r.started && r.state == hostOK:
		parts = append(parts, "✔ done")
	case r.state == hostFailed:
		parts, bad = append(parts, "✘ failed"), true
	case r.state == hostTerminated:
		parts, bad = append(parts, "⊘ terminated"), true
	case r.started:
		parts = append(parts, "… running")
	}
	switch r.back {
	case backRunning:
		parts = append(parts, "↺ backing out…")
	case backDone:
		parts = append(parts, "↺ backed out")
	case backFailed:
		parts, bad = append(parts, "✘ backout failed"), true
	}
	if len(parts) == 0 && len(r.spans) > 0 { // the verify row, a host seen only in checks
		l := looks[r.spans[len(r.spans)-1].out]
		parts = append(parts, l.mark+" "+l.word)
		bad = r.spans[len(r.spans)-1].out == failed
	}
	return strings.Join(parts, "  "), bad
}
