package timeline

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// aggregated draws one row per batch (per run of batches when there are
// more batches than MaxRows): a bar over the batch's steps from the
// first start to the last end, a tick at each failure, its backouts
// under it, and how many hosts ended how.
func (p *picture) aggregated() {
	per := (len(p.m.batches) + p.opt.MaxRows - 1) / p.opt.MaxRows // batches per row
	for _, stage := range p.m.stages {
		var bs []*batch
		hosts := 0
		for _, b := range p.m.batches {
			if b.stage == stage {
				bs = append(bs, b)
				hosts += len(b.rows)
			}
		}
		if len(bs) == 0 {
			continue
		}
		p.header(fmt.Sprintf("%s · %s", stage, hostsText(hosts)), fmt.Sprintf("stage %s: %d hosts in %d batch(es)", stage, hosts, len(bs)), time.Time{}, time.Time{})
		for chunk := range slices.Chunk(bs, per) {
			p.aggRow(chunk)
		}
	}
}

// tally counts how hosts ended.
type tally struct {
	ok, failed, terminated, running, backedOut, backoutFailed int
	failedHosts                                               []string
}

func (t tally) text() (string, bool) {
	var parts []string
	if t.ok > 0 {
		parts = append(parts, fmt.Sprintf("✔ %d", t.ok))
	}
	if t.failed > 0 {
		parts = append(parts, fmt.Sprintf("✘ %d", t.failed))
	}
	if t.terminated > 0 {
		parts = append(parts, fmt.Sprintf("⊘ %d", t.terminated))
	}
	if t.running > 0 {
		parts = append(parts, fmt.Sprintf("… %d", t.running))
	}
	if t.backedOut > 0 {
		parts = append(parts, fmt.Sprintf("↺ %d", t.backedOut))
	}
	if t.backoutFailed > 0 {
		parts = append(parts, fmt.Sprintf("↺✘ %d", t.backoutFailed))
	}
	return strings.Join(parts, "  "), t.failed+t.backoutFailed > 0
}

func (t tally) words() string {
	return fmt.Sprintf("%d done, %d failed, %d terminated, %d running, %d backed out, %d backout failed", t.ok, t.failed, t.terminated, t.running, t.backedOut, t.backoutFailed)
}

func count(rows []*row) tally {
	var t tally
	for _, r := range rows {
		switch {
		case r.state == hostFailed:
			t.failed++
			t.failedHosts = append(t.failedHosts, r.host+": "+r.why)
		case r.state == hostTerminated:
			t.terminated++
		case r.started && r.state == hostOK:
			t.ok++
		case r.started:
			t.running++
		}
		switch r.back {
		case backDone:
			t.backedOut++
		case backFailed:
			t.backoutFailed++
		}
	}
	return t
}

// extent is the bars of one lane of many hosts, as one.
type extent struct {
	start, end time.Time
	worst      outcome
	any        bool
	fails      []time.Time // when bars failed
	stops      []time.Time // when bars were terminated
	steps      []string    // step names in the order they first started
	perStep    map[string]*[2]int
}

func (e *extent) add(s span) {
	if !e.any || s.start.Before(e.start) {
		e.start = s.start
	}
	if !e.any || s.end.After(e.end) {
		e.end = s.end
	}
	if !e.any || worse[s.out] > worse[e.worst] {
		e.worst = s.out
	}
	e.any = true
	switch s.out {
	case failed, backoutFailed:
		e.fails = append(e.fails, s.end)
	case terminated:
		e.stops = append(e.stops, s.end)
	}
	if e.perStep == nil {
		e.perStep = map[string]*[2]int{}
	}
	c := e.perStep[s.name]
	if c == nil {
		c = &[2]int{}
		e.perStep[s.name] = c
		e.steps = append(e.steps, s.name)
	}
	if s.out == ok || s.out == backedOut || s.out == skipped {
		c[0]++
	} else if s.out != running && s.out != retried {
		c[1]++
	}
}

func (e *extent) perStepText() string {
	var b strings.Builder
	for _, s := range e.steps {
		c := e.perStep[s]
		fmt.Fprintf(&b, "\n%s: ✔ %d ✘ %d", s, c[0], c[1])
	}
	return b.String()
}

func (p *picture) aggRow(bs []*batch) {
	var rows []*row
	for _, b := range bs {
		rows = append(rows, b.rows...)
	}
	p.stripeRow()
	y := p.y
	name := fmt.Sprintf("batch %d", bs[0].index)
	if len(bs) > 1 {
		name = fmt.Sprintf("batches %d–%d", bs[0].index, bs[len(bs)-1].index)
	}
	label := fmt.Sprintf("%s · %s", name, hostsText(len(rows)))
	pf(&p.body, `<g data-row="batch" data-stage="%s" data-batches="%d-%d" data-hosts="%d">`+"\n", line(bs[0].stage), bs[0].index, bs[len(bs)-1].index, len(rows))
	pf(&p.body, `<text x="14" y="%.1f">%s<title>%s</title></text>`+"\n", y+rowPad+laneH-3, line(clip(label, fits(p.x0-16))), esc("stage "+bs[0].stage+", "+label))
	var fwd, back extent
	steps := map[string]*extent{}
	var order []string // steps and checks in the order they first started
	for _, r := range rows {
		for _, s := range r.spans {
			if s.backout {
				back.add(s)
				continue
			}
			fwd.add(s)
			k := s.name
			if s.check {
				k = "check " + s.name
			}
			if steps[k] == nil {
				steps[k] = &extent{}
				order = append(order, k)
			}
			steps[k].add(s)
		}
	}
	t := count(rows)
	about := fmt.Sprintf("stage %s, %s: %d hosts\n%s", bs[0].stage, name, len(rows), t.words())
	if len(t.failedHosts) > 0 {
		shown := t.failedHosts[:min(len(t.failedHosts), 10)]
		about += "\nfailed: " + strings.Join(shown, "; ")
		if n := len(t.failedHosts) - len(shown); n > 0 {
			about += fmt.Sprintf("; and %d more", n)
		}
	}
	switch {
	case len(order) > 1 && len(order) <= maxStepLanes:
		p.stepBars(fwd, steps, order, y+rowPad, about+"\n"+times(fwd, p.m.t0)+fwd.perStepText())
	case fwd.any:
		p.extentBar(fwd, y+rowPad, laneH, false, about+"\n"+times(fwd, p.m.t0)+fwd.perStepText())
	}
	if back.any {
		p.extentBar(back, y+rowPad+laneH+1, backH, true, about+"\nbackouts "+times(back, p.m.t0)+back.perStepText())
	}
	text, bad := t.text()
	colour := inkColour
	if bad {
		colour = failColour
	}
	pf(&p.body, `<text x="%.1f" y="%.1f" fill="%s" data-summary="">%s<title>%s</title></text>`+"\n", p.x1+10, y+rowPad+laneH-3, colour, line(clip(text, fits(p.w-p.x1-14))), esc(about))
	p.body.WriteString("</g>\n")
	p.y += p.rowH
}

func times(e extent, t0 time.Time) string {
	return fmt.Sprintf("%s → %s (+%s, took %s)", e.start.UTC().Format("15:04:05.000"), e.end.UTC().Format("15:04:05.000"), dur(e.start.Sub(t0)), dur(e.end.Sub(e.start)))
}

// extentBar draws the bar of many hosts' lane: coloured by its worst
// outcome but for failures, which are ticks across it (one per pixel at
// most), so that one failed host in fifty does not paint the batch red.
func (p *picture) extentBar(e extent, top, h float64, backout bool, title string) {
	o := e.worst
	switch {
	case !backout && o != running:
		o = ok // failures are the ticks
	case backout && o != backoutFailed && o != running:
		o = backedOut
	}
	x1, x2 := p.x(e.start), p.x(e.end)
	w := max(x2-x1, 2)
	lane := "steps"
	if backout {
		lane = "backout"
	}
	pf(&p.body, `<g data-bar="%s" data-outcome="%s" data-failures="%d"><title>%s</title>`, lane, outcomeNames[o], len(e.fails), esc(title))
	p.swatch(&p.body, x1, top, w, h, o)
	size := fontSize
	if backout {
		size = 9
	}
	mark := looks[o].mark
	if n := len(e.fails); n > 0 && !backout {
		mark = fmt.Sprintf("✘ %d", n)
	}
	if w >= 13+float64(len(mark)-1)*charW/2 {
		pf(&p.body, `<text x="%.1f" y="%.1f" font-size="%d" fill="#ffffff" stroke="%s" stroke-width="2.5" paint-order="stroke">%s</text>`,
			x1+3, top+h/2+float64(size)*0.36, size, looks[o].fill, mark)
	}
	p.ticks(e.stops, top, h, looks[terminated].fill)
	p.ticks(e.fails, top, h, failColour)
	p.body.WriteString("</g>\n")
}

// ticks marks moments across a bar, one per pixel at most.
func (p *picture) ticks(at []time.Time, top, h float64, colour string) {
	seen := map[int]bool{}
	for _, t := range at {
		x := p.x(t)
		if seen[int(x)] {
			continue
		}
		seen[int(x)] = true
		pf(&p.body, `<rect data-tick="" x="%.1f" y="%.1f" width="2.5" height="%.1f" fill="%s" stroke="#ffffff" stroke-width="0.6"/>`, x-1.25, top-2, h+4, colour)
	}
}

// maxStepLanes: up to this many steps (and checks) a batch's row shows
// each as a bar of its own, one under the other; more would be too thin.
const maxStepLanes = 4

// stepBars draws each step of a batch as a thin bar from its first start
// to its last end on any host, one under the other, coloured by its worst
// outcome (and patterned), with the failures ticked across them and their
// count beside.
func (p *picture) stepBars(all extent, steps map[string]*extent, order []string, top float64, title string) {
	pf(&p.body, `<g data-bar="steps" data-outcome="%s" data-failures="%d"><title>%s</title>`, outcomeNames[all.worst], len(all.fails), esc(title))
	h := laneH / float64(len(order))
	for i, name := range order {
		e := steps[name]
		x1 := p.x(e.start)
		w := max(p.x(e.end)-x1, 2)
		c := e.perStep[e.steps[0]]
		pf(&p.body, `<g data-step="%s" data-outcome="%s"><title>%s</title>`, line(name), outcomeNames[e.worst],
			esc(fmt.Sprintf("%s: ✔ %d ✘ %d\n%s", name, c[0], c[1], times(*e, p.m.t0))))
		p.swatch(&p.body, x1, top+float64(i)*h+0.5, w, h-1, e.worst)
		p.body.WriteString("</g>")
	}
	p.ticks(all.stops, top, laneH, looks[terminated].fill)
	p.ticks(all.fails, top, laneH, failColour)
	if n := len(all.fails); n > 0 {
		x, anchor := p.x(all.end)+4, "start"
		if x > p.x1-40 {
			x, anchor = p.x(all.start)-4, "end"
		}
		pf(&p.body, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s" font-weight="bold">✘ %d</text>`, x, top+laneH-3, anchor, failColour, n)
	}
	p.body.WriteString("</g>\n")
}
