package timeline

import (
	"fmt"
	"strings"
	"time"
)

// Geometry, in pixels.
const (
	labelW   = 190.0 // the host names' column, at most
	sumW     = 200.0 // the outcomes' column on the right, at most
	headH    = 20.0  // a batch's or stage's header row
	laneH    = 14.0  // the bars of steps
	backH    = 9.0   // the bars of backouts, under them
	rowPad   = 3.0
	lineH    = 16.0 // a line of the marker band
	fontSize = 11
	fontFace = "system-ui, -apple-system, Segoe UI, Roboto, DejaVu Sans, sans-serif"
)

// Colours of the frame.
const (
	inkColour   = "#1c2833"
	mutedColour = "#566573"
	gridColour  = "#d5d8dc"
	stripe      = "#f4f6f7"
	gateColour  = "#b9770e"
	failColour  = "#c0392b"
)

// picture is the SVG being written, in layers.
type picture struct {
	m          *model
	opt        Options
	w          float64
	x0, x1     float64 // the plot's left and right
	span       time.Duration
	rowH       float64
	tick       time.Duration
	aggr       bool
	head, grid strings.Builder // header, legend, axis; tick lines
	body, over strings.Builder // rows; gates and failure lines
	y          float64         // where the next thing goes
	rowsDrawn  int
}

func newPicture(m *model, opt Options) *picture {
	p := &picture{m: m, opt: opt, w: float64(opt.Width)}
	// The columns give way to the plot in narrow pictures.
	p.x0, p.x1 = min(labelW, p.w*0.22), p.w-min(sumW, p.w*0.2)
	p.span = m.t1.Sub(m.t0)
	if p.span <= 0 {
		p.span = time.Second
	}
	p.rowH = rowPad*2 + laneH
	if m.hasBack {
		p.rowH += backH + 1
	}
	p.aggr = m.hostRows() > opt.MaxRows
	p.tick = tickStep(p.span, p.x1-p.x0, 80)
	return p
}

// x is where moment t is drawn; moments outside the run's span (clocks
// of controllers that took over from one another may disagree) are
// drawn at its edges.
func (p *picture) x(t time.Time) float64 {
	x := p.x0 + float64(t.Sub(p.m.t0))/float64(p.span)*(p.x1-p.x0)
	return min(max(x, p.x0), p.x1)
}

func pf(b *strings.Builder, format string, args ...any) { fmt.Fprintf(b, format, args...) }

// svg is the whole picture.
func (p *picture) svg() string {
	p.heading()
	if len(p.m.rows) == 0 && p.m.verify == nil {
		pf(&p.head, `<text x="12" y="%.1f" fill="%s">nothing ran yet</text>`+"\n", p.y+16, mutedColour)
		p.y += 28
		return p.assemble(p.y)
	}
	band := p.y
	p.y += float64(p.bandLines()) * lineH
	p.axisLabels(p.y + 12)
	p.y += 20
	top := p.y
	p.rows()
	bottom := p.y
	if p.rowsDrawn > 20 {
		p.axisLabels(p.y + 14)
		p.y += 20
	}
	p.gridLines(top, bottom)
	p.moments(band, top, bottom)
	return p.assemble(p.y + 10)
}

func (p *picture) assemble(h float64) string {
	var b strings.Builder
	b.Grow(p.head.Len() + p.grid.Len() + p.body.Len() + p.over.Len() + 2048)
	pf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="gl-title" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="%s" font-size="%d" fill="%s">`+"\n",
		p.w, h, p.w, h, fontFace, fontSize, inkColour)
	pf(&b, "<title id=\"gl-title\">%s</title>\n", esc(p.summary()))
	b.WriteString(defs)
	pf(&b, `<rect width="%.0f" height="%.0f" fill="#ffffff"/>`+"\n", p.w, h)
	b.WriteString(p.grid.String())
	b.WriteString(p.body.String())
	b.WriteString(p.over.String())
	b.WriteString(p.head.String())
	b.WriteString("</svg>\n")
	return b.String()
}

// defs: the patterns laid over fills, so that outcomes differ in shape
// as well as colour (each outcome of a lane has its own).
const defs = `<defs>
<pattern id="gl-cross" width="6" height="6" patternUnits="userSpaceOnUse"><path d="M0,0L6,6M6,0L0,6" stroke="#ffffff" stroke-width="1.2" stroke-opacity="0.6"/></pattern>
<pattern id="gl-hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2" height="5" fill="#ffffff" fill-opacity="0.45"/></pattern>
<pattern id="gl-hlines" width="4" height="4" patternUnits="userSpaceOnUse"><rect width="4" height="1.3" fill="#ffffff" fill-opacity="0.55"/></pattern>
<pattern id="gl-vlines" width="4" height="4" patternUnits="userSpaceOnUse"><rect width="1.3" height="4" fill="#ffffff" fill-opacity="0.55"/></pattern>
<pattern id="gl-dots" width="5" height="5" patternUnits="userSpaceOnUse"><circle cx="2.5" cy="2.5" r="1.1" fill="#ffffff" fill-opacity="0.6"/></pattern>
</defs>
`

// summary is the picture's accessible name.
func (p *picture) summary() string {
	s := p.opt.Title
	if p.m.state != "" {
		s += ": " + string(p.m.state)
	}
	if p.m.reason != "" {
		s += " (" + p.m.reason + ")"
	}
	return s
}

// heading writes the title, what the run did when, and the legend.
func (p *picture) heading() {
	pf(&p.head, `<text x="12" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", line(clip(p.opt.Title, int(float64(fits(p.w-24))*11/15))))
	meta := p.meta()
	pf(&p.head, `<text x="12" y="41" fill="%s">%s<title>%s</title></text>`+"\n", mutedColour, line(clip(meta, fits(p.w-24))), esc(meta))
	p.y = p.legend(62)
}

func (p *picture) meta() string {
	if p.m.t0.IsZero() {
		return "no journal events"
	}
	parts := []string{"started " + p.m.t0.UTC().Format("2006-01-02 15:04:05 UTC")}
	if p.m.state.Terminal() {
		parts = append(parts, "took "+dur(p.m.t1.Sub(p.m.t0)))
	} else {
		parts = append(parts, "running for "+dur(p.m.t1.Sub(p.m.t0)))
	}
	hosts := map[string]bool{}
	for _, r := range p.m.rows {
		hosts[r.host] = true
	}
	parts = append(parts, hostsText(len(hosts)))
	if p.m.state != "" {
		st := string(p.m.state)
		if p.m.reason != "" {
			// "backed_out: backed out: stage web..." says it twice.
			st += ": " + strings.TrimPrefix(p.m.reason, strings.ReplaceAll(st, "_", " ")+": ")
		}
		parts = append(parts, st)
	}
	return strings.Join(parts, " · ")
}

// legend shows each outcome's colour, pattern and mark, the gate and
// failure lines, on as many lines as the width needs; it returns where
// the next line goes.
func (p *picture) legend(y float64) float64 {
	x := 12.0
	next := func(w float64) float64 {
		if x+w > p.w-12 {
			x, y = 12, y+18
		}
		at := x
		x += w + 14
		return at
	}
	for _, o := range legendOrder {
		l := looks[o]
		at := next(26 + float64(len([]rune(l.word))+2)*charW)
		p.swatch(&p.head, at, y-9, 22, 11, o)
		pf(&p.head, `<text x="%.1f" y="%.1f">%s %s</text>`+"\n", at+26, y, l.mark, l.word)
	}
	at := next(60)
	pf(&p.head, `<path d="M%.1f,%.1fv-11" stroke="%s" stroke-width="2" stroke-dasharray="3,2"/>`, at+4, y+1, gateColour)
	pf(&p.head, `<text x="%.1f" y="%.1f">◆ gate</text>`+"\n", at+10, y)
	at = next(90)
	pf(&p.head, `<path d="M%.1f,%.1fv-11" stroke="%s" stroke-width="2"/>`, at+4, y+1, failColour)
	pf(&p.head, `<text x="%.1f" y="%.1f">✘ run failed</text>`+"\n", at+10, y)
	return y + 16
}

// swatch draws a bar of outcome o.
func (p *picture) swatch(b *strings.Builder, x, y, w, h float64, o outcome) {
	l := looks[o]
	stroke := ""
	if o == skipped {
		stroke = ` stroke="#7f8c8d" stroke-dasharray="2,1.5"`
	}
	pf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="1.5" fill="%s"%s/>`, x, y, w, h, l.fill, stroke)
	if l.pattern != "" {
		pf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="url(#%s)"/>`, x, y, w, h, l.pattern)
	}
}

// bandLines is how many lines the gates and markers take above the axis.
func (p *picture) bandLines() int {
	n := len(p.m.markers)
	if len(p.m.gates) > 0 {
		n++
	}
	return n
}

// axisLabels writes the time of each tick, as an offset from the start.
func (p *picture) axisLabels(y float64) {
	for d := time.Duration(0); d <= p.span; d += p.tick {
		x := p.x(p.m.t0.Add(d))
		anchor := "middle"
		if d == 0 {
			anchor = "start"
		}
		pf(&p.head, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s">%s<title>%s</title></text>`+"\n", x, y, anchor, mutedColour,
			tickLabel(d), p.m.t0.Add(d).UTC().Format("15:04:05.000 UTC"))
	}
}

// grid draws the axis line and its ticks down the rows.
func (p *picture) gridLines(top, bottom float64) {
	for d := time.Duration(0); d <= p.span; d += p.tick {
		x := p.x(p.m.t0.Add(d))
		pf(&p.grid, `<path d="M%.1f,%.1fV%.1f" stroke="%s" stroke-width="1"/>`+"\n", x, top-4, bottom, gridColour)
	}
	pf(&p.grid, `<path d="M%.1f,%.1fH%.1f" stroke="%s" stroke-width="1"/>`+"\n", p.x0, top-4, p.x1, mutedColour)
}

// moments draws the gates (a dashed line when approvals were asked for,
// the wait shaded until they were given) and the markers (the run
// failed, an abort was asked for), each with its label in the band.
func (p *picture) moments(band, top, bottom float64) {
	y := band + 12
	for _, mk := range p.m.markers {
		x := p.x(mk.at)
		text := "✘ " + mk.label
		if mk.about != "" {
			text += ": " + mk.about
		}
		pf(&p.over, `<path data-marker="%s" d="M%.1f,%.1fV%.1f" stroke="%s" stroke-width="2"/>`+"\n", line(mk.label), x, y+2, bottom, failColour)
		p.bandLabel(x, y, text, failColour, mk.at.UTC().Format("15:04:05.000 UTC")+": "+text)
		y += lineH
	}
	for _, g := range p.m.gates {
		x := p.x(g.asked)
		end := g.passed
		if end.IsZero() {
			end = p.m.t1 // still waiting; or until the run failed (rejected)
			if f := p.m.failure; f != nil && f.at.After(g.asked) {
				end = f.at
			}
		}
		title := fmt.Sprintf("%s: approvals asked for at %s", gateTitle(g.name), g.asked.UTC().Format("15:04:05 UTC"))
		if !g.passed.IsZero() {
			title += fmt.Sprintf(", given at %s (waited %s)", g.passed.UTC().Format("15:04:05 UTC"), dur(g.passed.Sub(g.asked)))
		} else {
			title += ", not given"
		}
		if g.msg != "" {
			title += "\n" + g.msg
		}
		if w := p.x(end) - x; w > 0.5 {
			pf(&p.over, `<rect data-wait="" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.12"><title>%s</title></rect>`+"\n", x, top-4, w, bottom-top+4, gateColour, esc(title))
		}
		pf(&p.over, `<path data-gate="%s" d="M%.1f,%.1fV%.1f" stroke="%s" stroke-width="2" stroke-dasharray="5,3"/>`+"\n", line(g.name), x, y+2, bottom, gateColour)
		p.bandLabel(x, y, "◆ "+gateTitle(g.name), gateColour, title)
	}
}

func gateTitle(g string) string {
	switch {
	case g == "verify":
		return "sign-off"
	case strings.HasPrefix(g, "stage:"):
		return "gate " + g[len("stage:"):]
	case g == "":
		return "approval"
	}
	return g
}

// bandLabel writes a label of the band beside x: to its right, or to its
// left when x is in the right half.
func (p *picture) bandLabel(x, y float64, text, colour, title string) {
	anchor, tx, room := "start", x+4, p.w-x-8
	if x > (p.x0+p.x1)/2 {
		anchor, tx, room = "end", x-4, x-12
	}
	pf(&p.head, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s" font-weight="bold">%s<title>%s</title></text>`+"\n",
		tx, y, anchor, colour, line(clip(text, fits(room))), esc(title))
}
